# METADATA
# title: Data that production models train on has a recent successful validation
# description: >
#   Training, validation and testing data are subject to data governance and are relevant,
#   representative, free of errors and complete (EU AI Act Art. 10(2)-(3); ISO/IEC 42001 A.7.4).
#   A dataset that a production model trains on has a Great Expectations validation that
#   succeeded, no older than `max_age_days` calendar days before now. Only the latest validation
#   counts: a newer failure is not excused by an older success.
# custom:
#   id: dq-validation-recent
#   severity: high
#   target: [dataset]
#   frameworks: ["EU AI Act Art. 10(2)", "EU AI Act Art. 10(3)", "ISO/IEC 42001 A.7.4"]
#   remediation: >
#     Run the dataset's expectation suite (a GX checkpoint) on the current data, fix what fails,
#     and add the validation result to the files under `observations:`.
#   params:
#     max_age_days: 7
#     stages: [production]
package gavel.packs.data_quality.validation_recent

import data.gavel.fmt
import rego.v1

params := data.gavel.params["dq-validation-recent"]

users contains m if {
	some m, card in data.gavel.inventory.models
	object.get(card, "lifecycle_stage", "") in params.stages
	input.id in object.get(card, "training_datasets", [])
}

applicable if count(users) > 0

validations := v if {
	v := object.get(input.subject, ["observations", "validations"], [])
	is_array(v)
} else := []

# The latest validation, read defensively: a value of the wrong type never raises in the engine.
latest := validations[0] if is_object(validations[0])

else := {}

deny contains {"msg": msg, "field": "observations.validations"} if {
	applicable
	count(validations) == 0
	msg := sprintf("%s trains %s but has no Great Expectations validation", [input.id, concat(", ", sort(users))])
}

deny contains {"msg": msg, "field": "observations.validations[0].success", "source": object.get(latest, "source", null)} if {
	applicable
	count(validations) > 0
	object.get(latest, "success", false) != true
	msg := sprintf("%s trains %s but its latest validation (%s, suite %s) failed %d of %s expectations", [
		input.id, concat(", ", sort(users)), when(latest), fmt.value(object.get(latest, "suite", null)),
		count_of(object.get(latest, "failed", [])), fmt.value(object.get(latest, ["statistics", "evaluated"], "?")),
	])
}

deny contains {"msg": msg, "field": "observations.validations[0].observed_at", "source": object.get(latest, "source", null)} if {
	applicable
	count(validations) > 0
	not recent(latest)
	msg := sprintf("%s trains %s but its latest validation is from %s (at most %d days old required)", [
		input.id, concat(", ", sort(users)), when(latest), params.max_age_days,
	])
}

# Calendar days (UTC) from the validation's date to now's date: a validation at 23:59 seven days
# ago is seven days old, whatever the time of now.
recent(validation) if {
	ts := object.get(validation, "observed_at", null)
	is_string(ts)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T`, ts)
	today := time.parse_ns("2006-01-02", substring(input.now, 0, 10))
	(today - time.parse_ns("2006-01-02", substring(ts, 0, 10))) / 86400000000000 <= params.max_age_days
}

when(validation) := object.get(validation, "observed_at", null) if {
	is_string(object.get(validation, "observed_at", null))
} else := "an unknown time"

count_of(x) := count(x) if is_array(x)

else := 0
