"""Policies that do not load stop the run: exit 2, one line naming the file and line."""

import pytest

from engine.errors import PolicyError
from engine.policy import load_paths
from tests.conftest import model_card

GOOD_REGO = """\
# METADATA
# title: Has owner
# custom:
#   id: has-owner
#   severity: low
#   target: [model]
#   frameworks: ["ISO/IEC 42001 A.3.2"]
#   remediation: Name an owner.
package t.owner

import rego.v1

deny contains "no owner" if not input.subject.owner
"""


def load(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return load_paths([(tmp_path, None)], root=tmp_path)


def test_rego_metadata_is_read(tmp_path):
    (policy,) = load(tmp_path, {"owner.rego": GOOD_REGO}).policies
    assert (policy.id, policy.title, policy.severity, policy.target) == ("has-owner", "Has owner", "low", ["model"])
    assert policy.frameworks == ["ISO/IEC 42001 A.3.2"] and policy.remediation == "Name an owner."
    assert policy.source.line == 1 and policy.rules == ["deny"]


def test_library_modules_are_not_policies(tmp_path):
    lib = "package t.lib\n\nimport rego.v1\n\nhigh(s) if s.risk_level == \"high\"\n"
    policy_set = load(tmp_path, {"lib.rego": lib, "owner.rego": GOOD_REGO})
    assert [p.id for p in policy_set.policies] == ["has-owner"]
    assert "lib.rego" in policy_set.libraries


@pytest.mark.parametrize(
    ("files", "line", "fragment"),
    [
        ({"p.yaml": "id: p\ntitle: T\nseverity: high\ntarget: model\nassert:\n  field: subject.x\n  equal: 1\n"},
         7, "unknown operator 'equal' (did you mean 'equals'?)"),
        ({"p.yaml": "id: p\ntitle: T\nseverity: urgent\ntarget: model\nassert: {field: x, exists: true}\n"},
         3, "field 'severity'"),
        ({"p.yaml": "id: p\ntitle: T\nseverity: high\ntarget: model\nassert:\n  field: x\n  matches: '(['\n"},
         7, "invalid regular expression"),
        ({"p.yaml": "id: p\ntitle: T\nseverity: high\ntarget: model\nassert:\n  field: x\n  gte: {param: nope}\n"},
         7, "unknown parameter 'nope'"),
        ({"p.yaml": "id: p\ntitle: T\nseverity: high\ntarget: model\nassert:\n  field: x\n  min_length: many\n"},
         7, "expects a non-negative integer"),
        ({"p.yaml": "id: p\ntitle: T\nseverity: high\ntarget: model\n"}, 1, "missing required field(s) assert"),
        ({"p.yaml": "id: p\ntitle: [T\n"}, 3, "invalid YAML"),
        ({"a.yaml": "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: x, exists: true}\n",
          "b.yaml": "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: x, exists: true}\n"},
         1, "duplicate policy id 'p'"),
        ({"m.rego": "# METADATA\n# custom:\n#   severity: huge\npackage t.m\n\nimport rego.v1\n\ndeny contains 1 if true\n"},
         1, "unknown severity 'huge'"),
        ({"nopkg.rego": "import rego.v1\n\ndeny contains 1 if true\n"}, 1, "Missing package declaration"),
    ],
)
def test_broken_policies_raise_with_file_and_line(tmp_path, files, line, fragment):
    with pytest.raises(PolicyError) as err:
        load(tmp_path, files)
    assert fragment in str(err.value)
    assert err.value.line == line


def test_a_builtin_regorus_lacks_is_refused_by_the_embedded_engine_only(tmp_path):
    from engine.evaluate import check_embedded_builtins, prepare

    jwt = "package t.jwt\n\nimport rego.v1\n\ndeny contains 1 if {\n\tio.jwt.decode(input.t)\n}\n"
    policy_set = load(tmp_path, {"jwt.rego": jwt})  # loads: a real OPA has the builtin
    with pytest.raises(PolicyError) as err:
        prepare(policy_set, data={}, workers=1)
    assert "builtin 'io.jwt.decode' is not available in the embedded Rego engine" in str(err.value)
    assert "--engine opa" in str(err.value) and err.value.line == 6
    with pytest.raises(PolicyError):
        check_embedded_builtins(policy_set)


def test_rego_syntax_error_is_reported_at_load(tmp_path):
    with pytest.raises(PolicyError) as err:
        load(tmp_path, {"bad.rego": "package t.bad\n\nimport rego.v1\n\ndeny contains 1 if {\n\tinput.x ==\n}\n"})
    assert err.value.file == "bad.rego" and err.value.line == 7 and "expecting expression" in str(err.value)


def test_broken_policy_exits_2_in_the_cli(gavel, project):
    root = project({"models/m.yaml": model_card(),
                    "policies/p.yaml": "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: x, equal: 1}\n"})
    result = gavel("check", root)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: policies/p.yaml:5: policy 'p': unknown operator 'equal' (did you mean 'equals'?)"
    )
