# METADATA
# title: Training data is quality-checked recently
# description: >
#   The organisation defines and ensures data quality requirements for data used in AI systems
#   (A.7.4; EU AI Act Art. 10(3): relevant, representative, free of errors, complete). A
#   dataset that some model in the inventory trains on records a quality check no older than
#   `max_age_days`, with the checks run, and no open quality issues.
# custom:
#   id: iso-data-quality
#   severity: medium
#   target: [dataset]
#   frameworks: ["ISO/IEC 42001 A.7.4", "EU AI Act Art. 10(3)", "NIST AI RMF MEASURE 2.9"]
#   remediation: Run the data quality checks (completeness, duplicates, label noise, representativeness) and record quality.last_checked, quality.checks and open issues.
#   params:
#     max_age_days: 180
package gavel.packs.iso_42001.data_quality

import data.gavel.fmt
import rego.v1

params := data.gavel.params["iso-data-quality"]

users contains m if {
	some m, card in data.gavel.inventory.models
	input.id in object.get(card, "training_datasets", [])
}

applicable if count(users) > 0

deny contains {"msg": msg, "field": "quality.last_checked"} if {
	applicable
	not recent
	msg := sprintf("%s trains %s but has no quality check in the last %s days (last: %s)", [input.id, concat(", ", sort(users)), fmt.value(params.max_age_days), fmt.value(object.get(input.subject, ["quality", "last_checked"], "never"))])
}

deny contains {"msg": msg, "field": "quality.checks"} if {
	applicable
	count(object.get(input.subject, ["quality", "checks"], [])) == 0
	msg := sprintf("%s trains %s but does not say which quality checks ran", [input.id, concat(", ", sort(users))])
}

deny contains {"msg": msg, "field": "quality.issues"} if {
	applicable
	issues := object.get(input.subject, ["quality", "issues"], [])
	count(issues) > 0
	msg := sprintf("%s trains %s with open quality issues: %s", [input.id, concat(", ", sort(users)), concat("; ", issues)])
}

recent if {
	date := input.subject.quality.last_checked
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, date)
	# Calendar days, as the YAML max_age_days operator counts them: now's UTC day minus the date.
	days := (utc_day_ns(time.parse_rfc3339_ns(input.now)) - time.parse_ns("2006-01-02", date)) / 86400000000000
	days <= params.max_age_days
}

utc_day_ns(ns) := time.parse_ns("2006-01-02", sprintf("%04d-%02d-%02d", time.date(ns)))
