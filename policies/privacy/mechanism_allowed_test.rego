package gavel.privacy.mechanism_allowed_test

import rego.v1

import data.gavel.privacy.mechanism_allowed

budget(spends) := {
	"kind": "budget",
	"id": "ds",
	"subject": {"allowed_mechanisms": ["laplace", "gaussian"], "spends": spends},
}

test_allowed_mechanisms_pass if {
	count(mechanism_allowed.deny) == 0 with input as budget([
		{"id": "a", "line": 1, "mechanism": "laplace"},
		{"id": "b", "line": 2, "mechanism": "gaussian"},
	])
}

test_other_mechanism_fails if {
	found := mechanism_allowed.deny with input as budget([
		{"id": "a", "line": 1, "mechanism": "laplace"},
		{"id": "b", "line": 7, "mechanism": "exponential"},
	])
	count(found) == 1
	some f in found
	f.line == 7
	contains(f.msg, "'exponential'")
}

test_mechanism_names_are_exact if {
	count(mechanism_allowed.deny) == 1 with input as budget([{"id": "a", "line": 1, "mechanism": "Laplace"}])
}

test_without_a_list_not_applicable if {
	not mechanism_allowed.applicable with input as {"kind": "budget", "id": "ds", "subject": {"spends": []}}
}
