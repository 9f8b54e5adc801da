"""The HTML report in a real headless Chromium: it loads offline, without console errors, and its
filters work. Debian's ``chromium`` (installed by .ci/run) driven by Playwright for Python."""

from __future__ import annotations

import os
import shutil

import pytest

from engine.report import render

from .conftest import make_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium;"
                                                          " .ci/run installs it)")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a test extra) is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render(make_report(), "html"), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.problems, page.requests = problems, requests
    yield page
    context.close()


def visible(page) -> list[tuple[str, str, str]]:
    return page.eval_on_selector_all(
        "#findings tbody tr.finding:not([hidden])",
        "rows => rows.map(r => [r.dataset.status, r.dataset.severity, r.dataset.subject])")


def test_loads_offline_without_errors(page, tmp_path):
    assert page.problems == []
    assert all(url.startswith("file:") for url in page.requests), page.requests
    assert page.inner_text("header h1") == "Gavel: Gate failed"
    assert page.inner_text("#shown") == "Showing 10 of 10 findings"
    shot = tmp_path / "shots" / "report.png"
    shot.parent.mkdir()
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_status_filter(page):
    for status in ("pass", "skip", "warn", "waived", "error"):
        page.uncheck(f"input[name=status][value={status}]")
    rows = visible(page)
    assert rows and {s for s, _, _ in rows} == {"fail"}
    assert page.inner_text("#shown") == f"Showing {len(rows)} of 10 findings"


def test_severity_filter(page):
    for sev in ("high", "medium", "low", "info"):
        page.uncheck(f"input[name=severity][value={sev}]")
    assert {sev for _, sev, _ in visible(page)} == {"critical"}


def test_subject_filter(page):
    page.fill("#f-subject", "model/chatbot")
    rows = visible(page)
    assert len(rows) == 3 and {subj for _, _, subj in rows} == {"model/chatbot"}


def test_framework_filter_and_coverage_click(page):
    page.select_option("#f-framework", "GDPR")
    assert {subj for _, _, subj in visible(page)} == {"model/chatbot", "model/scorer", "lineage/lineage"}
    page.select_option("#f-framework", "EU AI Act Art. 14")
    assert sorted(subj for _, _, subj in visible(page)) == ["model/chatbot", "model/scorer"]
    page.click('tr.control[data-control="NIST AI RMF MANAGE 4.1"]')
    assert page.input_value("#f-framework") == "NIST AI RMF MANAGE 4.1"
    assert sorted(s for s, _, _ in visible(page)) == ["waived", "warn"]
    page.click("#f-reset")
    assert len(visible(page)) == 10


def test_evidence_and_lineage_picture(page):
    row = page.locator('tr.finding[data-subject="lineage/lineage"]')
    row.locator("summary").click()
    svg = row.locator("svg")
    assert svg.is_visible()
    assert svg.locator("rect").count() == 4
    assert "staging.customers" in row.inner_text()
