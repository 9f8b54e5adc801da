# METADATA
# title: Models are evaluated on data independent of their training data
# description: >
#   Test sets and evaluation results are documented (MEASURE 2.1) and demonstrate validity and
#   generalisation (MEASURE 2.5). A model that is evaluated only on datasets it was also trained
#   on warns, unless every such metric names a held-out slice (metrics.performance[].slice).
# custom:
#   id: nist-evaluation-independent
#   severity: medium
#   target: [model]
#   frameworks: ["NIST AI RMF MEASURE 2.1", "NIST AI RMF MEASURE 2.5", "ISO/IEC 42001 A.6.2.4"]
#   remediation: Evaluate on a held-out or later dataset, and record it in evaluation_datasets (or the held-out slice on each metric).
#   params:
#     stages: [validation, staging, production]
package gavel.packs.nist_ai_rmf.evaluation_independent

import rego.v1

params := data.gavel.params["nist-evaluation-independent"]

training := {ds | some ds in object.get(input.subject, "training_datasets", [])}

evaluation := {ds | some ds in object.get(input.subject, "evaluation_datasets", [])}

applicable if input.subject.lifecycle_stage in params.stages

warn contains {"msg": msg, "field": "evaluation_datasets"} if {
	applicable
	count(evaluation) == 0
	msg := sprintf("%s names no evaluation dataset", [input.id])
}

warn contains {"msg": msg, "field": "evaluation_datasets"} if {
	applicable
	count(evaluation) > 0
	count(evaluation - training) == 0
	not held_out
	msg := sprintf("%s is evaluated only on its training data (%s) and no metric names a held-out slice", [input.id, concat(", ", sort(evaluation))])
}

held_out if {
	metrics := object.get(input.subject, ["metrics", "performance"], [])
	count(metrics) > 0
	every m in metrics {
		m.slice
	}
}
