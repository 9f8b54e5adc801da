package gavel.lineage.eu_deployment_test

import rego.v1

import data.gavel.lineage.eu_deployment

params := {"lineage-eu-data-deployment": {
	"eu_pattern": "^region:(eu|eea)([-_].*)?$",
	"allowed_regions": ["^eu-", "^europe-", "^(eu|eea)$", "^(west|north)europe$"],
}}

model(deployment, tags) := {
	"kind": "model", "id": "income-estimator",
	"subject": {"id": "income-estimator", "deployment": deployment},
	"lineage": {"tags": tags, "tagged_sources": [
		{"tag": "region:eu", "source": "raw.transactions", "path": ["raw.transactions", "model:income-estimator"]},
	]},
}

test_us_deployment_of_eu_data_fails if {
	found := eu_deployment.deny with input as model({"region": "us-east-1"}, ["pii", "region:eu"])
		with data.gavel.params as params
	{f.msg | some f in found} == {"income-estimator is deployed in us-east-1, but EU data reaches it (region:eu from raw.transactions)"}
}

test_eu_deployment_passes if {
	count(eu_deployment.deny) == 0 with input as model({"region": "eu-west-1", "regions": ["europe-west4"]}, ["region:eu"])
		with data.gavel.params as params
}

test_one_region_outside_fails if {
	found := eu_deployment.deny with input as model({"regions": ["eu-west-1", "ap-south-1"]}, ["region:eu-west"])
		with data.gavel.params as params
	count(found) == 1
}

test_unknown_deployment_fails if {
	found := eu_deployment.deny with input as model({}, ["region:eu"]) with data.gavel.params as params
	some f in found
	contains(f.msg, "does not say where")
}

test_non_eu_data_is_not_applicable if {
	not eu_deployment.applicable with input as model({"region": "us-east-1"}, ["region:us", "pii"])
		with data.gavel.params as params
}
