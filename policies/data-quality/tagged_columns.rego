# METADATA
# title: Columns the card singles out are covered by not-null or format expectations
# description: >
#   Where a dataset card asks for it (`quality.validated_column_tags`, e.g. [pii]), every column
#   carrying one of those tags has, in the latest Great Expectations validation, an expectation
#   of one of `expectation_types` (not-null and format checks) on that column (ISO/IEC 42001
#   A.7.4; EU AI Act Art. 10(2)-(3)). A column the suite does not look at is not validated.
# custom:
#   id: dq-tagged-columns-expected
#   severity: medium
#   target: [dataset]
#   frameworks: ["ISO/IEC 42001 A.7.4", "EU AI Act Art. 10(2)", "EU AI Act Art. 10(3)"]
#   remediation: Add an expect_column_values_to_not_be_null or a format expectation (regex, match_strftime_format, ...) on each such column to the suite.
#   params:
#     expectation_types:
#       - expect_column_values_to_not_be_null
#       - expect_column_values_to_match_regex
#       - expect_column_values_to_match_regex_list
#       - expect_column_values_to_match_like_pattern
#       - expect_column_values_to_match_strftime_format
#       - expect_column_values_to_match_json_schema
#       - expect_column_values_to_be_dateutil_parseable
package gavel.packs.data_quality.tagged_columns

import data.gavel.fmt
import rego.v1

params := data.gavel.params["dq-tagged-columns-expected"]

wanted := {t | some t in object.get(input.subject, ["quality", "validated_column_tags"], [])}

applicable if count(wanted) > 0

tagged contains column.name if {
	some column in object.get(input.subject, "columns", [])
	some tag in object.get(column, "tags", [])
	tag in wanted
}

tagged contains column.name if {
	some tag in object.get(input.subject, "tags", [])
	tag in wanted
	some column in object.get(input.subject, "columns", [])
}

validations := v if {
	v := object.get(input.subject, ["observations", "validations"], [])
	is_array(v)
} else := []

# The latest validation, read defensively: a value of the wrong type never raises in the engine.
latest := validations[0] if is_object(validations[0])

else := {}

expectations := e if {
	e := object.get(latest, "expectations", [])
	is_array(e)
} else := []

covered contains object.get(e, "column", null) if {
	some e in expectations
	is_object(e)
	object.get(e, "type", null) in params.expectation_types
}

deny contains {"msg": msg, "field": "observations.validations"} if {
	applicable
	count(tagged) > 0
	count(validations) == 0
	msg := sprintf("%s has %s column(s) %s but no Great Expectations validation", [
		input.id, concat("/", sort(wanted)), concat(", ", sort(tagged)),
	])
}

deny contains {"msg": msg, "field": "observations.validations[0].expectations", "columns": missing} if {
	applicable
	count(validations) > 0
	missing := sort(tagged - covered)
	count(missing) > 0
	msg := sprintf("%s: %s column(s) without a not-null or format expectation in suite %s: %s", [
		input.id, concat("/", sort(wanted)), fmt.value(object.get(latest, "suite", null)), concat(", ", missing),
	])
}
