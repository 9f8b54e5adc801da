# METADATA
# title: High-risk models report bias metrics within bounds
# description: >
#   Art. 10(2)(f) requires examining data for possible biases; NIST MEASURE 2.11 asks that
#   fairness and bias be evaluated and the results documented. A high-risk model reports at
#   least `min_metrics` fairness metrics. Each must be within the policy's bound: `min_ratio`
#   for ratio metrics (names matching `ratio_pattern`, e.g. disparate impact, where 1 is parity)
#   and `max_disparity` on the absolute value for difference metrics (0 is parity). A metric's
#   own `threshold` on the card (respecting higher_is_better) can only tighten that bound, never
#   loosen it: the stricter of the two applies.
# custom:
#   id: aia-fairness-metrics
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 10(2)(f)", "EU AI Act Art. 10(2)(g)", "NIST AI RMF MEASURE 2.11"]
#   remediation: >
#     Measure group disparities (e.g. demographic parity difference, equal opportunity
#     difference, disparate impact ratio) on the evaluation data per protected attribute, record
#     them under metrics.fairness, and mitigate those out of bounds.
#   params:
#     risk_levels: [high, unacceptable]
#     min_metrics: 1
#     max_disparity: 0.1
#     min_ratio: 0.8
#     ratio_pattern: "(?i)ratio|disparate_impact"
package gavel.packs.eu_ai_act.fairness_metrics

import data.gavel.fmt
import rego.v1

params := data.gavel.params["aia-fairness-metrics"]

applicable if input.subject.risk_level in params.risk_levels

metrics := object.get(input.subject, ["metrics", "fairness"], [])

deny contains {"msg": msg, "field": "metrics.fairness"} if {
	applicable
	count(metrics) < params.min_metrics
	msg := sprintf("%s is high risk but reports %d fairness metric(s) (at least %s required)", [input.id, count(metrics), fmt.value(params.min_metrics)])
}

deny contains {"msg": msg, "field": sprintf("metrics.fairness[%d]", [i]), "metric": m.name, "value": m.value, "bound": bound} if {
	applicable
	some i, m in metrics
	missed := [text | some [ok, text] in bounds(m); not ok]
	count(missed) > 0
	bound := concat(" and ", missed)
	msg := sprintf("%s: fairness metric %s%s = %s is out of bounds (%s)", [input.id, fmt.value(m.name), slice(m), fmt.value(m.value), bound])
}

slice(m) := sprintf(" [%s]", [fmt.value(m.slice)]) if m.slice
else := ""

# The bounds one metric must meet, each as [within, the bound as text]: always the policy's own;
# the card's threshold only adds a constraint (a card cannot declare itself a looser limit).
bounds(m) := [policy_bound(m), card_bound(m)] if is_number(m.threshold)
else := [policy_bound(m)]

policy_bound(m) := [m.value >= params.min_ratio, sprintf(">= %s", [fmt.value(params.min_ratio)])] if {
	regex.match(params.ratio_pattern, m.name)
} else := [abs(m.value) <= params.max_disparity, sprintf("|value| <= %s", [fmt.value(params.max_disparity)])]

card_bound(m) := [m.value >= m.threshold, sprintf("card threshold >= %s", [fmt.number(m.threshold)])] if {
	m.higher_is_better == true
} else := [m.value <= m.threshold, sprintf("card threshold <= %s", [fmt.number(m.threshold)])]
