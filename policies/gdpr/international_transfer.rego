# METADATA
# title: Models trained on EU personal data are deployed in allowed regions
# description: >
#   Personal data leaves the EU/EEA only under Chapter V (Art. 44-46): an adequacy decision or
#   appropriate safeguards. A model trained on a dataset holding EU personal data (its region, or a
#   `region:<region>` tag, is an EU/EEA region, and it holds personal data tagged `personal_tag`)
#   is deployed only in EU/EEA regions, or in one matching `allowed_regions` (regexes; add adequate
#   countries or regions covered by SCCs there). What counts as an EU/EEA region is defined once for
#   every policy (`gavel-regions`, docs/packs.md).
# custom:
#   id: gdpr-international-transfer
#   severity: high
#   target: [model]
#   frameworks: ["GDPR Art. 44", "GDPR Art. 46"]
#   remediation: Deploy in an EU/EEA region, or document the transfer safeguard and add the region to allowed_regions.
#   params:
#     personal_tag: pii
#     allowed_regions: []
package gavel.packs.gdpr.international_transfer

import rego.v1

import data.gavel.lib.regions as eu_regions

params := data.gavel.params["gdpr-international-transfer"]

eu_personal contains ds if {
	some ds in object.get(input.subject, "training_datasets", [])
	card := data.gavel.inventory.datasets[ds]
	eu(card)
	personal(card)
}

eu(card) if eu_regions.eu(card.region)

eu(card) if {
	some tag in object.get(card, "tags", [])
	eu_regions.eu_tag(tag)
}

personal(card) if params.personal_tag in object.get(card, "tags", [])

personal(card) if {
	some column in object.get(card, "columns", [])
	params.personal_tag in object.get(column, "tags", [])
}

regions contains r if {
	r := input.subject.deployment.region
	is_string(r)
}

regions contains r if {
	some r in object.get(input.subject, ["deployment", "regions"], [])
}

applicable if count(eu_personal) > 0

deny contains {"msg": msg, "field": "deployment.region"} if {
	applicable
	count(regions) == 0
	msg := sprintf("%s trains on EU personal data (%s) but does not say where it is deployed", [input.id, concat(", ", sort(eu_personal))])
}

deny contains {"msg": msg, "field": "deployment.region", "region": r} if {
	applicable
	some r in regions
	not allowed(r)
	msg := sprintf("%s trains on EU personal data (%s) but is deployed in %s, outside the allowed regions", [input.id, concat(", ", sort(eu_personal)), r])
}

allowed(r) if eu_regions.eu(r)

allowed(r) if {
	some pattern in params.allowed_regions
	regex.match(pattern, lower(r))
}
