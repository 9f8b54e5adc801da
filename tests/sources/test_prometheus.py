"""``-o prometheus`` and ``--pushgateway``: compliance status as Prometheus metrics, read back with
``prometheus_client``'s own parser (and, where Debian's ``prometheus-pushgateway`` is installed, pushed
to a real Pushgateway and scraped from it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections import Counter

import pytest

from tests.conftest import EXAMPLES, NOW, free_port

parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client is in the test extras")


def samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in parser.text_string_to_metric_families(text):
        out.setdefault(family.name, []).extend(family.samples)
    return out


def test_metrics_agree_with_the_json_report(gavel, tmp_path):
    result = gavel("check", EXAMPLES, "--now", NOW, "-o", f"json={tmp_path / 'r.json'}", "-o", "prometheus")
    report = json.loads((tmp_path / "r.json").read_text())
    metrics = samples(result.stdout)
    # findings: the metric's counts are the report's, counted independently here
    expected = Counter((f["status"], f["severity"], f["policy"], f["subject"]["kind"]) for f in report["findings"])
    got = {(s.labels["status"], s.labels["severity"], s.labels["policy"], s.labels["kind"]): s.value
           for s in metrics["gavel_findings"]}
    assert got == dict(expected)
    assert metrics["gavel_gate_passed"][0].value == (1 if report["gate"]["passed"] else 0) == 0
    kinds = Counter(kind for kind, _ in {(f["subject"]["kind"], f["subject"]["id"]) for f in report["findings"]})
    assert {s.labels["kind"]: s.value for s in metrics["gavel_subjects"]} == dict(kinds)
    # budgets: one series per declared budget, remaining + spent = budget under basic composition
    remaining = {s.labels["dataset"]: s.value for s in metrics["gavel_privacy_epsilon_remaining"]}
    budget = {s.labels["dataset"]: s.value for s in metrics["gavel_privacy_epsilon_budget"]}
    assert set(remaining) == {f["subject"]["id"] for f in report["findings"] if f["subject"]["kind"] == "budget"}
    facts = report["extra"]["budgets"]
    for dataset, value in remaining.items():
        assert value == pytest.approx(facts[dataset]["remaining"]["epsilon"])
        assert budget[dataset] == facts[dataset]["epsilon_budget"]
    exceeded = {s.labels["dataset"] for s in metrics["gavel_privacy_budget_exceeded"] if s.value == 1}
    failing = {f["subject"]["id"] for f in report["findings"]
               if f["policy"] == "privacy-budget-exceeded" and f["status"] == "fail"}
    assert exceeded == failing and exceeded
    # evidence age: days from a model card's last_review to now
    ages = {(s.labels["id"], s.labels["field"]): s.value for s in metrics["gavel_evidence_age_days"]}
    assert ages and all(v >= 0 for v in ages.values())
    assert metrics["gavel_run_timestamp_seconds"][0].value == 1795651200  # 2026-11-26T00:00:00Z
    assert metrics["gavel_run_duration_seconds"][0].value > 0


def test_evidence_age_is_counted_in_calendar_days(gavel, project):
    from tests.conftest import model_card

    root = project({"models/m.yaml": model_card("m", extra="last_review: 2026-11-16\n")})
    result = gavel("check", root, "--pack", "model-card", "--now", "2026-11-26T18:30:00Z", "-o", "prometheus")
    ages = {s.labels["id"]: s.value for s in samples(result.stdout)["gavel_evidence_age_days"]}
    assert ages == {"m": 10}


def test_label_values_are_escaped_so_a_card_cannot_forge_a_line():
    from engine.report.prometheus import render
    from tests.report.conftest import make_report

    report = make_report()
    report.findings[0].policy = 'evil"} 1\ngavel_gate_passed 1\n#'
    text = render(report)
    metrics = samples(text)
    assert len(metrics["gavel_gate_passed"]) == 1 and metrics["gavel_gate_passed"][0].value == 0
    assert any(s.labels["policy"] == report.findings[0].policy for s in metrics["gavel_findings"])


def test_same_inputs_same_bytes_but_the_duration(gavel):
    def body():
        out = gavel("check", EXAMPLES, "--now", NOW, "-o", "prometheus").stdout
        return [line for line in out.splitlines() if not line.startswith("gavel_run_duration_seconds")]

    assert body() == body()


def test_unreachable_pushgateway_is_exit_2_naming_it(gavel):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    result = gavel("check", EXAMPLES, "--now", NOW, "--pushgateway", url, "-o", "json=-")
    assert result.exit_code == 2
    assert url in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def pushgateway(tmp_path):
    binary = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if not binary:
        pytest.skip("no Prometheus Pushgateway here (Debian package prometheus-pushgateway; .ci/run installs it)")
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the Pushgateway did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pushgateway_receives_the_metrics(gavel, pushgateway):
    result = gavel("check", EXAMPLES, "--now", NOW, "--pushgateway", pushgateway, "-o", "prometheus")
    assert result.exit_code == 1, result.stderr
    scraped = samples(urllib.request.urlopen(pushgateway + "/metrics", timeout=5).read().decode())
    gate = [s for s in scraped["gavel_gate_passed"] if s.labels.get("job") == "gavel"]
    assert [s.value for s in gate] == [0]
    local = {tuple(sorted(s.labels.items())): s.value for s in samples(result.stdout)["gavel_findings"]}
    pushed = {tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("job", "instance"))): s.value
              for s in scraped["gavel_findings"] if s.labels.get("job") == "gavel"}
    assert pushed == local


def test_grafana_dashboard_queries_only_metrics_gavel_writes():
    import re

    from engine.report.prometheus import _HELP

    dashboard = json.loads((EXAMPLES / "grafana" / "gavel-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    used = {name for e in exprs for name in re.findall(r"\bgavel_[a-z_]+", e)}
    assert used and used <= set(_HELP), used - set(_HELP)
    labels = {label for e in exprs for label in re.findall(r"by \(([^)]*)\)", e)}
    known = {"status", "severity", "policy", "kind", "dataset", "id", "field"}
    assert {x.strip() for group in labels for x in group.split(",")} <= known
