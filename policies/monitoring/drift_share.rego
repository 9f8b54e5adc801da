# METADATA
# title: The share of drifted columns stays under its bound
# description: >
#   The functionality and behaviour of the AI system are monitored in production (NIST AI RMF
#   MEASURE 2.4; EU AI Act Art. 72). In a model's latest Evidently drift report, the share of
#   columns whose distribution drifted from the reference is at most `max_drift_share`.
# custom:
#   id: mon-drift-share
#   severity: medium
#   target: [model]
#   frameworks: ["NIST AI RMF MEASURE 2.4", "EU AI Act Art. 72"]
#   remediation: Investigate the drifted columns (upstream changes, a shifted population), then retrain or recalibrate the model, or document why the drift is benign.
#   params:
#     max_drift_share: 0.3
package gavel.packs.monitoring.drift_share

import data.gavel.fmt
import rego.v1

params := data.gavel.params["mon-drift-share"]

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

applicable if count(reports) > 0

deny contains {"msg": msg, "field": "observations.drift[0].drift_share", "source": object.get(latest, "source", null)} if {
	applicable
	is_number(object.get(latest, "drift_share", null))
	latest.drift_share > params.max_drift_share
	drifted := sort([fmt.value(object.get(c, "column", "?")) | some c in columns; is_object(c); object.get(c, "drifted", false) == true])
	msg := sprintf("%s: %s%% of columns drifted in its latest report (at most %s%%): %s", [
		input.id, format_int(round(latest.drift_share * 100), 10), format_int(round(params.max_drift_share * 100), 10),
		concat(", ", drifted),
	])
}

deny contains {"msg": msg, "field": "observations.drift[0].drift_share", "source": object.get(latest, "source", null)} if {
	applicable
	not is_number(object.get(latest, "drift_share", null))
	msg := sprintf("%s: its latest drift report gives no share of drifted columns", [input.id])
}
