# METADATA
# title: Lineage has no cycles between tables
# description: >
#   Data that flows from a table back into itself through other tables (A feeds B, B is merged
#   back into A) makes lineage answers circular: which one is the source? It is usually a
#   back-fill that should write a separate table. One finding per cycle, with an example loop.
#   A statement that reads and writes one table (an UPDATE, an incremental MERGE) is not a cycle.
# custom:
#   id: lineage-no-cycles
#   severity: medium
#   target: [lineage]
#   frameworks: ["ISO/IEC 42001 A.7.5", "NIST AI RMF MAP 4.1"]
#   remediation: >
#     Break the loop: write the back-filled values to a separate table, or declare which side is
#     the source of record. `gavel lineage path A B` shows each step with its file and line.
package gavel.lineage.cycles

import rego.v1

deny contains {"msg": msg, "tables": cycle.tables} if {
	some cycle in input.subject.cycles
	msg := sprintf("lineage cycle between %d tables: %s", [count(cycle.tables), concat(" -> ", cycle.path)])
}
