package gavel.privacy.model_epsilon_test

import rego.v1

import data.gavel.privacy.model_epsilon

model(dp, spends) := {
	"kind": "model",
	"id": "m",
	"subject": {"id": "m", "differential_privacy": dp},
	"privacy": {"budgets": [], "spends": spends},
}

test_recorded_epsilon_passes if {
	count(model_epsilon.deny) == 0 with input as model(
		{"epsilon": 3, "dataset": "ds"},
		[{"id": "a", "line": 4, "dataset": "ds", "epsilon": 3.0}],
	)
}

test_float_noise_tolerated if {
	count(model_epsilon.deny) == 0 with input as model({"epsilon": 0.3}, [{"id": "a", "line": 1, "dataset": "x", "epsilon": 0.30000000000000004}])
}

test_other_epsilon_fails_and_says_what_the_ledger_has if {
	found := model_epsilon.deny with input as model(
		{"epsilon": 4, "dataset": "ds"},
		[{"id": "a", "line": 2, "dataset": "ds", "epsilon": 5}],
	)
	count(found) == 1
	some f in found
	contains(f.msg, "epsilon 5 on ds, line 2")
}

test_spend_on_another_dataset_fails if {
	count(model_epsilon.deny) == 1 with input as model(
		{"epsilon": 3, "dataset": "ds"},
		[{"id": "a", "line": 2, "dataset": "other", "epsilon": 3}],
	)
}

test_no_ledger_at_all_fails if {
	count(model_epsilon.deny) == 1 with input as {"kind": "model", "id": "m", "subject": {"differential_privacy": {"epsilon": 1}}, "privacy": {"budgets": []}}
}

test_models_without_dp_not_applicable if {
	not model_epsilon.applicable with input as {"kind": "model", "id": "m", "subject": {}, "privacy": {"budgets": []}}
}
