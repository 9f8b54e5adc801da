package gavel.lineage.orphans_test

import rego.v1

import data.gavel.lineage.orphans

test_orphans_warn if {
	found := orphans.warn with input as {"kind": "lineage", "subject": {"orphans": [
		{"id": "staging.legacy", "declared": false, "file": null},
		{"id": "raw.old", "declared": true, "file": "datasets/raw.old.yaml"},
	]}}
	{f.msg | some f in found} == {
		"table staging.legacy has no lineage: nothing writes or reads it",
		"table raw.old (datasets/raw.old.yaml) has no lineage: nothing writes or reads it",
	}
}

test_no_orphans_pass if {
	count(orphans.warn) == 0 with input as {"kind": "lineage", "subject": {"orphans": []}}
}
