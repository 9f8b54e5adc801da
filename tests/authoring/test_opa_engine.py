"""The OPA server backend.

Without a real OPA, the client code (request building, error handling, result mapping) is tested
against a tiny local HTTP server speaking OPA's REST API: it stores what is pushed and answers
queries by evaluating the pushed modules with the embedded engine, or returns canned errors.
A real OPA is used when ``GAVEL_OPA_URL`` is set or an ``opa`` binary is on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest

from engine.engines.opa import BATCH_PACKAGE, OpaEngine, policy_id
from engine.errors import EngineError, PolicyError, UsageError
from tests.conftest import free_port

from .conftest import EXAMPLES


class FakeOpa(BaseHTTPRequestHandler):
    """OPA's REST API, as far as Gavel uses it. ``server.behaviour`` injects failures."""

    def log_message(self, *args):
        pass

    def _send(self, status, body=None):
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, body=b""):
        self.server.requests.append((self.command, self.path, self.headers.get("Authorization"), body))

    def do_GET(self):  # noqa: N802
        self._record()
        if self.server.behaviour == "unauthorized":
            return self._send(401, {"code": "unauthorized", "message": "missing or invalid token"})
        if self.path.rstrip("/") == "/v1/policies":
            return self._send(200, {"result": [{"id": i} for i in self.server.policies]})
        if self.path.startswith("/v1/policies/"):
            pid = urlparse(self.path).path.removeprefix("/v1/policies/")
            if pid not in self.server.policies:
                return self._send(404, {"code": "resource_not_found", "message": f"storage_not_found_error: {pid}"})
            return self._send(200, {"result": {"id": pid, "raw": self.server.policies[pid]}})
        return self._send(404, {"code": "not_found"})

    def do_PUT(self):  # noqa: N802
        body = self._body()
        self._record(body)
        path = urlparse(self.path).path
        if path.startswith("/v1/policies/"):
            text = body.decode()
            if "BROKEN" in text:
                return self._send(400, {"code": "invalid_parameter", "message": "error(s) occurred while compiling module(s)",
                                        "errors": [{"code": "rego_parse_error", "message": "unexpected eof token",
                                                    "location": {"file": path, "row": 3, "col": 1}}]})
            self.server.policies[path.removeprefix("/v1/policies/")] = text
            return self._send(200, {})
        if path.startswith("/v1/data/"):
            *parents, leaf = path.removeprefix("/v1/data/").split("/")
            node = self.server.data
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = json.loads(body)
            return self._send(204)
        return self._send(404, {"code": "not_found"})

    def do_DELETE(self):  # noqa: N802
        self._record()
        path = urlparse(self.path).path
        if path.startswith("/v1/data/"):
            *parents, leaf = path.removeprefix("/v1/data/").split("/")
            node = self.server.data
            for part in parents:
                node = node.get(part, {})
            node.pop(leaf, None)
            return self._send(204)
        self.server.policies.pop(path.removeprefix("/v1/policies/"), None)
        return self._send(200, {})

    def do_POST(self):  # noqa: N802
        body = self._body()
        self._record(body)
        url = urlparse(self.path)
        rule = "data." + url.path.removeprefix("/v1/data/").replace("/", ".")
        if self.server.behaviour == "eval-error-batch" and BATCH_PACKAGE in rule:
            return self._send(500, {"code": "internal_error", "message": "1 error occurred: eval_builtin_error",
                                    "errors": [{"code": "eval_builtin_error", "message": "boom",
                                                "location": {"file": "x.rego", "row": 7}}]})
        if self.server.behaviour == "foreign":  # another policy set's answer: no verdict of ours in it
            return self._send(200, {"result": [{"other-policy": {"deny": []}}] * 200 if BATCH_PACKAGE in rule
                                    else {"other-policy": {"deny": []}}})
        if self.server.behaviour == "forgot":  # a restarted OPA: nothing pushed is there any more
            return self._send(200, {})
        if self.server.behaviour == "trickle":  # an answer one byte every 0.4 s
            raw = json.dumps({"result": []}).encode() * 20
            self.send_response(200)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            for byte in raw:
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return None
                time.sleep(0.4)
            return None
        if self.server.behaviour == "garbage":
            raw = b"<html>proxy error</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            return None
        import regorus

        engine = regorus.Engine()
        for name, text in self.server.policies.items():
            engine.add_policy(name, text)
        engine.add_data_json(json.dumps(self.server.data))
        engine.set_input_json(json.dumps(json.loads(body)["input"]))
        try:
            value = json.loads(engine.eval_rule_as_json(rule))
        except BaseException as exc:  # noqa: BLE001
            if "not a valid rule path" in str(exc):  # OPA answers {} for an undefined document
                return self._send(200, {})
            return self._send(500, {"code": "internal_error", "message": f"eval_builtin_error: {exc}",
                                    "errors": [{"code": "eval_builtin_error", "message": str(exc)}]})
        return self._send(200, {} if value == "<undefined>" else {"result": value})


@pytest.fixture
def fake_opa():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpa)
    server.policies, server.data, server.requests, server.behaviour = {}, {}, [], None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def check(gavel, url, *args):
    return gavel("check", EXAMPLES, "--engine", "opa", "--opa-url", url, "--timeout", "5", "-o", "json",
                 "--now", "2026-11-26", *args)


def findings(report_text):
    report = json.loads(report_text)
    return sorted((f["policy"], f["subject"]["id"], f["status"], f["message"]) for f in report["findings"])


def test_check_on_opa_matches_embedded(gavel, fake_opa):
    embedded = gavel("check", EXAMPLES, "-o", "json", "--now", "2026-11-26")
    on_opa = check(gavel, fake_opa.url)
    assert on_opa.exit_code == embedded.exit_code == 1
    assert findings(on_opa.output) == findings(embedded.output)
    pushed = [path for method, path, _, _ in fake_opa.requests if method == "PUT" and "/policies/" in path]
    namespace = pushed[-1].split("/")[4]
    assert re.fullmatch(r"s[0-9a-f]{20}", namespace)  # every module of the set under its namespace
    assert pushed[-1] == f"/v1/policies/gavel/{namespace}/{BATCH_PACKAGE}"  # after the wrapper it calls
    assert pushed[-2] == f"/v1/policies/gavel/{namespace}/gavel_eval"
    assert all(p.startswith(f"/v1/policies/gavel/{namespace}/") for p in pushed)
    assert ("PUT", f"/v1/data/gavel_sets/{namespace}/gavel") in {(m, p) for m, p, _, _ in fake_opa.requests}
    queries = [(p, json.loads(b)) for m, p, _, b in fake_opa.requests if m == "POST"]
    assert queries and all("strict-builtin-errors=true" in p for p, _ in queries)
    batch = [body for p, body in queries if BATCH_PACKAGE in p]
    assert batch and max(len(b["input"]["docs"]) for b in batch) > 1  # subjects batched
    singles = [p for p, _ in queries if BATCH_PACKAGE not in p]
    assert singles == [], singles  # every decision came from a batch answer


def test_token_is_sent_and_other_sets_left_alone(fake_opa):
    fake_opa.policies["gavel/sother/policy"] = "package gavel_sets.sother.old\n"  # another project's set
    fake_opa.policies["someone-else"] = "package theirs\n"
    engine = OpaEngine(url=fake_opa.url, token="s3cret", timeout=5)
    engine.load({"gavel/lib.rego": "package gavel.lib\n", "p.rego": "package p\nimport rego.v1\nx := data.gavel.a\n"},
                {"gavel": {"a": 1}})
    ns = engine.namespace
    assert set(fake_opa.policies) == {f"gavel/{ns}/gavel/lib", f"gavel/{ns}/p", f"gavel/{ns}/{BATCH_PACKAGE}",
                                      "gavel/sother/policy", "someone-else"}
    assert fake_opa.policies[f"gavel/{ns}/p"] == f"package gavel_sets.{ns}.p\nimport rego.v1\nx := data.gavel_sets.{ns}.gavel.a\n"
    assert fake_opa.data == {"gavel_sets": {ns: {"gavel": {"a": 1}}}}
    assert engine.evaluate("data.p.x", ["{}"]) == [1]
    assert {auth for _, _, auth, _ in fake_opa.requests} == {"Bearer s3cret"}


def test_batch_eval_error_falls_back_to_one_request_per_subject(fake_opa):
    engine = OpaEngine(url=fake_opa.url, timeout=5)
    engine.load({"gavel_eval.rego": 'package gavel_eval\nimport rego.v1\nmodel := {"n": input.n}\n'}, {})
    fake_opa.behaviour = "eval-error-batch"
    assert engine.evaluate("data.gavel_eval.model", ['{"n": 1}', '{"n": 2}']) == [{"n": 1}, {"n": 2}]
    fake_opa.behaviour = None
    assert engine.evaluate("data.gavel_eval.model", ['{"n": 1}', '{"n": 2}']) == [{"n": 1}, {"n": 2}]


def test_eval_error_becomes_an_error_value_for_that_input(fake_opa):
    engine = OpaEngine(url=fake_opa.url, timeout=5)
    engine.load({"p.rego": 'package p\nimport rego.v1\nv := to_number(input.x)\n'}, {})
    ok, bad = engine.evaluate("data.p.v", ['{"x": "1"}', '{"x": "abc"}'])
    assert ok == 1 and isinstance(bad, EngineError)
    (undefined,) = engine.evaluate("data.p.nothing", ["{}"])
    assert isinstance(undefined, EngineError) and "undefined" in str(undefined)


def test_rejected_module_is_a_policy_error_naming_it(fake_opa):
    engine = OpaEngine(url=fake_opa.url, timeout=5)
    with pytest.raises(PolicyError) as info:
        engine.load({"policies/bad.rego": "package bad\nBROKEN {"}, {})
    assert info.value.file == "policies/bad.rego" and info.value.line == 3
    assert "unexpected eof token" in str(info.value)


def test_unauthorized_says_check_the_token(gavel, fake_opa):
    fake_opa.behaviour = "unauthorized"
    result = check(gavel, fake_opa.url)
    assert result.exit_code == 2
    assert "refused listing policies (HTTP 401): check --opa-token" in result.output


def test_garbage_answer_is_an_error(fake_opa):
    engine = OpaEngine(url=fake_opa.url, timeout=5)
    engine.load({"p.rego": "package p\nimport rego.v1\nv := 1\n"}, {})
    fake_opa.behaviour = "garbage"
    with pytest.raises(EngineError, match="not OPA's JSON"):
        engine.evaluate("data.p.v", ["{}"])


def test_unreachable_server_exits_2_within_the_timeout(gavel):
    port = free_port()
    result = check(gavel, f"http://127.0.0.1:{port}")
    assert result.exit_code == 2
    assert f"OPA server http://127.0.0.1:{port} is unreachable" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("options", "message"), [
    ({}, "needs --opa-url"),
    ({"url": "localhost:8181"}, "must look like http://HOST:PORT"),
    ({"url": "http://opa:8181/v1/data"}, "not a path"),
])
def test_bad_options_are_usage_errors(options, message):
    with pytest.raises(UsageError, match=message):
        OpaEngine(**options)


def test_policy_ids_stay_under_the_prefix():
    assert policy_id("examples/policies/high-risk-dpia.yaml#high-risk-dpia-approved.rego") == \
        "gavel/examples/policies/high-risk-dpia.yaml/high-risk-dpia-approved"
    assert policy_id("<gdpr>/../x.rego").startswith("gavel/") and ".." not in policy_id("<gdpr>/../x.rego")


def test_opa_push_command(gavel, fake_opa):
    result = gavel("opa", "push", EXAMPLES, "--opa-url", fake_opa.url)
    assert result.exit_code == 0, result.output
    assert "pushed" in result.output
    assert any(p.endswith("/gavel_eval") for p in fake_opa.policies) and "gavel_sets" in fake_opa.data
    assert not [m for m, *_ in fake_opa.requests if m == "POST"]  # publishing evaluates nothing


# -- a real OPA -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_opa():
    url = os.environ.get("GAVEL_OPA_URL")
    if url:
        yield url
        return
    binary = shutil.which("opa")
    if not binary:
        pytest.skip("no real OPA: set GAVEL_OPA_URL or put an `opa` binary on PATH")
    port = free_port()
    process = subprocess.Popen([binary, "run", "--server", f"--addr=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_healthy(url, process):
    import requests

    for _ in range(100):
        if process.poll() is not None:
            pytest.fail("opa exited at start")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    pytest.fail("opa did not become healthy")


def test_real_opa_gives_the_embedded_findings(gavel, real_opa):
    embedded = gavel("check", EXAMPLES, "-o", "json", "--now", "2026-11-26")
    on_opa = check(gavel, real_opa, "--timeout", "120")  # the deadline of the whole run: generous on a busy CI
    assert on_opa.exit_code == embedded.exit_code, on_opa.output
    assert findings(on_opa.output) == findings(embedded.output)


def test_real_opa_serves_the_bundle(gavel, tmp_path):
    binary = shutil.which("opa")
    if not binary:
        pytest.skip("no `opa` binary on PATH to serve a bundle")
    bundle = tmp_path / "bundle.tar.gz"
    assert gavel("bundle", "build", EXAMPLES, "-o", bundle).exit_code == 0
    port = free_port()
    process = subprocess.Popen([binary, "run", "--server", f"--addr=127.0.0.1:{port}", "--bundle", str(bundle)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process)
        import requests

        card = json.loads(json.dumps(__import__("yaml").safe_load((EXAMPLES / "models" / "support-assistant.yaml").read_text()),
                                     default=str))
        doc = {"kind": "model", "id": card["id"], "source": None, "subject": card,
               "lineage": {"upstream": [], "downstream": [], "tagged_sources": [], "tags": []},
               "privacy": {"budgets": []}, "now": "2026-11-26T00:00:00Z"}
        answer = requests.post(url + "/v1/data/gavel_eval/model", json={"input": doc}, timeout=5).json()
        assert answer["result"]["ai-disclosure"]["deny"]
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- issue 10 item 6: a missing answer is an error, and projects share a server -------------------
def test_an_answer_without_our_verdicts_is_an_error_never_a_pass(gavel, fake_opa):
    fake_opa.behaviour = "foreign"
    result = check(gavel, fake_opa.url)
    report = json.loads(result.output)
    assert result.exit_code == 1
    statuses = {f["status"] for f in report["findings"] if not f["policy"].startswith("gavel-")}
    assert statuses == {"error"}, statuses
    assert "missing from the engine's result" in report["findings"][0]["message"] or any(
        "missing from the engine's result" in f["message"] for f in report["findings"])


PROJECT_CONFIG = "evidence:\n  - {path: models/*.yaml, kind: model}\npolicies:\n  paths: [policies]\nnow: '2026-11-26'\n"


def two_projects(project_factory, tmp_path):
    """P and Q: the same policy id (with different conditions) and the same model id, opposite verdicts."""
    out = []
    for name, owner, op in (("p", "nobody", "not_equals: nobody"), ("q", "team-a", "exists: true")):
        root = tmp_path / name
        (root / "models").mkdir(parents=True)
        (root / "policies").mkdir()
        (root / "gavel.yaml").write_text(PROJECT_CONFIG)
        (root / "models" / "m.yaml").write_text(f"id: m\nname: M\nversion: '1'\nowner: {owner}\nrisk_level: high\nlifecycle_stage: production\n")
        (root / "policies" / "owner.yaml").write_text(
            "id: owner-set\ntitle: Owner is set\nseverity: high\ntarget: model\n"
            f"assert: {{field: subject.owner, {op}}}\nmessage: 'owner of {{{{ id }}}} is {{{{ subject.owner }}}}'\n")
        out.append(root)
    return out


def _shared_server_keeps_projects_apart(gavel, url, tmp_path):
    from engine.check import run_check
    from engine.config import load_config
    from engine.context import build_subjects, inventory_data
    from engine.evaluate import prepare
    from engine.inventory import build_inventory
    from engine.policy import load_policies

    p, q = two_projects(None, tmp_path)
    config = load_config(p, settings={"engine.name": "opa", "engine.opa_url": url, "engine.timeout": 120})
    inv = build_inventory(config, now="2026-11-26T00:00:00Z")
    prepared = prepare(load_policies(config), data={"inventory": inventory_data(inv)}, engine="opa",
                       options=config.engine_options())
    pushed = gavel("opa", "push", q, "--opa-url", url, "--name", "q", "--timeout", "120")  # Q on the same server
    assert pushed.exit_code == 0, pushed.output
    findings = prepared.evaluate(build_subjects(inv, now="2026-11-26T00:00:00Z"))
    assert [(f.policy, f.status, f.message) for f in findings] == [("owner-set", "fail", "owner of m is nobody")]
    embedded = run_check(load_config(p))
    assert [(f.policy, f.status, f.message) for f in embedded.findings] == [("owner-set", "fail", "owner of m is nobody")]
    on_q = gavel("check", q, "--engine", "opa", "--opa-url", url, "-o", "json", "--timeout", "120")
    assert on_q.exit_code == 0 and json.loads(on_q.output)["summary"]["by_status"]["pass"] == 1


def test_two_projects_share_one_server(gavel, fake_opa, tmp_path):
    _shared_server_keeps_projects_apart(gavel, fake_opa.url, tmp_path)


def test_two_projects_share_one_real_opa(gavel, real_opa, tmp_path):
    _shared_server_keeps_projects_apart(gavel, real_opa, tmp_path)


# -- issue 10 item 7: a dying or stalling OPA stops the run promptly ------------------------------
def test_a_restarted_opa_stops_the_run_with_exit_2_not_an_error_per_decision(gavel, fake_opa):
    from engine.config import load_config

    fake_opa.behaviour = "forgot"
    result = check(gavel, fake_opa.url)
    assert result.exit_code == 2, result.output
    assert "is no longer on the server (did OPA restart" in result.output
    posts = [p for m, p, *_ in fake_opa.requests if m == "POST"]
    assert len(posts) == 1, posts  # the first undefined batch stops the run
    assert load_config(EXAMPLES)  # (the project itself is fine)


def test_an_opa_that_dies_mid_run_stops_it_at_the_first_failure(fake_opa):
    from engine.evaluate import prepare
    from engine.policy import load_paths

    policy_set = load_paths([(EXAMPLES / "policies", None)], root=EXAMPLES)
    prepared = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, engine="opa",
                       options={"url": fake_opa.url, "timeout": 5})
    fake_opa.shutdown()
    fake_opa.server_close()
    started = time.monotonic()
    with pytest.raises(EngineError, match="is unreachable"):
        prepared.engine.evaluate("data.gavel_eval.model", ['{"kind": "model"}'] * 500)
    assert time.monotonic() - started < 5


def test_timeout_is_a_deadline_for_the_whole_run(gavel, fake_opa):
    fake_opa.behaviour = "trickle"
    started = time.monotonic()
    result = gavel("check", EXAMPLES, "--engine", "opa", "--opa-url", fake_opa.url, "--timeout", "2", "-o", "json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert "did not finish within --timeout 2s" in result.output
    assert elapsed < 4, elapsed


def test_a_restarted_real_opa_stops_the_run(gavel, real_opa):
    from engine.evaluate import prepare
    from engine.policy import load_paths

    policy_set = load_paths([(EXAMPLES / "policies", None)], root=EXAMPLES)
    prepared = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, engine="opa",
                       options={"url": real_opa, "timeout": 60})
    prepared.engine.remove(prepared.engine.namespace)  # what a restart does to pushed policies
    with pytest.raises(EngineError, match="no longer on the server"):
        prepared.engine.evaluate("data.gavel_eval.model", ['{"kind": "model"}'] * 3)


def test_a_failed_push_leaves_the_server_as_it_was(gavel, fake_opa, tmp_path):
    p, _ = two_projects(None, tmp_path)
    assert gavel("opa", "push", p, "--opa-url", fake_opa.url, "--name", "p").exit_code == 0
    before = (dict(fake_opa.policies), json.loads(json.dumps(fake_opa.data)))
    (p / "policies" / "zz_lib.rego").write_text("package zz\n\n# OPA rejects this module: BROKEN\nx := 1\n")
    (p / "models" / "m2.yaml").write_text((p / "models" / "m.yaml").read_text().replace("id: m", "id: m2"))
    result = gavel("opa", "push", p, "--opa-url", fake_opa.url, "--name", "p")
    assert result.exit_code == 2 and "zz_lib.rego" in result.output, result.output
    assert (fake_opa.policies, fake_opa.data) == before  # all or nothing: the pointer and the set untouched


def test_a_new_push_replaces_the_old_set_behind_one_pointer(gavel, fake_opa, tmp_path):
    p, _ = two_projects(None, tmp_path)
    assert gavel("opa", "push", p, "--opa-url", fake_opa.url, "--name", "p").exit_code == 0
    old = {k for k in fake_opa.policies if k != "gavel/projects/p"}
    (p / "models" / "m2.yaml").write_text((p / "models" / "m.yaml").read_text().replace("id: m", "id: m2"))
    result = gavel("opa", "push", p, "--opa-url", fake_opa.url, "--name", "p")
    assert result.exit_code == 0 and "replacing" in result.output, result.output
    new = {k for k in fake_opa.policies if k != "gavel/projects/p"}
    assert old.isdisjoint(new) and len(fake_opa.data["gavel_sets"]) == 1  # the old set is gone
    pointer = fake_opa.policies["gavel/projects/p"]
    assert "package gavel_projects.p" in pointer and next(iter(fake_opa.data["gavel_sets"])) in pointer
