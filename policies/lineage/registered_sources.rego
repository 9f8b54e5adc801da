# METADATA
# title: Models are built only on data from registered sources with a legal basis
# description: >
#   Following the lineage upstream from a model's training and evaluation data and features to
#   where the data enters (tables with nothing upstream), every such source has a dataset card,
#   is registered (provenance.registered: true) and names a legal basis other than none. A
#   model card can name a clean feature table; lineage shows what that table was built from.
# custom:
#   id: lineage-registered-sources
#   severity: high
#   target: [model]
#   frameworks: ["EU AI Act Art. 10(2)(b)", "GDPR Art. 6(1)", "GDPR Art. 5(1)(a)", "ISO/IEC 42001 A.7.5", "NIST AI RMF MAP 4.1"]
#   remediation: >
#     Add a dataset card for each source (`gavel lineage upstream model:ID` lists them), register it
#     and record its legal basis, or stop using the data.
package gavel.lineage.registered_sources

import rego.v1

applicable if count(input.lineage.sources) > 0

deny contains {"msg": msg, "source": s.id} if {
	some s in input.lineage.sources
	not s.declared
	msg := sprintf("%s is built on data from %s, which has no dataset card", [input.id, s.id])
}

deny contains {"msg": msg, "source": s.id, "file": s.file} if {
	some s in input.lineage.sources
	s.declared
	not s.registered
	msg := sprintf("%s is built on data from %s, whose source is not registered", [input.id, s.id])
}

deny contains {"msg": msg, "source": s.id, "file": s.file} if {
	some s in input.lineage.sources
	s.declared
	no_legal_basis(s)
	msg := sprintf("%s is built on data from %s, which has no legal basis (%v)", [input.id, s.id, s.legal_basis])
}

no_legal_basis(s) if s.legal_basis == null

no_legal_basis(s) if s.legal_basis == "none"
