"""Ready-made findings (``findings.bin``): a subject whose every decision is reused gets its findings
from the last run (counts and JSON lines), built into ``Finding`` objects only when read. Change one
ingredient at a time: exactly the subjects it touches are judged anew, and every output format of
the cached run is the output of an uncached one."""

from __future__ import annotations

import hashlib
import hmac
import json
import marshal
import shutil
from pathlib import Path

import pytest

from engine.check import run_check
from engine.config import load_config
from engine.decisions import READY_FILE
from engine.report import render, renderers
from tests.core.test_decisions import DATASETS, MODELS, NOW, repo  # noqa: F401 - the fixture

SUBJECTS = len(MODELS) + len(DATASETS)
ROOT = Path(__file__).resolve().parents[2]


def outputs(root: Path, *, now: str = NOW, cache: bool = True, only: list[str] = (), shard=None,
            **settings) -> tuple[dict[str, str], int]:
    """Every output format of one run (text plain and verbose), and of how many subjects the
    findings were ready-made."""
    config = load_config(root, settings={"cache.enabled": cache, "history.enabled": False, **settings})
    stats: dict = {}
    report = run_check(config, now=now, only=list(only), shard=shard, stats=stats)
    rendered = {fmt: render(report, fmt) for fmt in renderers.names()}
    rendered["text -v"] = render(report, "text", verbose=True)
    rendered["summary"] = json.dumps([report.summary.model_dump(), report.gate.model_dump(), len(report.findings)])
    return rendered, stats["decisions"]["ready"]


def same_as_uncached(root: Path, ready: int, **options) -> dict[str, str]:
    """Run with the cache (expecting ``ready`` ready-made subjects), then without: equal outputs."""
    cached, made = outputs(root, **options)
    assert made == ready
    fresh, _ = outputs(root, cache=False, **options)
    for fmt, text in fresh.items():
        assert cached[fmt] == text, f"{fmt} differs from an uncached run"
    return cached


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_each_ingredient_makes_exactly_its_subjects_anew(repo):  # noqa: F811 - the imported fixture
    same_as_uncached(repo, 0)
    same_as_uncached(repo, SUBJECTS)  # nothing changed: every subject ready-made

    edit(repo / "models/m2.yaml", "risk_level: minimal", "risk_level: high")  # a card field
    out = same_as_uncached(repo, SUBJECTS - 1)
    assert "m2 is high risk" in out["json"]
    same_as_uncached(repo, SUBJECTS)

    # a dataset a policy looks up: every model (lookup-basis reads the datasets), and that dataset
    edit(repo / "datasets/ds1.yaml", "consent", "none")
    out = same_as_uncached(repo, len(DATASETS) - 1)
    assert "m1 trains on ds1, which has no legal basis" in out["json"]

    edit(repo / "gavel.yaml", "minimum: 1", "minimum: 2")  # a parameter
    out = same_as_uncached(repo, len(DATASETS))
    assert "m3 reports too few metrics" in out["json"]

    edit(repo / "policies/card.yaml", "[minimal, limited]", "[minimal, limited, high]")  # a policy's text
    same_as_uncached(repo, len(DATASETS))

    same_as_uncached(repo, len(DATASETS), now="2027-03-01T00:00:00Z")  # now: review-recent reads it
    same_as_uncached(repo, len(DATASETS))  # and back


def test_a_policys_metadata_alone_makes_its_subjects_anew(repo):  # noqa: F811
    """A new title, severity or remediation changes no decision (they are reused), but every
    finding of the policy: its subjects are not ready-made."""
    outputs(repo)
    for old, new in [("title: Models declare a low risk", "title: Models declare a lower risk"),
                     ("severity: high", "severity: critical")]:
        edit(repo / "policies/card.yaml", old, new)
        config = load_config(repo, settings={"history.enabled": False})
        stats: dict = {}
        run_check(config, now=NOW, stats=stats)
        assert stats["decisions"]["computed"] == [] or all(p == "card-risk" for p, _, _ in stats["decisions"]["computed"])
        assert stats["decisions"]["ready"] == len(DATASETS)
        out = same_as_uncached(repo, SUBJECTS)
        assert new.partition(": ")[2] in out["json"]


def test_waivers_baseline_and_a_subset_read_ready_made_findings_as_written(repo, tmp_path):  # noqa: F811
    outputs(repo)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(outputs(repo, cache=False)[0]["json"])
    (repo / "waivers.yaml").write_text("""\
version: 1
waivers:
  - {id: W1, policy: card-risk, subject: m1, reason: r, owner: o@x.example, approver: a@x.example, expires: 2027-01-31}
  - {id: W2, policy: lookup-*, subject: "m*", reason: r, owner: o@x.example, approver: a@x.example, expires: 2026-01-31}
  - {id: W3, policy: nothing, subject: "*", reason: r, owner: o@x.example, approver: a@x.example, expires: 2027-01-31}
""")
    out = same_as_uncached(repo, SUBJECTS, waivers="waivers.yaml")
    assert '"status": "waived"' in out["json"] and "expired on 2026-01-31" in out["json"]
    assert "stale waiver W3" in out["json"]
    edit(repo / "models/m2.yaml", "risk_level: minimal", "risk_level: high")
    out = same_as_uncached(repo, SUBJECTS - 1, **{"gate.baseline": str(baseline)})
    assert '"new": [\n' in out["json"] and "m2 is high risk" in out["json"]
    same_as_uncached(repo, 1, only=["m1"])
    same_as_uncached(repo, 1)  # a run of one subject keeps its own findings only
    same_as_uncached(repo, SUBJECTS)
    from engine.shard import shard_of

    subjects = [*(("model", m) for m in MODELS), *(("dataset", d) for d in DATASETS)]
    for k in (1, 2):
        outputs(repo)  # a shard's run keeps its own subjects only: the whole run first
        same_as_uncached(repo, sum(shard_of(kind, sid, 2) == k for kind, sid in subjects), shard=(k, 2))


def test_lineage_budgets_observations_and_waivers_of_the_example(tmp_path, monkeypatch):
    """``examples/``: lineage anchors, privacy budgets, observations and waivers over ready-made findings."""
    monkeypatch.setenv("GAVEL_CACHE_KEY", "test-secret")
    root = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", root, ignore=shutil.ignore_patterns(".gavel"))
    now = "2026-12-01T00:00:00Z"
    outputs(root, now=now)
    _, ready = outputs(root, now=now)
    assert ready > 10
    same_as_uncached(root, ready, now=now)


def _entries(path: Path) -> tuple[bytes, dict, dict]:
    """The file's header, entries and decisions (``ReadyFindings``: two marshal parts)."""
    header, _, body = path.read_bytes().partition(b"\n")
    size = int.from_bytes(body[:8], "big")
    return header, marshal.loads(body[8:8 + size]), marshal.loads(body[8 + size:])


def _payload(data: dict, decisions: dict) -> bytes:
    head = marshal.dumps(data)
    return len(head).to_bytes(8, "big") + head + marshal.dumps(decisions)


def test_a_planted_or_corrupt_findings_cache_is_an_empty_one(repo, monkeypatch):  # noqa: F811
    expected = same_as_uncached(repo, 0)
    same_as_uncached(repo, SUBJECTS)
    path = repo / ".gavel/cache" / READY_FILE
    header, data, stored = _entries(path)
    for subject, (_, counts, pieces, _) in data["subjects"].items():  # what an attacker would plant: all passes
        for key in list(counts):
            counts[("pass", key[1])] = counts.pop(key)
        pieces[:] = [piece.replace('"status": "fail"', '"status": "pass"') for piece in pieces]
        for value in stored[subject][1]:
            value.update((rule, []) for rule in value if rule.startswith("deny"))
    body = _payload(data, stored)
    path.write_bytes(header + b"\n" + body)  # the old MAC: does not verify
    out, made = outputs(repo)
    assert made == 0 and out == expected
    parts = header.split(b" ")  # a well-formed MAC under another secret
    parts[3] = hmac.new(b"the attacker's secret", parts[2] + b"\n" + body, hashlib.sha256).hexdigest().encode()
    path.write_bytes(b" ".join(parts) + b"\n" + body)
    out, made = outputs(repo)
    assert made == 0 and out == expected
    for junk in (b"", b"not a cache", header + b"\n" + body[: len(body) // 2]):
        path.write_bytes(junk)
        out, made = outputs(repo)
        assert made == 0 and out == expected


@pytest.mark.parametrize("payload", [
    b"",
    b"\0" * 8,
    (99).to_bytes(8, "big") + marshal.dumps({}),  # a size past the end
    _payload([], {}),
    _payload({"format": 99, "subjects": {}}, {}),
    _payload({"format": 4, "subjects": []}, {}),
    _payload({"format": 4, "subjects": {"k": "v"}}, {}),
    _payload({"format": 4, "subjects": {"k": ["c", {}, [], 0]}}, {"k": [[], []]}),  # no pieces
    _payload({"format": 4, "subjects": {"k": ["c", [], ["x"], 0]}}, {"k": [[], []]}),
    _payload({"format": 4, "subjects": {"k": ["c", {}, ["x"], [{}]]}}, {"k": [{}]}),  # format 2's decisions
    _payload({"format": 4, "subjects": {"k": ["c", {}, ["x"]]}}, {}),
])
def test_a_findings_cache_of_another_shape_is_ignored(repo, payload):  # noqa: F811
    """Even one that verifies (written under our key by another format, say) is an empty cache."""
    from engine import cachefile
    from engine.decisions import READY_FORMAT

    expected = same_as_uncached(repo, 0)
    cachefile.write(repo / ".gavel/cache" / READY_FILE, cachefile.plain_stamp(f"findings-{READY_FORMAT}"), payload)
    out, made = outputs(repo)
    assert made == 0 and out == expected


@pytest.mark.parametrize("spoil", ["missing", "short", "not objects", "contexts", "not marshal"])
def test_entries_without_their_decisions_stop_the_run_when_findings_need_them(repo, gavel, spoil):  # noqa: F811
    """Both parts verify under our key but disagree (a fault, never a planted file): the JSON report
    needs no decision and is the stored one, but findings are never made without the decisions
    they were stored with: the text report stops with a one-line error naming the file."""
    from engine import cachefile
    from engine.decisions import READY_FORMAT

    same_as_uncached(repo, 0)
    path = repo / ".gavel/cache" / READY_FILE
    _, data, stored = _entries(path)
    first = next(iter(stored))
    contexts, values = stored[first]
    if spoil == "missing":
        del stored[first]
    elif spoil == "short":
        stored[first] = [contexts, values[1:]]
    elif spoil == "not objects":
        stored[first] = [contexts, ["pass"] * len(values)]
    elif spoil == "contexts":
        stored[first] = [contexts[1:], values]
    head = marshal.dumps(data)
    tail = b"junk" if spoil == "not marshal" else marshal.dumps(stored)
    cachefile.write(path, cachefile.plain_stamp(f"findings-{READY_FORMAT}"), [len(head).to_bytes(8, "big"), head, tail])
    result = gavel("check", repo, "--now", NOW, "--no-history")
    assert result.exit_code == 2, result.output
    assert "findings.bin" in result.stderr and "does not hold the decisions" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_re_run_writing_the_json_report_never_decodes_the_stored_decisions(repo, monkeypatch):  # noqa: F811
    from engine import decisions

    same_as_uncached(repo, 0)
    decoded = []
    real = decisions._decisions
    monkeypatch.setattr(decisions, "_decisions", lambda *a: decoded.append(1) or real(*a))
    config = load_config(repo, settings={"history.enabled": False})
    stats: dict = {}
    report = run_check(config, now=NOW, stats=stats)
    assert stats["decisions"]["ready"] == SUBJECTS and report.to_json()
    assert decoded == []
    edit(repo / "models/m2.yaml", "risk_level: minimal", "risk_level: high")
    same_as_uncached(repo, SUBJECTS - 1)  # the caches written again: the stored decisions carried over
    assert decoded
    same_as_uncached(repo, SUBJECTS)


def test_through_gavel_every_format_of_a_warm_run_is_the_cold_one(repo, gavel, tmp_path):  # noqa: F811
    formats = [fmt for fmt in renderers.names() if fmt != "prometheus"]  # prometheus carries the duration
    files = {}
    for run in ("cold", "warm"):
        args = [arg for fmt in formats for arg in ("-o", f"{fmt}={tmp_path}/{run}.{fmt}")]
        extra = ["--no-cache"] if run == "cold" else []
        result = gavel("check", repo, "--now", NOW, "--no-history", "-v", *args, *extra)
        assert result.exit_code == 1, result.stderr
        files[run] = {fmt: (tmp_path / f"{run}.{fmt}").read_bytes() for fmt in formats}
    result = gavel("check", repo, "--now", NOW, "--no-history", "-v",
                   *[arg for fmt in formats for arg in ("-o", f"{fmt}={tmp_path}/warm.{fmt}")])
    assert f"findings of {SUBJECTS} subjects ready-made" in result.stderr
    for fmt in formats:
        assert (tmp_path / f"warm.{fmt}").read_bytes() == files["cold"][fmt], fmt


def test_findings_left_from_an_older_run_never_stand_for_newer_decisions(repo):  # noqa: F811
    """The two caches out of step (a write that failed, a restored cache): the findings an older
    run stored are keyed on what they were made of, so they miss once any of it changed."""
    outputs(repo)
    path = repo / ".gavel/cache" / READY_FILE
    older = path.read_bytes()
    changes = [(repo / "models/m2.yaml", "risk_level: minimal", "risk_level: high"),  # a card
               (repo / "gavel.yaml", "minimum: 1", "minimum: 2"),  # a parameter
               (repo / "policies/card.yaml", "[minimal, limited]", "[minimal, limited, high]")]  # a policy's text
    ready = [SUBJECTS - 1, len(DATASETS), len(DATASETS)]
    for (file, old, new), made in zip(changes, ready, strict=True):
        edit(file, old, new)
        outputs(repo)  # the decision cache now holds the new decisions
        path.write_bytes(older)  # and the findings cache the old findings
        same_as_uncached(repo, made)
        older = path.read_bytes()


def test_an_engine_error_is_never_stored_ready_made(repo, monkeypatch):  # noqa: F811
    """An engine error (a limit, a crash) is not a verdict: the subject's findings are not stored,
    and the next run judges it again, never reusing what the failing run made."""
    from engine.errors import EngineError
    from engine.evaluate import Prepared

    real = Prepared.results

    def failing(self, documents, subjects, indexes):
        for i in indexes:
            yield i, {p.id: EngineError("out of memory") for p in self.policy_set.policies if p.applies_to(subjects[i].kind)}

    monkeypatch.setattr(Prepared, "results", failing)
    out, made = outputs(repo)
    assert made == 0 and "out of memory" in out["json"] and '"status": "pass"' not in out["json"]
    assert json.loads(out["json"])["summary"]["by_status"]["error"] == 14
    monkeypatch.setattr(Prepared, "results", real)
    same_as_uncached(repo, 0)
    same_as_uncached(repo, SUBJECTS)


def test_the_decision_cache_is_read_only_for_a_subject_the_findings_cache_cannot_answer(repo, monkeypatch):  # noqa: F811
    """Ready-made subjects carry their decisions; an edited card is a document the last run did not
    judge, so no decision of it can be cached: neither needs ``decisions.bin``. A changed policy
    does (its subjects' other decisions are reused from it)."""
    from engine.decisions import DecisionCache

    outputs(repo)
    reads = []
    real = DecisionCache._load
    monkeypatch.setattr(DecisionCache, "_load", lambda self: reads.append(1) or real(self))
    same_as_uncached(repo, SUBJECTS)
    edit(repo / "models/m2.yaml", "risk_level: minimal", "risk_level: high")
    same_as_uncached(repo, SUBJECTS - 1)
    assert reads == []
    edit(repo / "policies/card.yaml", "[minimal, limited]", "[minimal, limited, high]")
    config = load_config(repo, settings={"history.enabled": False})
    stats: dict = {}
    run_check(config, now=NOW, stats=stats)
    assert reads and {p for p, _, _ in stats["decisions"]["computed"]} == {"card-risk"}
    same_as_uncached(repo, SUBJECTS)
