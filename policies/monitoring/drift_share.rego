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

import rego.v1

params := data.gavel.params["mon-drift-share"]

reports := object.get(input.subject, ["observations", "drift"], [])

applicable if count(reports) > 0

deny contains {"msg": msg, "field": "observations.drift[0].drift_share", "source": object.get(latest, "source", null)} if {
	applicable
	latest := reports[0]
	latest.drift_share > params.max_drift_share
	drifted := sort([c.column | some c in object.get(latest, "columns", []); c.drifted == true])
	msg := sprintf("%s: %s%% of columns drifted in its latest report (at most %s%%): %s", [
		input.id, format_int(round(latest.drift_share * 100), 10), format_int(round(params.max_drift_share * 100), 10),
		concat(", ", drifted),
	])
}

deny contains {"msg": msg, "field": "observations.drift[0].drift_share", "source": object.get(reports[0], "source", null)} if {
	applicable
	not is_number(object.get(reports[0], "drift_share", null))
	msg := sprintf("%s: its latest drift report gives no share of drifted columns", [input.id])
}
