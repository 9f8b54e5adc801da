# METADATA
# title: High-risk models train on documented data of known origin
# description: >
#   Art. 10(2) asks for data governance covering the origin of the data and its collection.
#   Every training dataset of a high-risk model has a dataset card in the inventory, that card
#   names the data's source (provenance.source), and the source is registered
#   (provenance.registered: true).
# custom:
#   id: aia-training-data-provenance
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 10(2)(b)", "ISO/IEC 42001 A.7.5", "NIST AI RMF MAP 4.1"]
#   remediation: >
#     Add a dataset card for every training dataset with provenance.source (the system or supplier
#     the data comes from) and register that source.
#   params:
#     risk_levels: [high, unacceptable]
package gavel.packs.eu_ai_act.training_data_provenance

import rego.v1

params := data.gavel.params["aia-training-data-provenance"]

applicable if input.subject.risk_level in params.risk_levels

deny contains {"msg": msg, "field": "training_datasets"} if {
	applicable
	count(object.get(input.subject, "training_datasets", [])) == 0
	msg := sprintf("%s is high risk but names no training data", [input.id])
}

deny contains {"msg": msg, "field": "training_datasets", "dataset": ds} if {
	applicable
	some ds in input.subject.training_datasets
	not data.gavel.inventory.datasets[ds]
	msg := sprintf("%s trains on '%s', which has no dataset card", [input.id, ds])
}

deny contains {"msg": msg, "field": "training_datasets", "dataset": ds} if {
	applicable
	some ds in input.subject.training_datasets
	card := data.gavel.inventory.datasets[ds]
	not card.provenance.source
	msg := sprintf("%s trains on '%s', whose card does not name its source", [input.id, ds])
}

deny contains {"msg": msg, "field": "training_datasets", "dataset": ds} if {
	applicable
	some ds in input.subject.training_datasets
	card := data.gavel.inventory.datasets[ds]
	card.provenance.source
	object.get(card.provenance, "registered", false) != true
	msg := sprintf("%s trains on '%s', whose source '%s' is not registered", [input.id, ds, card.provenance.source])
}
