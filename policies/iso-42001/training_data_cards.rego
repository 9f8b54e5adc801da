# METADATA
# title: Training and evaluation data is documented and licensed
# description: >
#   Data resources used by an AI system are documented (A.4.3), and data acquired for it is
#   obtained with the rights to use it (A.7.3). Every training and evaluation dataset a model
#   names has a dataset card in the inventory, and that card states the data's license (or
#   "proprietary" for own data).
# custom:
#   id: iso-training-data-documented
#   severity: high
#   target: [model]
#   frameworks: ["ISO/IEC 42001 A.4.3", "ISO/IEC 42001 A.7.3", "ISO/IEC 42001 A.7.2"]
#   remediation: Add a dataset card (with license) for each dataset the model names, or correct the dataset ids.
#   params:
#     stages: [development, validation, staging, production]
package gavel.packs.iso_42001.training_data_cards

import rego.v1

params := data.gavel.params["iso-training-data-documented"]

applicable if input.subject.lifecycle_stage in params.stages

named contains [role, ds] if {
	some role in ["training", "evaluation"]
	some ds in object.get(input.subject, sprintf("%s_datasets", [role]), [])
}

deny contains {"msg": msg, "field": sprintf("%s_datasets", [role]), "dataset": ds} if {
	applicable
	some [role, ds] in named
	not data.gavel.inventory.datasets[ds]
	msg := sprintf("%s names %s dataset '%s', which has no dataset card", [input.id, role, ds])
}

deny contains {"msg": msg, "field": sprintf("%s_datasets", [role]), "dataset": ds} if {
	applicable
	some [role, ds] in named
	card := data.gavel.inventory.datasets[ds]
	not card.license
	msg := sprintf("%s uses %s dataset '%s', whose card states no license", [input.id, role, ds])
}
