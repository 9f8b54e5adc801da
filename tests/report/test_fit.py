"""PR comments and annotations fit where they go (issue 13.4): Markdown never passes GitHub's
65,536-character comment limit, worst first; annotations start with the gate verdict."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.findings import SEVERITY_RANK
from engine.report import render
from engine.report.markdown import LIMIT, size

from .conftest import make_report

SEVERITIES = list(SEVERITY_RANK)


def _big_report(n: int, *, message_chars: int = 200, stale: int = 0):
    report = make_report()
    template = next(f for f in report.findings if f.status == "fail")
    statuses = ["fail", "warn", "error"]
    extra = [replace(template, subject=replace(template.subject, id=f"model-{i:05d}"), status=statuses[i % 3],
                     severity=SEVERITIES[i % 5], message=f"finding {i} 🟦 " + "x" * message_chars, policy=f"p{i % 7}")
             for i in range(n)]
    report.findings.extend(extra)
    report.extra["waivers"]["stale"] = [{"key": f"W-{i}", "policy": "old-*", "subject": f"s{i}", "file": "waivers.yaml",
                                         "line": i, "owner": "a@b.example", "expires": "2027-01-01"}
                                        for i in range(stale)]
    return report


def test_markdown_fits_a_github_comment_with_1500_stale_waivers_and_5000_failures():
    md = render(_big_report(5000, stale=1500), "markdown", max_findings=100_000,
                full_report="the gavel-reports artifact of this run")
    assert size(md) <= LIMIT
    assert "more failures, errors and warnings not shown here: see the gavel-reports artifact of this run" in md
    assert "more stale waivers" in md or "Stale waivers" not in md
    assert md.rstrip().endswith("</sub>")  # the footer survives


def test_markdown_lists_the_worst_first_and_shortens_long_messages():
    md = render(_big_report(60, message_chars=5000), "markdown", max_findings=100_000)
    assert size(md) <= LIMIT
    assert "x" * 600 not in md and "…" in md
    body = md[md.index("### Failures by subject"):]
    first_error, first_fail, first_warn = body.index("| ⛔ error |"), body.index("| ❌ fail |"), body.index("| ⚠️ warn |")
    assert first_error < first_fail < first_warn
    assert body.index("| ❌ fail | critical") < body.index("| ❌ fail | low")


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 400), chars=st.integers(0, 3000), stale=st.integers(0, 400),
       limit=st.integers(4000, LIMIT))
def test_markdown_never_exceeds_its_limit(n, chars, stale, limit):
    md = render(_big_report(n, message_chars=chars, stale=stale), "markdown", max_chars=limit, max_findings=10**6)
    assert size(md) <= limit
    assert md.startswith("## ")  # the verdict is always there


def test_annotations_verdict_first_then_by_severity():
    report = _big_report(200)
    lines = render(report, "github").splitlines()
    assert lines[0].startswith("::error title=Gavel gate failed::")
    assert len(lines) == 1 + 50 + 1 and "more findings not annotated" in lines[-1]
    body = lines[1:-1]
    assert all(" could not judge::" in line for line in body[:10])  # errors (Gavel could not judge) first
    fails = [line for line in body if "could not judge" not in line and " warning::" not in line]
    sev = [line.split("(", 1)[1].split(")", 1)[0] for line in fails]
    assert sev == sorted(sev, key=lambda s: -SEVERITY_RANK[s])


def test_check_writes_the_job_summary_when_github_asks(gavel, tmp_path):
    from tests.conftest import EXAMPLES, NOW

    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "bank/governance", "GITHUB_RUN_ID": "42"}
    result = gavel("check", EXAMPLES, "--now", NOW, "-o", f"json={tmp_path / 'r.json'}", "-o", "github", env=env)
    assert result.exit_code == 1
    text = summary.read_text()
    assert text.startswith("earlier step\n## ❌ Gavel: gate failed")  # appended, never replacing
    assert size(text) <= LIMIT + len("earlier step\n")
    without = gavel("check", EXAMPLES, "--now", NOW, "-o", f"json={tmp_path / 'r.json'}", env={"GITHUB_STEP_SUMMARY": ""})
    assert without.exit_code == 1


def test_markdown_points_at_the_full_report_of_the_ci_run():
    from engine.cli.options import full_report_pointer

    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "bank/gov", "GITHUB_RUN_ID": "7"}
    assert full_report_pointer(["text", "html=out/r.html", "sarif=out/g.sarif"], env) == \
        "out/r.html or out/g.sarif in the artifacts of https://github.com/bank/gov/actions/runs/7"
    assert full_report_pointer(["text"], {}) is None
    md = render(_big_report(3000), "markdown", full_report=full_report_pointer(["json=out/r.json"], env))
    assert "see out/r.json in the artifacts of https://github.com/bank/gov/actions/runs/7" in md
