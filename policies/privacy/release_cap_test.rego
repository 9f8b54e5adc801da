package gavel.privacy.release_cap_test

import rego.v1

import data.gavel.privacy.release_cap

budget(spends) := {
	"kind": "budget",
	"id": "ds",
	"subject": {"dataset": "ds", "epsilon_budget": 4, "max_epsilon_per_query": 1, "spends": spends},
}

test_release_at_the_cap_passes if {
	count(release_cap.deny) == 0 with input as budget([{"id": "a", "line": 1, "epsilon": 1}])
}

test_release_over_the_cap_fails if {
	found := release_cap.deny with input as budget([
		{"id": "a", "line": 1, "epsilon": 0.5},
		{"id": "b", "line": 2, "epsilon": 1.25},
	])
	count(found) == 1
	some f in found
	f.spend == "b"
	contains(f.msg, "1.25")
}

test_no_cap_not_applicable if {
	not release_cap.applicable with input as {"kind": "budget", "id": "ds", "subject": {"spends": []}}
	count(release_cap.deny) == 0 with input as {"kind": "budget", "id": "ds", "subject": {"spends": [{"id": "a", "line": 1, "epsilon": 9}]}}
}
