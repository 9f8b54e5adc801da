# METADATA
# title: Spends use an allowed mechanism
# description: >
#   Every spend in the current period uses one of the budget's allowed_mechanisms (e.g. laplace,
#   gaussian, dp-sgd), the ones whose privacy analysis the budget owner approved.
# custom:
#   id: privacy-mechanism-allowed
#   severity: high
#   target: [budget]
#   frameworks: ["GDPR Art. 25(1)", "NIST AI RMF MEASURE 2.10", "ISO/IEC 42001 A.7.2"]
#   remediation: >
#     Use an allowed mechanism, or have the budget owner review the mechanism and add it to
#     allowed_mechanisms.
package gavel.privacy.mechanism_allowed

import data.gavel.fmt
import rego.v1

applicable if input.subject.allowed_mechanisms

deny contains {"msg": msg, "spend": spend.id, "line": spend.line} if {
	allowed := input.subject.allowed_mechanisms
	some spend in input.subject.spends
	not spend.mechanism in allowed
	msg := sprintf("%s: spend %s (ledger line %s) used mechanism '%s', not one of %s", [
		input.id, fmt.value(spend.id), fmt.value(spend.line), fmt.value(spend.mechanism), concat(", ", allowed),
	])
}
