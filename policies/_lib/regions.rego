# METADATA
# title: EU/EEA regions
# description: >
#   The one definition of "an EU/EEA region" that every built-in policy uses (lineage-eu-data-deployment,
#   gdpr-international-transfer): the exact names in `eu_regions`, compared case-insensitively. They are
#   `eu` and `eea`, the ISO 3166-1 codes of the 30 EEA countries (and `el`, the EU's code for Greece), and
#   the EU/EEA regions of AWS, Google Cloud, Azure and Oracle Cloud. Regions in Europe but outside the
#   EEA are not on the list: AWS eu-west-2 (London) and eu-central-2 (Zurich), Google europe-west2 and
#   europe-west6, Azure uksouth/ukwest/switzerland*, OCI uk-* and eu-zurich-1. A name not on the list is
#   not EU/EEA: add your own (an on-premises site, a new cloud region) in gavel.yaml with
#   `policies.params: {gavel-regions: {extra_eu_regions: [...]}}`, or replace the whole list with
#   `eu_regions: [...]`; every policy follows.
# custom:
#   id: gavel-regions
#   params:
#     eu_regions: [
#       eu, eea,
#       at, be, bg, hr, cy, cz, dk, ee, fi, fr, de, gr, el, hu, ie, it, lv, lt, lu, mt, nl, pl, pt, ro, sk, si, es, se,
#       is, li, "no",
#       eu-west-1, eu-west-3, eu-central-1, eu-north-1, eu-south-1, eu-south-2, eusc-de-east-1,
#       europe-west1, europe-west3, europe-west4, europe-west8, europe-west9, europe-west10, europe-west12,
#       europe-north1, europe-north2, europe-central2, europe-southwest1,
#       westeurope, northeurope, francecentral, francesouth, germanywestcentral, germanynorth,
#       swedencentral, swedensouth, norwayeast, norwaywest, polandcentral, italynorth, spaincentral,
#       eu-frankfurt-1, eu-frankfurt-2, eu-amsterdam-1, eu-milan-1, eu-stockholm-1, eu-marseille-1,
#       eu-paris-1, eu-madrid-1, eu-madrid-2,
#     ]
#     extra_eu_regions: []
package gavel.lib.regions

import rego.v1

eu_regions := {lower(r) |
	some key in ["eu_regions", "extra_eu_regions"]
	some r in object.get(data.gavel.params["gavel-regions"], key, [])
}

# An EU/EEA region name (a deployment region, a dataset card's region).
eu(region) if {
	is_string(region)
	lower(region) in eu_regions
}

# A tag naming an EU/EEA region: `region:<name>` (a dataset card's region becomes one), or `eu` / `eea`.
eu_tag(tag) if {
	is_string(tag)
	startswith(lower(tag), "region:")
	eu(substring(tag, 7, -1))
}

eu_tag(tag) if lower(tag) in {"eu", "eea"}
