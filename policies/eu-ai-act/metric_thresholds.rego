# METADATA
# title: Declared metric thresholds are met
# description: >
#   A performance or robustness metric that declares its own acceptance threshold meets it
#   (respecting higher_is_better, which defaults to true for performance metrics and false for
#   robustness metrics, where the value is usually a degradation). Declaring a level of accuracy
#   and then shipping below it is what Art. 15 forbids.
# custom:
#   id: aia-metric-thresholds-met
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 15(1)", "NIST AI RMF MEASURE 2.3", "ISO/IEC 42001 A.6.2.4"]
#   remediation: Improve the model until it meets its declared thresholds, or justify and record a new threshold.
#   params:
#     stages: [validation, staging, production]
package gavel.packs.eu_ai_act.metric_thresholds

import data.gavel.fmt
import rego.v1

params := data.gavel.params["aia-metric-thresholds-met"]

applicable if input.subject.lifecycle_stage in params.stages

default_higher := {"performance": true, "robustness": false}

deny contains {"msg": msg, "field": sprintf("metrics.%s[%d]", [group, i]), "value": m.value, "threshold": m.threshold} if {
	applicable
	some group, higher in default_higher
	some i, m in object.get(input.subject, ["metrics", group], [])
	is_number(m.threshold)
	hib := object.get(m, "higher_is_better", higher)
	not meets(m.value, m.threshold, hib)
	op := {true: ">=", false: "<="}[hib]
	msg := sprintf("%s: %s metric %s = %s misses its threshold (%s %s)", [input.id, group, fmt.value(m.name), fmt.value(m.value), op, fmt.value(m.threshold)])
}

meets(value, threshold, true) if value >= threshold

meets(value, threshold, false) if value <= threshold
