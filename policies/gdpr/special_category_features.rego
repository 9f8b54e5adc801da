# METADATA
# title: Models using special-category features declare it
# description: >
#   A model whose features (lineage column ids, db.table.column) include a column that its
#   dataset card tags `special_tag` processes special-category data (Art. 9(1)) and must say
#   so (processes_special_category_data: true), so that the DPIA and Art. 9(2) checks apply.
#   Using such a column without declaring it also breaches data minimisation (Art. 5(1)(c)).
# custom:
#   id: gdpr-special-category-features
#   severity: critical
#   target: [model]
#   frameworks: ["GDPR Art. 9(1)", "GDPR Art. 5(1)(c)", "EU AI Act Art. 10(5)"]
#   remediation: >
#     Remove the special-category features, or set processes_special_category_data to true and
#     complete the DPIA and the Art. 9(2) condition on the dataset.
#   params:
#     special_tag: special_category
package gavel.packs.gdpr.special_category_features

import rego.v1

params := data.gavel.params["gdpr-special-category-features"]

special_features contains feature if {
	some feature in object.get(input.subject, "features", [])
	parts := split(feature, ".")
	count(parts) > 1
	table := concat(".", array.slice(parts, 0, count(parts) - 1))
	column := parts[count(parts) - 1]
	card := data.gavel.inventory.datasets[table]
	some c in object.get(card, "columns", [])
	c.name == column
	params.special_tag in object.get(c, "tags", [])
}

deny contains {"msg": msg, "field": "features", "features": sort(special_features)} if {
	count(special_features) > 0
	object.get(input.subject, "processes_special_category_data", false) != true
	msg := sprintf("%s uses special-category feature(s) %s but does not declare processes_special_category_data", [input.id, concat(", ", sort(special_features))])
}
