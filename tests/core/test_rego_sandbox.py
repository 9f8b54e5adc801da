"""Rego policies that would judge wrongly or break the host are refused at load (exit 2, file and
line) or judged ``error``: a typo'd verdict rule, I/O and clock builtins, recursion."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import NOW, model_card

CONFIG = "evidence:\n  - {path: models/*.yaml, kind: model}\npolicies:\n  paths: [policies]\n"


def rego(body: str, pid: str = "p-io") -> str:
    return (f"# METADATA\n# title: T\n# custom:\n#   id: {pid}\n#   severity: high\n#   target: [model]\n"
            f"package t.p\n\nimport rego.v1\n\n{body}\n")


def check(gavel, root, *extra):
    result = gavel("check", root, "-o", "json", "--now", NOW, *extra)
    report = json.loads(result.stdout) if result.exit_code in (0, 1) else None
    return result, report


def test_metadata_with_an_id_and_no_verdict_rule_is_a_load_error(gavel, project):
    root = project({"models/m.yaml": model_card(),
                    "policies/p.rego": rego('denies contains "no owner" if not input.subject.owner')}, config=CONFIG)
    result, _ = check(gavel, root)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: policies/p.rego:1: policy 'p-io' (METADATA custom.id) defines no verdict rule")
    assert "'denies' is not one" in result.stderr


def test_a_library_without_an_id_still_loads(gavel, project):
    lib = "# METADATA\n# title: helpers\npackage t.lib\n\nimport rego.v1\n\nhigh(s) if s.risk_level == \"high\"\n"
    root = project({"models/m.yaml": model_card(),
                    "policies/lib.rego": lib,
                    "policies/p.rego": rego('deny contains "high" if data.t.lib.high(input.subject)')}, config=CONFIG)
    result, report = check(gavel, root)
    assert result.exit_code == 1, result.output
    assert [f["status"] for f in report["findings"] if f["policy"] == "p-io"] == ["fail"]


@pytest.mark.parametrize(("call", "name"), [
    ('r := http.send({"method": "get", "url": "http://127.0.0.1:9/leak"})', "http.send"),
    ("r := opa.runtime()", "opa.runtime"),
    ('r := net.lookup_ip_addr("example.com")', "net.lookup_ip_addr"),
    ("r := time.now_ns()", "time.now_ns"),
    ('r := rand.intn("x", 10)', "rand.intn"),
    ('r := uuid.rfc4122("x")', "uuid.rfc4122"),
])
def test_io_and_clock_builtins_are_refused_at_load(gavel, project, call, name):
    body = f'deny contains "leak" if {{\n\t{call}\n\tr == "never"\n}}'
    root = project({"models/m.yaml": model_card(), "policies/p.rego": rego(body)}, config=CONFIG)
    result, _ = check(gavel, root)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: policies/p.rego:12: builtin '{name}' is not allowed in a policy")
    assert "policies.allow_builtins" in result.stderr


def test_a_call_a_text_scan_misses_is_still_seen(gavel, project):
    # regorus parses http["send"](...) as a call of http.send; the parse tree sees it, a regex did not.
    body = 'deny contains "leak" if {\n\tr := http["send"]({"url": "x"})\n\tr.status_code == 200\n}'
    root = project({"models/m.yaml": model_card(), "policies/p.rego": rego(body)}, config=CONFIG)
    result, _ = check(gavel, root)
    assert result.exit_code == 2 and "builtin 'http.send' is not allowed" in result.stderr


@pytest.mark.parametrize("call", ['http.send({"method": "get", "url": "http://127.0.0.1:9/"})', "opa.runtime()"])
def test_an_allowed_io_builtin_is_an_error_on_the_embedded_engine_never_a_pass(gavel, project, call):
    # Undefined (what regorus gives for http.send) would make this deny never fire: a pass.
    body = f'deny contains "server said no" if {{\n\tr := {call}\n\tr.status_code != 200\n}}'
    config = CONFIG + f"  allow_builtins: [{call.split('(')[0]}]\n"
    root = project({"models/m.yaml": model_card(), "policies/p.rego": rego(body)}, config=config)
    result, report = check(gavel, root)
    assert result.exit_code == 1, result.output
    (finding,) = [f for f in report["findings"] if f["policy"] == "p-io"]
    assert finding["status"] == "error"
    assert "cannot run in the embedded Rego engine" in finding["message"] and "--engine opa" in finding["message"]


def test_an_allowed_clock_builtin_runs(gavel, project):
    body = 'deny contains "clock before 2000" if time.now_ns() < 946684800000000000'
    config = CONFIG + "  allow_builtins: [time.now_ns]\n"
    root = project({"models/m.yaml": model_card(), "policies/p.rego": rego(body)}, config=config)
    result, report = check(gavel, root)
    assert result.exit_code == 0, result.output
    assert [f["status"] for f in report["findings"] if f["policy"] == "p-io"] == ["pass"]


RECURSIVE = {
    "function": ("f(x) := f(x)\n\ndeny contains \"x\" if f(1)", 11, "t.p.f -> t.p.f"),
    "two functions": ("f(x) := g(x)\n\ng(x) := f(x)\n\ndeny contains \"x\" if f(1)", 11, "t.p.f -> t.p.g -> t.p.f"),
    "rules": ("a if b\n\nb if not a\n\ndeny contains \"x\" if a", 11, "t.p.a -> t.p.b -> t.p.a"),
    "through data": ("a if data.t.p.a\n\ndeny contains \"x\" if a", 11, "t.p.a -> t.p.a"),
}


@pytest.mark.parametrize("case", sorted(RECURSIVE))
def test_recursion_is_refused_at_load_instead_of_crashing(project, case):
    body, line, cycle = RECURSIVE[case]
    root = project({"models/m.yaml": model_card(), "policies/p.rego": rego(body)}, config=CONFIG)
    # A child process: without the check, regorus overflows its stack and the process dies (rc 139).
    out = subprocess.run([sys.executable, "-m", "engine", "check", str(root), "--now", NOW],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, (out.returncode, out.stderr[-500:])
    assert out.stderr.startswith(f"Error: policies/p.rego:{line}: recursion: {cycle}"), out.stderr


def test_recursion_across_modules_is_refused(gavel, project):
    other = "package t.q\n\nimport rego.v1\n\nimport data.t.p\n\nq if p.deny\n"
    body = 'deny contains "x" if data.t.q.q'
    root = project({"models/m.yaml": model_card(), "policies/p.rego": rego(body), "policies/q.rego": other},
                   config=CONFIG)
    result = gavel("check", root)
    assert result.exit_code == 2 and "recursion: " in result.stderr and "t.q.q" in result.stderr


def test_non_recursive_helpers_with_shadowing_locals_load(gavel, project):
    body = ("f(x) := y if { y := x + 1 }\n\ng(f) := f * 2\n\n"
            "deny contains msg if {\n\tsome y in [1]\n\tmsg := sprintf(\"%v\", [g(f(y))])\n\ty > 5\n}")
    root = project({"models/m.yaml": model_card(), "policies/p.rego": rego(body)}, config=CONFIG)
    result, _ = check(gavel, root)
    assert result.exit_code == 0, result.output


def test_policies_may_not_read_the_generated_wrapper(gavel, project):
    body = 'deny contains "x" if count(data.gavel_eval.model) > 100'
    root = project({"models/m.yaml": model_card(), "policies/p.rego": rego(body)}, config=CONFIG)
    result = gavel("check", root)
    assert result.exit_code == 2 and "data.gavel_eval" in result.stderr and "policies/p.rego:11" in result.stderr


def test_policy_lint_reports_recursion(gavel, project):
    root = project({"policies/p.rego": rego('f(x) := f(x)\n\ndeny contains "x" if f(1)')})
    result = gavel("policy", "lint", root / "policies")
    assert result.exit_code != 0
    assert "recursion" in result.output and "p.rego:11" in result.output


def test_some_declarations_and_unification_load(gavel, project):
    # ``some x, y`` declares variables as spans of the source in regorus's tree
    body = ('deny contains msg if {\n\tsome i, t\n\tt = input.subject.tags[i]\n\tt == "bad"\n'
            '\tmsg := sprintf("tag %d is bad", [i])\n}')
    root = project({"models/m.yaml": model_card(extra="tags: [ok, bad]\n"), "policies/p.rego": rego(body)},
                   config=CONFIG)
    result, report = check(gavel, root)
    assert result.exit_code == 1, result.output
    assert [f["message"] for f in report["findings"] if f["policy"] == "p-io"] == ["tag 1 is bad"]
