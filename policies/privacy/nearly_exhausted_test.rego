package gavel.privacy.nearly_exhausted_test

import rego.v1

import data.gavel.privacy.nearly_exhausted

budget(used, exceeded) := {
	"kind": "budget",
	"id": "ds",
	"subject": {
		"used": used, "warn_at": 0.8, "exceeded": exceeded, "epsilon_budget": 10,
		"remaining": {"epsilon": 1.5, "delta": 0}, "window": {"label": "2026-Q4"},
	},
}

test_below_the_threshold_passes if {
	count(nearly_exhausted.warn) == 0 with input as budget(0.79, false)
}

test_at_the_threshold_warns if {
	found := nearly_exhausted.warn with input as budget(0.8, false)
	count(found) == 1
	some f in found
	contains(f.msg, "80%")
}

test_exceeded_is_another_policy if {
	count(nearly_exhausted.warn) == 0 with input as budget(1.2, true)
}
