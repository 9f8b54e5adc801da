# METADATA
# title: Group disparities are within bounds
# description: >
#   Measures to detect, prevent and mitigate biases (EU AI Act Art. 10(2)(f)-(g); NIST AI RMF
#   MEASURE 2.11). In a model's latest computed fairness metrics, every metric's difference
#   between its best and worst group is at most `max_difference`, and for rate metrics (names
#   matching `ratio_pattern`, e.g. selection rate: the four-fifths rule) the worst group's value
#   is at least `min_ratio` of the best group's.
# custom:
#   id: fair-group-disparity
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 10(2)(f)", "EU AI Act Art. 10(2)(g)", "NIST AI RMF MEASURE 2.11"]
#   remediation: Mitigate the disparity (reweighing, threshold optimisation, more representative data) and recompute, or document why the metric does not apply.
#   params:
#     max_difference: 0.1
#     min_ratio: 0.8
#     ratio_pattern: "(?i)selection_rate|positive_rate|recall|tpr"
package gavel.packs.fairness.group_disparity

import data.gavel.fmt
import rego.v1

params := data.gavel.params["fair-group-disparity"]

computed := object.get(input.subject, ["observations", "fairness"], [])

applicable if {
	is_array(computed)
	count(computed) > 0
}

# The latest observation and its metrics, read defensively: a value of the wrong type is a
# finding below, never an engine error (or a silent pass).
latest := computed[0] if is_object(computed[0])

else := {}

metrics := object.get(latest, "metrics", {}) if is_object(object.get(latest, "metrics", {}))

else := {}

# The well-formed metrics: numbers for difference and ratio, a list of groups.
judged[name] := metric if {
	some name, metric in metrics
	is_object(metric)
	is_number(object.get(metric, "difference", null))
	is_number(object.get(metric, "ratio", null))
	is_array(object.get(metric, "by_group", null))
}

deny contains {"msg": msg, "field": sprintf("observations.fairness[0].metrics.%s", [name]), "source": object.get(latest, "source", null)} if {
	applicable
	some name, metric in judged
	metric.difference > params.max_difference
	msg := sprintf("%s: %s differs by %s between groups %s and %s (at most %s)", [
		input.id, name, fixed(metric.difference), top(metric), bottom(metric), fmt.value(params.max_difference),
	])
}

deny contains {"msg": msg, "field": sprintf("observations.fairness[0].metrics.%s", [name]), "source": object.get(latest, "source", null)} if {
	applicable
	some name, metric in judged
	regex.match(params.ratio_pattern, name)
	metric.ratio < params.min_ratio
	msg := sprintf("%s: %s of group %s is %s of group %s's (at least %s)", [
		input.id, name, bottom(metric), fixed(metric.ratio), top(metric), fmt.value(params.min_ratio),
	])
}

deny contains {"msg": msg, "field": "observations.fairness[0].metrics", "source": object.get(latest, "source", null)} if {
	applicable
	some name, _ in metrics
	not judged[name]
	msg := sprintf("%s: %s has no computed difference, ratio and groups", [input.id, name])
}

deny contains {"msg": msg, "field": "observations.fairness[0].metrics"} if {
	applicable
	count(metrics) == 0
	msg := sprintf("%s: its latest fairness observation has no metrics", [input.id])
}

# The group (as "sex=F, age=<40") with the highest and the lowest value of the metric.
top(metric) := label(metric, max(values(metric))) if count(values(metric)) > 0

else := "?"

bottom(metric) := label(metric, min(values(metric))) if count(values(metric)) > 0

else := "?"

values(metric) := [v | some x in metric.by_group; is_object(x); v := object.get(x, "value", null); is_number(v)]

# The value is one of the groups' own numbers, so == compares a float with itself: safe on every engine.
label(metric, value) := concat(", ", sort([sprintf("%s=%s", [k, format(v)]) | some k, v in group])) if {
	g := [x | some x in metric.by_group; is_object(x); object.get(x, "value", null) == value][0]
	group := object.get(g, "group", {})
	is_object(group)
} else := "?"

format(v) := fmt.value(v)

# Three decimals, printed the same by every Rego engine (no float formatting verbs).
fixed(x) := sprintf("%s.%s", [format_int(whole, 10), frac]) if {
	scaled := round(x * 1000)
	whole := floor(scaled / 1000)
	frac := substring(format_int((scaled - whole * 1000) + 1000, 10), 1, 3)
}
