# METADATA
# title: A DP model's declared epsilon is in the privacy ledger
# description: >
#   A model card that declares differential-privacy training (`differential_privacy.epsilon`)
#   is backed by a ledger spend for that model (the spend's `model`, or the entry named by
#   `ledger_ref`) with the same epsilon, on the declared dataset when one is named.
# custom:
#   id: privacy-dp-model-in-ledger
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 10(5)", "EU AI Act Art. 11(1)", "GDPR Art. 5(2)", "NIST AI RMF MEASURE 2.10"]
#   remediation: >
#     Record the training run with `gavel budget spend DATASET --epsilon E --model MODEL ...`, or
#     correct the epsilon the model card declares to the one the ledger records.
package gavel.privacy.model_epsilon

import data.gavel.fmt
import rego.v1

applicable if input.subject.differential_privacy.epsilon

# Floats from different tools: equal to one part in a billion.
same(a, b) if abs(a - b) <= 1e-9 * max([1, abs(a), abs(b)])

matches(spend, dp) if {
	same(spend.epsilon, dp.epsilon)
	object.get(dp, "dataset", spend.dataset) == spend.dataset
}

deny contains {"msg": msg} if {
	dp := input.subject.differential_privacy
	spends := object.get(input.privacy, "spends", [])
	not _any_match(spends, dp)
	msg := sprintf("%s declares differential privacy with epsilon %s%s, but no spend in the privacy ledger records it%s", [
		input.id, fmt.value(dp.epsilon), _on_dataset(dp), _recorded(spends),
	])
}

_any_match(spends, dp) if {
	some spend in spends
	matches(spend, dp)
}

_on_dataset(dp) := sprintf(" on %s", [fmt.value(dp.dataset)]) if {
	dp.dataset
} else := ""

_recorded(spends) := sprintf(" (the ledger records %s for this model)", [concat(", ", recorded)]) if {
	recorded := [sprintf("epsilon %s on %s, line %s", [fmt.value(s.epsilon), fmt.value(s.dataset), fmt.value(s.line)]) | some s in spends]
	count(recorded) > 0
} else := ""
