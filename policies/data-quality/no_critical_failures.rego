# METADATA
# title: No critical expectation fails in the latest validation
# description: >
#   Data quality requirements are defined and met (ISO/IEC 42001 A.7.4; EU AI Act Art. 10(3):
#   free of errors and complete). In a dataset's latest Great Expectations validation, no
#   expectation whose severity is one of `severities` failed (GX 1.x records a severity per
#   expectation, critical by default), and none raised an exception.
# custom:
#   id: dq-no-critical-failures
#   severity: high
#   target: [dataset]
#   frameworks: ["ISO/IEC 42001 A.7.4", "EU AI Act Art. 10(3)"]
#   remediation: >
#     Fix the data (or the pipeline producing it) so the critical expectations pass; lower an
#     expectation's severity in the suite only with the data owner's sign-off.
#   params:
#     severities: [critical]
package gavel.packs.data_quality.no_critical_failures

import data.gavel.fmt
import rego.v1

params := data.gavel.params["dq-no-critical-failures"]

validations := v if {
	v := object.get(input.subject, ["observations", "validations"], [])
	is_array(v)
} else := []

# The latest validation, read defensively: a value of the wrong type never raises in the engine.
latest := validations[0] if is_object(validations[0])

else := {}

applicable if count(validations) > 0

failed := f if {
	f := object.get(latest, "failed", [])
	is_array(f)
} else := []

critical contains item if {
	some item in failed
	is_object(item)
	object.get(item, "severity", null) in params.severities
}

critical contains item if {
	some item in failed
	is_object(item)
	object.get(item, "exception", false) == true
}

deny contains {"msg": msg, "field": "observations.validations[0].failed", "source": object.get(latest, "source", null)} if {
	applicable
	count(critical) > 0
	names := sort({sprintf("%s(%s)", [fmt.value(object.get(e, "type", "?")), fmt.value(object.get(e, "column", ""))]) | some e in critical})
	msg := sprintf("%s: %d critical expectation(s) failed in suite %s: %s", [
		input.id, count(names), fmt.value(object.get(latest, "suite", null)), concat(", ", names),
	])
}
