package gavel.lib.regions_test

import rego.v1

import data.gavel.lib.regions

test_cloud_regions_and_countries_of_the_eea_are_eu if {
	every r in ["eu", "EEA", "de", "NO", "eu-west-1", "europe-west4", "WestEurope", "eu-frankfurt-1", "eusc-de-east-1"] {
		regions.eu(r)
	}
}

test_european_regions_outside_the_eea_are_not if {
	every r in ["eu-west-2", "eu-central-2", "europe-west2", "europe-west6", "uksouth", "switzerlandnorth", "uk-london-1", "eu-zurich-1", "ch", "gb", "us-east-1", "eu-west", ""] {
		not regions.eu(r)
	}
	not regions.eu(null)
	not regions.eu(["eu"])
}

test_tags if {
	regions.eu_tag("region:europe-west4")
	regions.eu_tag("Region:DE")
	regions.eu_tag("eu")
	not regions.eu_tag("region:eu-west-2")
	not regions.eu_tag("de") # a bare country code is not a region tag
	not regions.eu_tag("pii")
}

test_the_list_is_a_parameter if {
	regions.eu("fra-dc1") with data.gavel.params["gavel-regions"] as {"eu_regions": ["FRA-DC1"]}
	not regions.eu("de") with data.gavel.params["gavel-regions"] as {"eu_regions": ["FRA-DC1"]}
}

test_extra_regions_add_to_the_list if {
	params := {"eu_regions": ["de"], "extra_eu_regions": ["fra-dc1"]}
	regions.eu("fra-dc1") with data.gavel.params["gavel-regions"] as params
	regions.eu("de") with data.gavel.params["gavel-regions"] as params
}
