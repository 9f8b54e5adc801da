package gavel.lineage.eu_deployment_test

import rego.v1

import data.gavel.lineage.eu_deployment

# The policy's own parameters; what counts as EU/EEA is the shared definition (data.gavel.lib.regions).
params := {"allowed_regions": ["^uk-"]}

model(deployment, tags) := {
	"kind": "model", "id": "income-estimator",
	"subject": {"id": "income-estimator", "deployment": deployment},
	"lineage": {"tags": tags, "tagged_sources": [
		{"tag": tag, "source": "raw.transactions", "path": ["raw.transactions", "model:income-estimator"]} |
			some tag in tags
	]},
}

test_us_deployment_of_eu_data_fails if {
	found := eu_deployment.deny with input as model({"region": "us-east-1"}, ["pii", "region:eu"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
	{f.msg | some f in found} == {"income-estimator is deployed in us-east-1, but EU data reaches it (region:eu from raw.transactions)"}
}

test_cloud_region_tags_are_eu_data if {
	found := eu_deployment.deny with input as model({"region": "us-east-1"}, ["region:europe-west4"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
	count(found) == 1
}

test_eu_deployment_passes if {
	count(eu_deployment.deny) == 0 with input as model({"region": "eu-west-1", "regions": ["europe-west4", "westeurope"]}, ["region:eu"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
}

test_allowed_regions_add_safeguarded_regions if {
	count(eu_deployment.deny) == 0 with input as model({"region": "uk-south"}, ["region:de"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
}

test_one_region_outside_fails if {
	found := eu_deployment.deny with input as model({"regions": ["eu-west-1", "ap-south-1"]}, ["region:eu-central-1"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
	count(found) == 1
}

test_london_and_zurich_are_not_eu_regions if {
	found := eu_deployment.deny with input as model({"regions": ["eu-west-2", "europe-west6"]}, ["region:eu"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
	count(found) == 2
	not eu_deployment.applicable with input as model({"region": "us-east-1"}, ["region:eu-west-2"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
}

test_unknown_deployment_fails if {
	found := eu_deployment.deny with input as model({}, ["region:eu"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
	some f in found
	contains(f.msg, "does not say where")
}

test_non_eu_data_is_not_applicable if {
	not eu_deployment.applicable with input as model({"region": "us-east-1"}, ["region:us", "pii"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
}

test_the_region_list_is_overridable_once if {
	eu_deployment.applicable with input as model({"region": "us-east-1"}, ["region:fra-dc1"])
		with data.gavel.params["lineage-eu-data-deployment"] as params
		with data.gavel.params["gavel-regions"] as {"eu_regions": ["fra-dc1"]}
}
