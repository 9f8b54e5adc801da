# METADATA
# title: Models that personal data reaches have an approved DPIA
# description: >
#   Lineage shows which models personal data flows into, whatever the model card says: a column
#   tagged `pii` (or another of `personal_tags`) upstream of a model's training data or features
#   reaches the model unless a masking step stops it (lineage.propagation.stop). Processing
#   personal data in a model is likely to need a data protection impact assessment (Art. 35);
#   such a model has one with status approved.
# custom:
#   id: lineage-pii-dpia
#   severity: high
#   target: [model]
#   frameworks: ["GDPR Art. 35(1)", "GDPR Art. 35(3)", "EU AI Act Art. 10(5)", "ISO/IEC 42001 A.5.3"]
#   remediation: >
#     Complete the DPIA and have it approved (dpia.status: approved), or stop the personal data
#     before the model: mask or hash the columns (`gavel lineage path SOURCE model:ID` shows the way in).
#   params:
#     personal_tags: [pii, special_category]
package gavel.lineage.pii_dpia

import rego.v1

params := data.gavel.params["lineage-pii-dpia"]

personal contains item if {
	some item in input.lineage.tagged_sources
	item.tag in params.personal_tags
}

applicable if count(personal) > 0

status := object.get(input.subject, ["dpia", "status"], "missing")

deny contains {"msg": msg, "field": "dpia.status", "sources": sources, "path": first.path} if {
	applicable
	status != "approved"
	sources := sort({s.source | some s in personal})
	first := [s | some s in personal; s.source == sources[0]][0]
	more := count(sources) - 1
	msg := sprintf("%s: personal data reaches it from %s%s (%s) but its DPIA is %s", [
		input.id, sources[0], others(more), concat(" -> ", first.path), status,
	])
}

others(0) := ""

others(n) := sprintf(" and %d other source(s)", [n]) if n > 0
