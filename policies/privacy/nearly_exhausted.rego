# METADATA
# title: Privacy budget not nearly exhausted
# description: >
#   Warns when a dataset has used at least `warn_at` (default 80%) of its epsilon or delta
#   budget in the current period, before releases start being refused.
# custom:
#   id: privacy-budget-nearly-exhausted
#   severity: low
#   target: [budget]
#   frameworks: ["NIST AI RMF MANAGE 2.1"]
#   remediation: Plan the remaining releases of the period with the budget owner (`gavel budget status DATASET`).
package gavel.privacy.nearly_exhausted

import data.gavel.fmt
import rego.v1

warn contains {"msg": msg} if {
	not input.subject.exceeded
	input.subject.used >= input.subject.warn_at
	msg := sprintf("%s has used %s%% of its privacy budget in %s (epsilon %s of %s left)", [
		input.id,
		fmt.number(round(input.subject.used * 100)),
		fmt.value(input.subject.window.label),
		fmt.value(input.subject.remaining.epsilon),
		fmt.value(input.subject.epsilon_budget),
	])
}
