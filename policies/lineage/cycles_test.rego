package gavel.lineage.cycles_test

import rego.v1

import data.gavel.lineage.cycles

test_a_cycle_fails if {
	found := cycles.deny with input as {"kind": "lineage", "id": "lineage", "subject": {"cycles": [
		{"tables": ["a.x", "b.y"], "path": ["a.x", "b.y", "a.x"]},
	]}}
	{f.msg | some f in found} == {"lineage cycle between 2 tables: a.x -> b.y -> a.x"}
}

test_no_cycle_passes if {
	count(cycles.deny) == 0 with input as {"kind": "lineage", "id": "lineage", "subject": {"cycles": [], "self_loops": ["a.x"]}}
}
