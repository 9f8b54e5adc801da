package gavel.lineage.pii_dpia_test

import rego.v1

import data.gavel.lineage.pii_dpia

params := {"lineage-pii-dpia": {"personal_tags": ["pii", "special_category"]}}

model(dpia, sources) := {
	"kind": "model",
	"id": "credit-limit-optimizer",
	"subject": {"id": "credit-limit-optimizer", "dpia": dpia},
	"lineage": {"tags": ["pii"], "tagged_sources": sources},
}

email := {"tag": "pii", "source": "raw.customers.email", "path": [
	"raw.customers.email", "features.credit_features.email_domain", "model:credit-limit-optimizer",
]}

test_pii_without_approved_dpia_fails if {
	found := pii_dpia.deny with input as model({"status": "in_progress"}, [email]) with data.gavel.params as params
	some f in found
	f.msg == "credit-limit-optimizer: personal data reaches it from raw.customers.email (raw.customers.email -> features.credit_features.email_domain -> model:credit-limit-optimizer) but its DPIA is in_progress"
	f.sources == ["raw.customers.email"]
}

test_missing_dpia_fails_and_counts_sources if {
	ssn := {"tag": "special_category", "source": "raw.customers.ssn", "path": ["raw.customers.ssn", "model:m"]}
	found := pii_dpia.deny with input as model(null, [email, ssn]) with data.gavel.params as params
	some f in found
	contains(f.msg, "from raw.customers.email and 1 other source(s)")
	endswith(f.msg, "its DPIA is missing")
}

test_approved_dpia_passes if {
	count(pii_dpia.deny) == 0 with input as model({"status": "approved"}, [email]) with data.gavel.params as params
}

test_other_tags_do_not_apply if {
	eu := {"tag": "region:eu", "source": "raw.transactions", "path": ["raw.transactions", "model:m"]}
	not pii_dpia.applicable with input as model({"status": "not_started"}, [eu]) with data.gavel.params as params
}
