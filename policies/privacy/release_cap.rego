# METADATA
# title: Each release within the per-release epsilon cap
# description: >
#   No spend in the current period uses more epsilon than the budget's max_epsilon_per_query
#   (the cap on one query, statistic or training run).
# custom:
#   id: privacy-release-over-cap
#   severity: high
#   target: [budget]
#   frameworks: ["GDPR Art. 25(1)", "NIST AI RMF MEASURE 2.10"]
#   remediation: >
#     Split the release into smaller ones or have the budget owner approve a higher cap;
#     `gavel budget spend` refuses releases over the cap.
package gavel.privacy.release_cap

import data.gavel.fmt
import rego.v1

applicable if input.subject.max_epsilon_per_query

deny contains {"msg": msg, "spend": spend.id, "line": spend.line} if {
	cap := input.subject.max_epsilon_per_query
	some spend in input.subject.spends
	spend.epsilon > cap
	msg := sprintf("%s: spend %s (ledger line %s) used epsilon %s, over the per-release cap of %s", [
		input.id, fmt.value(spend.id), fmt.value(spend.line), fmt.value(spend.epsilon), fmt.value(cap),
	])
}
