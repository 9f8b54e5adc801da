# METADATA
# title: Delta below 1/n
# description: >
#   For a dataset of n records (the dataset card's `records`), the delta budget and the delta of
#   every spend in the current period stay below 1/n: a delta of 1/n or more allows releasing
#   one individual's record outright.
# custom:
#   id: privacy-delta-below-1-over-n
#   severity: high
#   target: [budget]
#   frameworks: ["GDPR Art. 25(1)", "GDPR Art. 89(1)", "NIST AI RMF MEASURE 2.10"]
#   remediation: Lower delta_budget (and the delta of releases) below 1/records, e.g. to 1/(100 n).
package gavel.privacy.delta_records

import data.gavel.fmt
import rego.v1

applicable if input.subject.records > 0

deny contains {"msg": msg} if {
	n := input.subject.records
	n > 0
	input.subject.delta_budget >= 1 / n
	msg := sprintf("%s: delta_budget %s is not below 1/n = %s (%s records)", [
		input.id, fmt.number(input.subject.delta_budget), fmt.number(1 / n), fmt.number(n),
	])
}

deny contains {"msg": msg, "spend": spend.id, "line": spend.line} if {
	n := input.subject.records
	n > 0
	some spend in input.subject.spends
	spend.delta >= 1 / n
	msg := sprintf("%s: spend %s (ledger line %s) has delta %s, not below 1/n = %s (%s records)", [
		input.id, fmt.value(spend.id), fmt.value(spend.line), fmt.number(spend.delta), fmt.number(1 / n), fmt.number(n),
	])
}
