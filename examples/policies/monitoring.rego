# METADATA
# title: Production models are monitored with alerting
# description: Models in production log their decisions and raise alerts on drift (EU AI Act Art. 12, Art. 72).
# custom:
#   id: production-monitoring
#   severity: medium
#   target: [model]
#   frameworks: ["EU AI Act Art. 12", "EU AI Act Art. 72", "NIST AI RMF MANAGE 4.1"]
#   remediation: Enable monitoring, alerting and decision logging for the deployment.
package examples.monitoring

import rego.v1

applicable if input.subject.lifecycle_stage == "production"

deny contains {"msg": sprintf("%s runs in production without monitoring", [input.id]), "field": "monitoring.enabled"} if {
	applicable
	not input.subject.monitoring.enabled
}

warn contains {"msg": sprintf("%s is monitored but nobody is alerted", [input.id]), "field": "monitoring.alerting"} if {
	applicable
	input.subject.monitoring.enabled
	not input.subject.monitoring.alerting
}
