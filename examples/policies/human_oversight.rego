# METADATA
# title: High-risk models have human oversight
# description: >
#   High-risk AI systems are designed so that natural persons can oversee them
#   (EU AI Act Art. 14): oversight is required and its mechanism described.
# custom:
#   id: high-risk-human-oversight
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 14"]
#   remediation: Describe who oversees the model and how (human_oversight.required, mechanism, description).
package examples.human_oversight

import rego.v1

applicable if input.subject.risk_level in {"high", "unacceptable"}

deny contains msg if {
	applicable
	not input.subject.human_oversight.required
	msg := sprintf("%s is high risk but declares no required human oversight", [input.id])
}

deny contains msg if {
	applicable
	input.subject.human_oversight.required
	not input.subject.human_oversight.mechanism
	msg := sprintf("%s requires human oversight but does not say how it works", [input.id])
}
