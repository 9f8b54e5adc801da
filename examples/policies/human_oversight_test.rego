package examples.human_oversight_test

import rego.v1

import data.examples.human_oversight

test_high_risk_without_oversight_denied if {
	count(human_oversight.deny) == 1 with input as {"id": "m1", "subject": {"risk_level": "high"}}
}

test_mechanism_required if {
	msgs := human_oversight.deny with input as {"id": "m2", "subject": {
		"risk_level": "high",
		"human_oversight": {"required": true},
	}}
	msgs == {"m2 requires human oversight but does not say how it works"}
}

test_described_oversight_passes if {
	count(human_oversight.deny) == 0 with input as {"id": "m3", "subject": {
		"risk_level": "high",
		"human_oversight": {"required": true, "mechanism": "human-on-the-loop"},
	}}
}

test_not_applicable_to_minimal_risk if {
	not human_oversight.applicable with input as {"subject": {"risk_level": "minimal"}}
}
