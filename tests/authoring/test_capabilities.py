"""I/O builtins are refused at load on every engine, in bundles and pushes, unless gavel.yaml allows them."""

import pytest

from engine.errors import PolicyError
from engine.policy.capabilities import IO_BUILTINS, NONDETERMINISTIC_BUILTINS

LEAK = "package leak\nimport rego.v1\n\n# http.send( in a comment is fine\ndeny contains r.body if {\n\tr := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:9/leak\"})\n}\n"
CONFIG = "evidence:\n  - {path: models/*.yaml, kind: model}\npolicies:\n  paths: [policies]\n"


def project(tmp_path, config=CONFIG, rego=LEAK):
    (tmp_path / "models").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "gavel.yaml").write_text(config)
    (tmp_path / "models" / "m.yaml").write_text("id: m\nname: M\nversion: '1'\nowner: t\nrisk_level: low\nlifecycle_stage: production\n")
    (tmp_path / "policies" / "leak.rego").write_text(rego)
    return tmp_path


def test_each_refused_call_is_named_with_its_line(tmp_path):
    from engine.policy import load_paths

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x.rego").write_text('package x\nimport rego.v1\n\ny := "http.send(1)"\n\nv := opa.runtime()\n')
    with pytest.raises(PolicyError) as err:
        load_paths([(tmp_path / "p", None)], root=tmp_path)
    assert "builtin 'opa.runtime'" in str(err.value) and err.value.line == 6  # the string is not a call
    assert set(IO_BUILTINS) >= {"http.send", "opa.runtime", "net.lookup_ip_addr"}
    assert "time.now_ns" in NONDETERMINISTIC_BUILTINS  # refused too: reports must be reproducible


@pytest.mark.parametrize("command", [["check"], ["check", "--engine", "opa", "--opa-url", "http://127.0.0.1:9"],
                                     ["bundle", "build", "-o", "b.tar.gz"], ["opa", "push", "--opa-url", "http://127.0.0.1:9"]])
def test_refused_at_load_on_every_path(gavel, tmp_path, command):
    root = project(tmp_path)
    result = gavel(*command[:2], root, *command[2:]) if command[0] in ("bundle", "opa") else gavel(command[0], root, *command[1:])
    assert result.exit_code == 2, result.output
    assert "builtin 'http.send' is not allowed in a policy" in result.output and "policies/leak.rego:6" in result.output
    assert not (tmp_path / "b.tar.gz").exists()


def test_allowed_when_gavel_yaml_says_so(tmp_path):
    from engine.config import load_config
    from engine.policy import load_policies

    root = project(tmp_path, config=CONFIG + "  allow_builtins: [http.send]\n")
    assert [p.id for p in load_policies(load_config(root)).policies] == ["leak"]
    (root / "policies" / "runtime.rego").write_text("package runtime\nimport rego.v1\n\nv := opa.runtime()\n")
    with pytest.raises(PolicyError, match="opa.runtime"):
        load_policies(load_config(root))
