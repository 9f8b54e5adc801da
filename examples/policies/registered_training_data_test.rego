package examples.training_data_test

import rego.v1

import data.examples.training_data

inventory := {"datasets": {
	"features.ok": {"id": "features.ok", "provenance": {"registered": true}},
	"raw.leads": {"id": "raw.leads", "provenance": {"registered": false}},
}}

test_registered_dataset_passes if {
	count(training_data.deny) == 0 with input as {"id": "m", "subject": {"training_datasets": ["features.ok"]}}
		with data.gavel.inventory as inventory
}

test_unknown_and_unregistered_datasets_fail if {
	msgs := training_data.deny with input as {"id": "m", "subject": {"training_datasets": ["raw.leads", "nope"]}}
		with data.gavel.inventory as inventory
	msgs == {
		"m trains on 'raw.leads', whose source is not registered",
		"m trains on 'nope', which has no dataset card",
	}
}

test_compiled_yaml_policy_denies_pending_dpia if {
	some finding in data.gavel.yaml.high_risk_dpia_approved.deny with input as {
		"id": "m", "now": "2026-01-01T00:00:00Z",
		"subject": {"name": "M", "risk_level": "high", "dpia": {"status": "in_progress"}},
	}
	finding.msg == "M is high risk but its DPIA is in_progress"
}

todo_test_lineage_of_training_data if {
	false
}
