package gavel.privacy.delta_records_test

import rego.v1

import data.gavel.privacy.delta_records

budget(delta_budget, spends) := {
	"kind": "budget",
	"id": "ds",
	"subject": {"records": 1000, "delta_budget": delta_budget, "spends": spends},
}

test_delta_below_one_over_n_passes if {
	count(delta_records.deny) == 0 with input as budget(0.0001, [{"id": "a", "line": 1, "delta": 0.0009}])
}

test_budget_delta_at_one_over_n_fails if {
	found := delta_records.deny with input as budget(0.001, [])
	count(found) == 1
	some f in found
	contains(f.msg, "delta_budget")
}

test_spend_delta_at_one_over_n_fails if {
	found := delta_records.deny with input as budget(0.0001, [
		{"id": "a", "line": 1, "delta": 0},
		{"id": "b", "line": 2, "delta": 0.001},
	])
	count(found) == 1
	some f in found
	f.spend == "b"
}

test_unknown_records_not_applicable if {
	not delta_records.applicable with input as {"kind": "budget", "id": "ds", "subject": {"delta_budget": 0.5, "spends": []}}
	count(delta_records.deny) == 0 with input as {"kind": "budget", "id": "ds", "subject": {"delta_budget": 0.5, "spends": []}}
}
