# METADATA
# title: User-facing AI systems disclose that they are AI
# description: People interacting with an AI system are told so (EU AI Act Art. 50(1)).
# custom:
#   id: ai-disclosure
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 50(1)"]
#   remediation: Tell users they are talking to an AI system and set deployment.ai_disclosure to true.
package examples.ai_disclosure

import rego.v1

applicable if input.subject.deployment.user_facing == true

deny contains msg if {
	applicable
	input.subject.deployment.ai_disclosure != true
	msg := sprintf("%s talks to customers without disclosing that it is an AI system", [input.id])
}
