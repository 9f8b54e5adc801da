# METADATA
# title: EU data does not reach a model deployed outside the EU
# description: >
#   A tag `region:<region>` marks where data lives (a dataset card's `region` becomes one, and it
#   flows downstream through the lineage like any tag). A model that data tagged with an EU/EEA
#   region reaches, through any number of tables, is deployed only in EU/EEA regions, or in one
#   matching `allowed_regions` (regexes) where a Chapter V safeguard is in place. What counts as an
#   EU/EEA region is defined once for every policy (`gavel-regions`, docs/packs.md).
# custom:
#   id: lineage-eu-data-deployment
#   severity: high
#   target: [model]
#   frameworks: ["GDPR Art. 44", "GDPR Art. 46", "EU AI Act Art. 10(5)"]
#   remediation: >
#     Deploy the model in an EU/EEA region, or document the transfer safeguard (adequacy decision,
#     SCCs) and add the region to allowed_regions in gavel.yaml (policies.params).
#   params:
#     allowed_regions: []
package gavel.lineage.eu_deployment

import rego.v1

import data.gavel.lib.regions as eu_regions

params := data.gavel.params["lineage-eu-data-deployment"]

eu_tags contains tag if {
	some tag in input.lineage.tags
	eu_regions.eu_tag(tag)
}

applicable if count(eu_tags) > 0

regions contains r if {
	r := input.subject.deployment.region
	is_string(r)
}

regions contains r if {
	some r in object.get(input.subject, ["deployment", "regions"], [])
}

eu_sources := sort({s.source | some s in input.lineage.tagged_sources; s.tag in eu_tags})

deny contains {"msg": msg, "field": "deployment.region", "region": r, "sources": eu_sources} if {
	applicable
	some r in regions
	not allowed(r)
	msg := sprintf("%s is deployed in %s, but EU data reaches it (%s from %s)", [
		input.id, r, concat(", ", sort(eu_tags)), concat(", ", eu_sources),
	])
}

deny contains {"msg": msg, "field": "deployment.region"} if {
	applicable
	count(regions) == 0
	msg := sprintf("%s receives EU data (%s) but its card does not say where it is deployed", [
		input.id, concat(", ", sort(eu_tags)),
	])
}

allowed(r) if eu_regions.eu(r)

allowed(r) if {
	some pattern in params.allowed_regions
	regex.match(pattern, lower(r))
}
