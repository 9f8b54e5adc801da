# METADATA
# title: Models processing personal data are in the records of processing
# description: >
#   A model that profiles people, processes special-category data, or trains on a dataset
#   holding personal data (a dataset card tagged `personal_tag` on the dataset or a column)
#   is a processing activity of its own: it names its ROPA entry (Art. 30(1)).
# custom:
#   id: gdpr-ropa-model
#   severity: medium
#   target: [model]
#   frameworks: ["GDPR Art. 30(1)", "GDPR Art. 5(2)"]
#   remediation: Add the model's processing activity to the ROPA and set records_of_processing on the card.
#   params:
#     personal_tag: pii
package gavel.packs.gdpr.ropa_model

import rego.v1

params := data.gavel.params["gdpr-ropa-model"]

personal_datasets contains ds if {
	some ds in object.get(input.subject, "training_datasets", [])
	card := data.gavel.inventory.datasets[ds]
	personal(card)
}

personal(card) if params.personal_tag in object.get(card, "tags", [])

personal(card) if {
	some column in object.get(card, "columns", [])
	params.personal_tag in object.get(column, "tags", [])
}

reason contains "it profiles people" if input.subject.profiling == true

reason contains "it processes special-category data" if input.subject.processes_special_category_data == true

reason contains sprintf("it trains on personal data (%s)", [concat(", ", sort(personal_datasets))]) if count(personal_datasets) > 0

applicable if {
	count(reason) > 0
	not input.subject.lifecycle_stage in {"research", "retired"}
}

deny contains {"msg": msg, "field": "records_of_processing"} if {
	applicable
	not input.subject.records_of_processing
	msg := sprintf("%s names no records-of-processing entry, but %s", [input.id, concat(" and ", sort(reason))])
}
