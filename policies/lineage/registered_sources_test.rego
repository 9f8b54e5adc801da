package gavel.lineage.registered_sources_test

import rego.v1

import data.gavel.lineage.registered_sources

model(sources) := {"kind": "model", "id": "m", "subject": {"id": "m"}, "lineage": {"sources": sources}}

ok := {"id": "raw.customers", "declared": true, "registered": true, "legal_basis": "contract", "file": "d.yaml"}

test_registered_sources_with_a_legal_basis_pass if {
	count(registered_sources.deny) == 0 with input as model([ok])
}

test_undeclared_source_fails if {
	found := registered_sources.deny with input as model([ok, {"id": "vendor.feed", "declared": false, "registered": false, "legal_basis": null}])
	{f.msg | some f in found} == {"m is built on data from vendor.feed, which has no dataset card"}
}

test_unregistered_source_without_legal_basis_fails_twice if {
	leads := {"id": "raw.leads", "declared": true, "registered": false, "legal_basis": "none", "file": "l.yaml"}
	found := registered_sources.deny with input as model([leads])
	{f.msg | some f in found} == {
		"m is built on data from raw.leads, whose source is not registered",
		"m is built on data from raw.leads, which has no legal basis (none)",
	}
}

test_missing_legal_basis_fails if {
	found := registered_sources.deny with input as model([object.union(ok, {"legal_basis": null})])
	count(found) == 1
}

test_no_lineage_is_not_applicable if {
	not registered_sources.applicable with input as model([])
}
