# METADATA
# title: Every table takes part in the lineage
# description: >
#   A table that nothing writes, nothing reads and no model uses (declared by a dataset card, a
#   CREATE statement, an OpenLineage schema or the lineage config) is either dead or its lineage
#   is missing. Both deserve a look: dead data still costs and still holds personal data.
# custom:
#   id: lineage-orphan-tables
#   severity: low
#   target: [lineage]
#   frameworks: ["GDPR Art. 5(1)(c)", "GDPR Art. 5(1)(e)", "ISO/IEC 42001 A.7.5"]
#   remediation: >
#     Drop the table (and its card), or add the lineage that is missing (a SQL file, an
#     OpenLineage integration, a declared edge).
package gavel.lineage.orphans

import rego.v1

warn contains {"msg": msg, "table": o.id} if {
	some o in input.subject.orphans
	o.declared
	msg := sprintf("table %s (%s) has no lineage: nothing writes or reads it", [o.id, o.file])
}

warn contains {"msg": msg, "table": o.id} if {
	some o in input.subject.orphans
	not o.declared
	msg := sprintf("table %s has no lineage: nothing writes or reads it", [o.id])
}
