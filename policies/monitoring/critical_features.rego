# METADATA
# title: Features the card marks critical do not drift
# description: >
#   Monitoring covers what matters most (NIST AI RMF MEASURE 2.4, MANAGE 4.1). Every column in
#   the card's `monitoring.critical_features` is covered by the latest Evidently drift report and
#   did not drift in it. A critical feature the report does not measure is not monitored.
# custom:
#   id: mon-critical-features-stable
#   severity: high
#   target: [model]
#   frameworks: ["NIST AI RMF MEASURE 2.4", "NIST AI RMF MANAGE 4.1", "EU AI Act Art. 72"]
#   remediation: Add the missing columns to the drift report; for a drifted critical feature, investigate and retrain or recalibrate before the model keeps deciding on it.
package gavel.packs.monitoring.critical_features

import data.gavel.fmt
import rego.v1

critical := {f | some f in object.get(input.subject, ["monitoring", "critical_features"], [])}

applicable if count(critical) > 0

reports := r if {
	r := object.get(input.subject, ["observations", "drift"], [])
	is_array(r)
} else := []

# The latest report, read defensively: a value of the wrong type never raises in the engine.
latest := reports[0] if is_object(reports[0])

else := {}

columns := c if {
	c := object.get(latest, "columns", [])
	is_array(c)
} else := []

measured := {object.get(c, "column", null) | some c in columns; is_object(c)}

drifted := {c.column | some c in columns; is_object(c); object.get(c, "drifted", false) == true; c.column in critical}

deny contains {"msg": msg, "field": "observations.drift"} if {
	applicable
	count(reports) == 0
	msg := sprintf("%s marks %s critical but has no drift report", [input.id, concat(", ", sort(critical))])
}

deny contains {"msg": msg, "field": "observations.drift[0].columns", "source": object.get(latest, "source", null)} if {
	applicable
	count(reports) > 0
	missing := critical - measured
	count(missing) > 0
	msg := sprintf("%s: critical feature(s) %s are not in its latest drift report", [input.id, concat(", ", sort(missing))])
}

deny contains {"msg": msg, "field": "observations.drift[0].columns", "source": object.get(latest, "source", null)} if {
	applicable
	count(drifted) > 0
	msg := sprintf("%s: critical feature(s) drifted in its latest report: %s", [input.id, concat(", ", sort(drifted))])
}
