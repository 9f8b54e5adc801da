# METADATA
# title: Models train only on registered datasets
# description: >
#   Every training dataset a model card names is declared in the inventory with a dataset card
#   (EU AI Act Art. 10(2): data governance needs to know the data).
# custom:
#   id: training-data-registered
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 10(2)", "ISO/IEC 42001 A.7.5"]
#   remediation: Add a dataset card for each training dataset, or correct the dataset id.
package examples.training_data

import rego.v1

deny contains msg if {
	some ds in input.subject.training_datasets
	not data.gavel.inventory.datasets[ds]
	msg := sprintf("%s trains on '%s', which has no dataset card", [input.id, ds])
}

deny contains msg if {
	some ds in input.subject.training_datasets
	card := data.gavel.inventory.datasets[ds]
	card.provenance.registered != true
	msg := sprintf("%s trains on '%s', whose source is not registered", [input.id, ds])
}
