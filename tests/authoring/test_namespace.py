"""Moving a policy set under its own namespace rewrites code only, never strings or comments."""

from engine.engines.namespace import namespace_of, rewrite, rule_path

MODULE = '''# METADATA
# title: data.gavel is read here
package gavel.yaml.x

import data.gavel.lib
import rego.v1

deny contains msg if {
	d := data.gavel.inventory.datasets[input.subject.data.id]
	msg := sprintf("data %v in `data.x`", [d.id])
	not input.data
	x := {"data": data["gavel"]}
	my_data := 1
}
'''


def test_rewrite_moves_package_and_data_refs_only():
    out = rewrite(MODULE, "sabc")
    assert "package gavel_sets.sabc.gavel.yaml.x" in out
    assert "import data.gavel_sets.sabc.gavel.lib" in out
    assert "d := data.gavel_sets.sabc.gavel.inventory.datasets[input.subject.data.id]" in out
    assert 'sprintf("data %v in `data.x`", [d.id])' in out  # a string: unchanged
    assert "# title: data.gavel is read here" in out  # a comment: unchanged
    assert "not input.data" in out and "my_data := 1" in out
    assert '{"data": data.gavel_sets.sabc["gavel"]}' in out
    assert out.count("\n") == MODULE.count("\n")  # lines stay where OPA's errors point


def test_namespace_is_a_digest_of_modules_and_data():
    a = namespace_of({"a.rego": "package a\n"}, {"gavel": {}})
    assert a == namespace_of({"a.rego": "package a\n"}, {"gavel": {}})
    assert a != namespace_of({"a.rego": "package a\n"}, {"gavel": {"inventory": {}}})
    assert a != namespace_of({"a.rego": "package b\n"}, {"gavel": {}})
    assert rule_path("data.gavel_eval.model", a) == f"data.gavel_sets.{a}.gavel_eval.model"
