"""Every renderer on one report: golden bytes, determinism, and each format's own rules."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from engine.report import render, renderers

from .conftest import make_report

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "report"
GOLDEN = {"json": "report.json", "junit": "report.junit.xml", "sarif": "report.sarif", "github": "report.github.txt",
          "markdown": "report.md", "html": "report.html", "text": "report.txt"}


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_golden(report, fmt):
    """Same report, same bytes as the committed golden file (GAVEL_UPDATE_GOLDEN=1 rewrites them)."""
    text = render(report, fmt)
    path = FIXTURES / GOLDEN[fmt]
    if os.environ.get("GAVEL_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github", "markdown", "html"])
def test_deterministic_and_pure(fmt):
    a, b = make_report(), make_report()
    before = a.to_json()
    assert render(a, fmt) == render(b, fmt)
    assert a.to_json() == before  # rendering never changes the report


def test_every_registered_format_renders(report):
    for fmt in renderers.names():
        assert render(report, fmt).endswith("\n")


# --- SARIF ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_sarif_validates_against_official_schema(report, sarif_validator):
    log = json.loads(render(report, "sarif"))
    errors = list(sarif_validator.iter_errors(log))
    assert errors == []


def test_sarif_schema_catches_a_broken_log(report, sarif_validator):
    """The validation is real: a wrong level is rejected."""
    log = json.loads(render(report, "sarif"))
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert list(sarif_validator.iter_errors(log))


def test_sarif_rules_levels_and_locations(report):
    run = json.loads(render(report, "sarif"))["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"human-oversight", "dpia-approved", "monitoring", "card-owner", "pii-reach", "gavel-evidence"} <= set(rules)
    assert rules["dpia-approved"]["properties"]["security-severity"] == "9.5"
    assert rules["human-oversight"]["properties"]["security-severity"] == "8.0"
    assert rules["monitoring"]["properties"]["security-severity"] == "5.5"
    assert rules["card-owner"]["properties"]["security-severity"] == "3.0"
    assert "EU AI Act Art. 14" in rules["human-oversight"]["properties"]["tags"]
    assert "Remediation: Describe who oversees the model." in rules["human-oversight"]["help"]["text"]
    by = {(r["ruleId"], r["properties"]["subject"]["id"]): r for r in run["results"]}
    assert by[("dpia-approved", "chatbot")]["level"] == "error"
    assert by[("card-owner", "raw.customers")]["level"] == "note"  # low: never "error" for everything
    assert by[("monitoring", "chatbot")]["level"] == "warning"
    assert by[("gavel-evidence", "broken")]["level"] == "error"
    loc = by[("human-oversight", "scorer")]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "models/scorer.yaml" and loc["region"]["startLine"] == 3
    assert "physicalLocation" not in by[("pii-reach", "lineage")]["locations"][0]  # no file: logical location
    waived = by[("monitoring", "scorer")]
    assert waived["suppressions"][0]["status"] == "accepted" and "Batch" in waived["suppressions"][0]["justification"]
    assert ("human-oversight", "chatbot") not in by  # passing findings are left out by default
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]


# --- JUnit ------------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def check_junit(text: str) -> ET.Element:
    """The structure of the common JUnit XML schema (Ant/Jenkins junit-10.xsd) and consistent counts."""
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites"
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    seen = set()
    for suite in root:
        assert suite.tag == "testsuite", suite.tag
        assert suite.get("name") and suite.get("tests") is not None
        assert _TIMESTAMP.match(suite.get("timestamp", "2000-01-01T00:00:00"))
        float(suite.get("time", "0"))
        counts = dict(tests=0, failures=0, errors=0, skipped=0)
        for case in suite:
            assert case.tag in ("testcase", "properties", "system-out", "system-err"), case.tag
            if case.tag != "testcase":
                continue
            assert case.get("name") and case.get("classname")
            float(case.get("time", "0"))
            key = (case.get("classname"), case.get("name"))
            assert key not in seen, f"duplicate test case {key}"
            seen.add(key)
            counts["tests"] += 1
            outcome = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
            assert len(outcome) <= 1, outcome
            for child in case:
                assert child.tag in ("failure", "error", "skipped", "system-out", "system-err"), child.tag
                if child.tag in ("failure", "error"):
                    assert child.get("message") is not None and child.get("type")
            if outcome:
                counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[outcome[0]]] += 1
        for key, value in counts.items():
            assert int(suite.get(key, 0)) == value, (suite.get("name"), key)
            totals[key] += value
    for key, value in totals.items():
        if key != "skipped":  # Jenkins' junit-10.xsd has no root "skipped" attribute
            assert int(root.get(key)) == value
    assert "skipped" not in root.attrib
    return root


def test_junit_structure(report):
    root = check_junit(render(report, "junit"))
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    failure = cases[("gavel.dpia-approved", "model/chatbot")].find("failure")
    assert failure.get("type") == "critical"
    assert "Approve the DPIA." in failure.text and "severity: critical" in failure.text
    assert cases[("gavel.gavel-evidence", "model/broken")].find("error") is not None
    assert "RISK-1" in cases[("gavel.monitoring", "model/scorer")].find("skipped").get("message")
    assert "\x07" not in render(report, "junit")  # illegal XML characters are replaced
    evidence = cases[("gavel.human-oversight", "model/scorer")].find("failure").text
    assert '"expected": true' in evidence


def test_junit_checker_rejects_bad_counts(report):
    text = render(report, "junit").replace('failures="1"', 'failures="5"', 1)
    with pytest.raises(AssertionError):
        check_junit(text)


def test_junit_one_case_per_finding_counts_equal_the_json_report(report):
    from dataclasses import replace

    first = next(f for f in report.findings if f.policy == "human-oversight" and f.subject.id == "scorer")
    report.findings += [replace(first, message="a second reason"), replace(first, message="a second reason")]
    text = render(report, "junit")
    root = check_junit(text)
    names = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(names) == len(set(names))  # unique and stable
    doc = json.loads(render(report, "json"))
    by_status = {k: sum(1 for f in doc["findings"] if f["status"] == k) for k in ("fail", "error", "waived", "skip")}
    assert int(root.get("tests")) == len(doc["findings"])
    assert int(root.get("failures")) == by_status["fail"] and int(root.get("errors")) == by_status["error"]
    assert sum(int(s.get("skipped")) for s in root) == by_status["waived"] + by_status["skip"]
    scorer = [c.get("name") for c in root.iter("testcase") if c.get("classname") == "gavel.human-oversight"
              and c.get("name").startswith("model/scorer")]
    assert scorer == ["model/scorer: a second reason", "model/scorer: a second reason #2",
                      "model/scorer: scorer has no human oversight <script>alert(1)</script>"]


def test_junit_validates_against_jenkins_xsd(report):
    xmlschema = pytest.importorskip("xmlschema", reason="xmlschema (a test extra) is not installed")
    schema = xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd"))
    assert list(schema.iter_errors(render(report, "junit"))) == []
    broken = render(report, "junit").replace('<testsuites name="gavel"', '<testsuites skipped="1" name="gavel"')
    assert list(schema.iter_errors(broken))  # the validation is real


# --- GitHub -----------------------------------------------------------------------------------------

def test_github_annotations(report):
    lines = render(report, "github").splitlines()
    dpia = next(line for line in lines if "dpia-approved" in line)
    assert dpia.startswith("::error file=models/chatbot.yaml,line=1,title=dpia-approved (critical)::")
    assert "%0Asecond line 100%25" in dpia  # data escaping
    assert "\n" not in dpia
    low = next(line for line in lines if "card-owner" in line)
    assert low.startswith("::notice ")
    warn = next(line for line in lines if "nobody is alerted" in line)
    assert warn.startswith("::warning ")
    assert any(line.startswith("::notice ") and "RISK-1" in line for line in lines)
    assert lines[0].startswith("::error title=Gavel gate failed::")  # GitHub shows the first 10 per step
    assert not any("human-oversight" in line and "chatbot" in line for line in lines)  # passes are silent


def test_github_property_escaping():
    from engine.report.github import _prop

    assert _prop("a,b:c%\n") == "a%2Cb%3Ac%25%0A"


# --- Markdown ---------------------------------------------------------------------------------------

def test_markdown_sections(report):
    md = render(report, "markdown")
    assert md.startswith("## ❌ Gavel: gate failed (fail-on `medium`)")
    assert "| 2 | 4 | 1 | 1 | 1 | 1 |" in md  # pass fail warn error waived skip
    assert "<details><summary><b>model chatbot</b>: 2 fail, 1 warn</summary>" not in md
    assert "<details><summary><b>model chatbot</b>: 1 fail, 1 warn</summary>" in md
    assert "### 🟦 Waived (1)" in md and "RISK-1" in md
    assert "### Stale waivers" in md and "RISK-9" in md
    assert "&lt;script&gt;" in md and "<script>" not in md
    assert "Batch \\| weekly" in md  # pipes cannot break the table
    # the error group comes first
    assert md.index("model broken") < md.index("model chatbot")


def test_markdown_bounded_for_pr_comments():
    md = render(make_report(), "markdown", max_findings=2)
    assert "more failures, errors and warnings not shown" in md
    assert md.count("<details>") <= 2


# --- HTML -------------------------------------------------------------------------------------------

def test_html_self_contained_and_escaped(report):
    page = render(report, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    assert "<script>alert(1)</script>" not in page and "alert(1)" in page
    data = re.search(r'<script type="application/json" id="gavel-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in data  # nothing in the data can end its script element
    assert len(json.loads(data)["findings"]) == len(report.findings)  # every finding, once


def test_html_coverage_matrix(report):
    page = render(report, "html")
    section = page[page.index('id="coverage"'):page.index('id="findings"')]
    for name in ("EU AI Act", "GDPR", "NIST AI RMF", "ISO/IEC 42001"):
        assert f'data-control="{name}"' in section
    row = re.search(r'<tr class="control" data-control="EU AI Act Art. 14">(.*?)</tr>', section).group(1)
    assert "failed" in row and "human-oversight" in row
    row = re.search(r'<tr class="control" data-control="NIST AI RMF MANAGE 4.1">(.*?)</tr>', section).group(1)
    assert "warned" in row


def test_html_carries_the_lineage_path(report):
    from engine.report.html import _data

    rows = _data(report)["findings"]
    paths = [row[7] for row in rows if len(row) > 7 and row[7]]
    assert paths == [[["raw.customers.email", "staging.customers", "features.churn", "model:chatbot"]]]


def test_framework_split():
    from engine.report.html import split_framework

    assert split_framework("EU AI Act Art. 14") == ("EU AI Act", "Art. 14")
    assert split_framework("NIST AI RMF MANAGE 4.1") == ("NIST AI RMF", "MANAGE 4.1")
    assert split_framework("ISO/IEC 42001 A.6.2.7") == ("ISO/IEC 42001", "A.6.2.7")
    assert split_framework("SOC 2 CC6.1") == ("SOC", "2 CC6.1")
    assert split_framework("HIPAA Section 164.312") == ("HIPAA", "Section 164.312")


def test_sarif_without_results_is_valid(report, sarif_validator):
    from dataclasses import replace

    clean = replace(report, findings=[f for f in report.findings if f.status in ("pass", "skip")])
    log = json.loads(render(clean, "sarif"))
    assert log["runs"][0]["results"] == [] and list(sarif_validator.iter_errors(log)) == []


def test_html_draws_paths_of_tagged_sources():
    from engine.report.html import lineage_paths

    evidence = {"tagged_sources": [{"tag": "pii", "source": "a", "path": ["a", "b", "model:m"]},
                                   {"tag": "pii", "source": "c", "path": ["c", "model:m"]}],
                "path": ["a", "b", "model:m"]}
    assert lineage_paths(evidence) == [["a", "b", "model:m"], ["c", "model:m"]]  # the same path once
    assert lineage_paths({"path": "a -> b"}) == [] and lineage_paths(None) == []


def _plain_json(report) -> str:
    """The layout ``Report.to_json`` promises, written the slow, obvious way."""
    lines = ["{"]
    items = list(report.to_dict().items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if key == "findings" and value:
            body = "[\n" + ",\n".join("    " + json.dumps(f, ensure_ascii=False, separators=(", ", ": "))
                                      for f in value) + "\n  ]"
        else:
            body = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        lines.append(f"  {json.dumps(key)}: {body}{comma}")
    return "\n".join(lines) + "\n}\n"


def test_json_report_is_the_plain_layout_whatever_the_findings_share():
    """``to_json`` reuses encoded parts by identity (a policy's fields, a shared evidence object, a
    subject): findings that share some objects and not others, a policy id seen with two titles,
    waivers, odd text and no findings at all still write what plain ``json.dumps`` would."""
    from dataclasses import replace

    from engine.findings import Finding, InputDigest, Source, SubjectRef

    report = make_report()
    evidence = {"failed": [{"field": "subject.owner", "actual": None}], "note": "é \u2028 \x1b"}
    subject = SubjectRef(kind="model", id="m-ü", source=Source(file="models/m.yaml", line=3))
    frameworks = ["gdpr"]
    shared = [Finding("p", "Title", "high", "fail", subject, "msg", evidence, frameworks, "fix it"),
              Finding("p", "Title", "high", "fail", subject, "msg 2", evidence, frameworks, "fix it"),
              Finding("p", "Other title", "high", "fail", subject, "msg", {"failed": []}, frameworks, "fix it"),
              Finding("p", "Title", "high", "fail", SubjectRef("model", "n", None), "msg", evidence, ["gdpr", "x"],
                      "fix it"),
              Finding("p", "Title", "low", "waived", subject, "", None, frameworks, "",
                      waiver={"owner": "a", "expires": "2027-01-01", "reason": "ok \"quoted\""}),
              Finding("q", "Title", "high", "pass", subject)]
    report = replace(report, findings=[*report.findings, *shared],
                     inputs=[*report.inputs, InputDigest(path="models/ü.yaml", kind="model", sha256="0" * 64)])
    assert report.to_json() == _plain_json(report)
    empty = replace(report, findings=[], inputs=[])
    assert empty.to_json() == _plain_json(empty)
