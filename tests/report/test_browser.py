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


def _open(browser, path, *, width: int = 1280, height: int = 1000, hash: str = ""):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri() + hash)
    page.wait_for_load_state("load")
    page.problems, page.requests = problems, requests
    return page


@pytest.fixture
def report_file(tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render(make_report(), "html"), encoding="utf-8")
    return path


@pytest.fixture
def page(browser, report_file):
    page = _open(browser, report_file)
    yield page
    page.context.close()


def visible(page) -> list[tuple[str, str, str]]:
    return page.eval_on_selector_all(
        "#findings tbody tr.finding",
        "rows => rows.map(r => [r.dataset.status, r.dataset.severity, r.dataset.subject])")


def show_all(page):
    page.check("input[name=status][value=pass]")
    page.check("input[name=status][value=skip]")


def test_loads_offline_without_errors_failures_first(page, tmp_path):
    assert page.problems == []
    assert all(url.startswith("file:") for url in page.requests), page.requests
    assert page.inner_text("header h1") == "Gavel: Gate failed"
    # Passes and skips are counted but collapsed until asked for; the worst come first.
    assert page.inner_text("#shown") == "Showing 7 of 10 findings (pass and skip hidden: tick them to show)"
    rows = visible(page)
    assert [s for s, _, _ in rows][:1] == ["error"] and {s for s, _, _ in rows} == {"error", "fail", "warn", "waived"}
    fails = [sev for s, sev, _ in rows if s == "fail"]
    assert fails == ["critical", "high", "high", "low"]
    shot = tmp_path / "shots" / "report.png"
    shot.parent.mkdir()
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_status_filter(page):
    show_all(page)
    assert page.inner_text("#shown") == "Showing 10 of 10 findings"
    for status in ("pass", "skip", "warn", "waived", "error"):
        page.uncheck(f"input[name=status][value={status}]")
    rows = visible(page)
    assert rows and {s for s, _, _ in rows} == {"fail"}
    assert page.inner_text("#shown").startswith(f"Showing {len(rows)} of 10 findings")


def test_severity_filter(page):
    show_all(page)
    for sev in ("high", "medium", "low", "info"):
        page.uncheck(f"input[name=severity][value={sev}]")
    assert {sev for _, sev, _ in visible(page)} == {"critical"}


def test_subject_filter(page):
    show_all(page)
    page.fill("#f-subject", "model/chatbot")
    rows = visible(page)
    assert len(rows) == 3 and {subj for _, _, subj in rows} == {"model/chatbot"}


def test_framework_filter_and_coverage_click(page):
    show_all(page)
    page.select_option("#f-framework", "GDPR")
    assert {subj for _, _, subj in visible(page)} == {"model/chatbot", "model/scorer", "lineage/lineage"}
    page.select_option("#f-framework", "EU AI Act Art. 14")
    assert sorted(subj for _, _, subj in visible(page)) == ["model/chatbot", "model/scorer"]
    page.click('tr.control[data-control="NIST AI RMF MANAGE 4.1"]')
    assert page.input_value("#f-framework") == "NIST AI RMF MANAGE 4.1"
    assert sorted(s for s, _, _ in visible(page)) == ["waived", "warn"]
    page.click("#f-reset")
    assert len(visible(page)) == 7


def test_expand_a_finding_shows_evidence_and_the_lineage_path(page):
    row = page.locator('tr.finding[data-subject="lineage/lineage"]')
    row.locator("button.expand").click()
    detail = page.locator("tr.detail")
    svg = detail.locator("svg")
    assert svg.is_visible()
    assert svg.locator("rect").count() == 4
    assert "staging.customers" in detail.inner_text()
    row.locator("button.expand").click()  # and closes again
    assert page.locator("tr.detail").count() == 0


def test_sorting_and_the_filter_state_in_the_hash(browser, page, report_file):
    page.click("button.sort[data-sort=subject]")
    subjects = [subj for _, _, subj in visible(page)]
    assert subjects == sorted(subjects)
    page.click("button.sort[data-sort=subject]")
    assert [subj for _, _, subj in visible(page)] == sorted(subjects, reverse=True)
    page.uncheck("input[name=status][value=warn]")
    page.fill("#f-text", "owner")
    state = page.evaluate("location.hash")
    assert "sort=-subject" in state and "q=owner" in state and "warn" not in state.split("status=")[1].split("&")[0]
    again = _open(browser, report_file, hash=state)  # a link (or a reload) shows the same view
    assert visible(again) == visible(page) and again.input_value("#f-text") == "owner"
    assert not again.is_checked("input[name=status][value=warn]")
    again.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_no_horizontal_scroll(browser, tmp_path, width):
    """At a desktop width and on a phone (390 px), with a long id, a long message and an open
    lineage path, the page is never wider than the screen."""
    from dataclasses import replace

    report = make_report()
    first = report.findings[0]
    report.findings.append(replace(first, status="fail", message="x" * 400,
                                   subject=replace(first.subject, id="a-very-long-model-identifier-" * 4)))
    path = tmp_path / "wide.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    page = _open(browser, path, width=width, height=800)
    show_all(page)
    page.locator('tr.finding[data-subject="lineage/lineage"] button.expand').click()
    assert page.locator("tr.detail svg").is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow}px of horizontal scroll at {width}px"
    # Each finding is readable: its message is not squeezed to a letter per line.
    box = page.locator("tr.finding button.expand").first.bounding_box()
    assert box["width"] > (width * 0.7 if width < 700 else 300)
    assert page.problems == []
    page.context.close()


def test_pages_of_a_large_report(browser, tmp_path):
    from dataclasses import replace

    report = make_report()
    template = next(f for f in report.findings if f.status == "fail")
    report.findings.extend(replace(template, subject=replace(template.subject, id=f"m{i:04d}"), message=f"problem {i}")
                           for i in range(450))
    path = tmp_path / "big.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    page = _open(browser, path)
    assert len(visible(page)) == 100  # one page rendered, not 457 rows
    assert "page 1 of 5" in page.inner_text("#page")
    page.click("#next")
    assert "page 2 of 5" in page.inner_text("#page") and "page=2" in page.evaluate("location.hash")
    page.fill("#f-subject", "m0449")
    assert [subj for _, _, subj in visible(page)] == [f"{template.subject.kind}/m0449"]
    page.context.close()
