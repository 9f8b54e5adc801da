"""``gavel check`` as a library call: config in, report out.

evidence → inventory → subjects → policies → prepare → evaluate → waivers → report (+ gate).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from engine.collector import collector_paused
from engine.config import Config
from engine.context import build_subjects, inventory_data
from engine.errors import UsageError
from engine.findings import Findings, InputDigest, Report
from engine.inventory import build_inventory
from engine.policy import load_policies
from engine.report import build_report, decide_gate


def resolve_now(value: str | None) -> str:
    """The run's evaluation time as RFC 3339 UTC; fixed per run so reports are reproducible."""
    if not value:
        return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    try:
        return utc_rfc3339(value)
    except ValueError:
        raise UsageError(f"--now: not an ISO 8601 date or time: {value!r}") from None


def utc_rfc3339(value: str) -> str:
    """An ISO 8601 date or date-time (no zone: UTC) as RFC 3339 UTC to the second, e.g.
    ``2026-11-26T00:00:00Z``; ``ValueError`` when it is not one."""
    text = value.strip()
    if len(text) == 10:
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    else:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def run_check(config: Config, *, now: str | None = None, only: list[str] = (), shard: tuple[int, int] | None = None,
              stats: dict | None = None, deferred: list | None = None) -> Report:
    """Run every policy on every subject (or those whose id matches a glob in ``only``; or, with
    ``shard=(K, N)``, those of shard K of N: see ``engine.shard``).

    ``stats``, if given, receives ``decisions``: how many were reused from the decision cache, which
    were computed, as ``(policy, kind, subject id)``, and of how many subjects the findings were
    ready-made (``engine.decisions.ReadyFindings``). With ``deferred`` (a list), the caches
    (evidence, decisions) are written while the run goes on and the caller renders the report, and
    functions that wait for the writes are appended: the caller calls them when done (see
    ``save_aside``)."""
    with collector_paused():
        return _run_check(config, now=now, only=only, shard=shard, stats=stats, deferred=deferred)


def _run_check(config: Config, *, now: str | None, only: list[str], shard: tuple[int, int] | None,
               stats: dict | None, deferred: list | None) -> Report:
    now = resolve_now(now or config.now)
    policy_set = load_policies(config)  # a broken policy stops the run before any evidence is read
    if not policy_set.policies:
        raise UsageError("no policies to run: add policy files under policies/ (or policies.paths) or enable a "
                         "built-in pack (policies.packs, --pack)", file=config.file)
    # The evidence cache is written (in a child: save_aside) before later stages attach facts to the cards.
    inv = build_inventory(config, now=now, aside=None if deferred is None else lambda save: save_aside(save, deferred))
    subjects = build_subjects(inv, now=now)
    if not subjects and not inv.problems:
        raise UsageError("no evidence found: no file matches the evidence globs (see `evidence` in gavel.yaml, or "
                         "models/ and datasets/ without one)", file=config.file)
    if only:
        import fnmatch

        subjects = [s for s in subjects if any(fnmatch.fnmatchcase(s.id, pattern) for pattern in only)]
        inv.problems = [f for f in inv.problems if any(fnmatch.fnmatchcase(f.subject.id, p) for p in only)]
        if not subjects and not inv.problems:
            raise UsageError(f"no subject matches {', '.join(only)}")
    extra: dict = status_facts(subjects)  # before sharding: every shard carries the whole run's facts
    if shard:
        from engine.shard import in_shard

        subjects = [s for s in subjects if in_shard(s.kind, s.id, shard)]
        inv.problems = [f for f in inv.problems if in_shard(f.subject.kind, f.subject.id, shard)]
        extra["shard"] = {"index": shard[0], "count": shard[1]}
    from engine.evaluate import prepare

    options = config.engine_options()
    cache = ready = None
    if config.cache:
        from engine.decisions import FILE, READY_FILE, DecisionCache, ReadyFindings

        cache = DecisionCache(config.path(config.cache_path) / FILE)
    prepared = prepare(policy_set, data={"inventory": inventory_data(inv)}, engine=config.engine,
                       workers=config.workers, options=options, cache=cache)
    if prepared.cache is not None:
        ready_file = config.path(config.cache_path) / READY_FILE
        if ready_file.is_file():  # a re-run, most likely with little to evaluate: the engine gets its
            prepared.start(subjects)  # data in a child meanwhile (``Prepared.start``), not in this process
        ready = ReadyFindings(ready_file, decisions=prepared.cache)
    evaluated = prepared.judge(subjects, ready=ready)
    findings = Findings.of(inv.problems) + evaluated
    if prepared.cache is not None:
        decisions = prepared.cache
        ready.keep(evaluated)
        # Both files, written by one child (each fork makes the parent copy every page it writes to
        # afterwards), when anything changed. The decision cache keeps only the decisions the
        # findings cache does not hold: those of subjects whose block is not stored (then the
        # findings cache changed too), and those computed now.
        if decisions.dirty or ready.changed():
            save_aside(lambda: (decisions.save(ready.kept()), ready.save()), deferred)
    if stats is not None:
        stats["decisions"] = {"reused": prepared.cache.reused if prepared.cache else 0, "computed": prepared.computed,
                              "ready": prepared.ready}
    if inv.lineage is not None:  # anchor findings on the whole graph at the edge that caused them
        from engine.lineage.locate import locate_findings

        findings = locate_findings(inv.lineage, findings)
    if config.waivers:
        from engine.waivers import apply_waivers

        judged = [(s.kind, s.id) for s in subjects] + [(f.subject.kind, f.subject.id) for f in inv.problems] \
            if only else None  # a --subject run judged only these: other waivers are not stale
        findings, extra["waivers"] = apply_waivers(findings, config, now=now, judged=judged)
        waivers = extra["waivers"]
        if waivers.get("sha256"):  # the waivers file is an input too: it changes the run id
            inv.inputs.append(InputDigest(path=waivers["file"], kind="waivers", sha256=waivers["sha256"]))
    if config.baseline and shard:
        from engine.shard import shard_baseline

        extra["baseline"], extra["shard"]["known"] = shard_baseline(findings, config)
    elif config.baseline:
        from engine.baseline import apply_baseline

        extra["baseline"] = apply_baseline(findings, config)
    gate = decide_gate(_gating(findings, extra), fail_on=config.fail_on, fail_on_warn=config.fail_on_warn,
                       soft_fail=config.soft_fail)
    return build_report(findings, inputs=inv.inputs, policies=[p.info() for p in policy_set.policies], now=now,
                        engine=config.engine, gate=gate, extra=extra)


def save_aside(save: Callable[[], None], deferred: list | None) -> None:
    """Call ``save`` now, or, given ``deferred``, in a forked child (writing 500,000 decisions
    takes seconds, and so does rendering their report: on two cores, side by side) and append a
    function that waits for it. A child that fails has the wait call ``save`` here, so an error
    surfaces as it would have without the child."""
    if deferred is None or not hasattr(os, "fork"):
        save()
        return
    from engine import cachefile  # noqa: F401 - imported before the fork, so the child imports nothing

    pid = os.fork()
    if pid == 0:  # the child: write, then exit at once (no atexit handlers, no stdio flush)
        code = 1
        try:
            save()
            code = 0
        finally:
            os._exit(code)

    def wait() -> None:
        _, status = os.waitpid(pid, 0)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            save()

    deferred.append(wait)


def status_facts(subjects) -> dict:
    """What monitoring reads besides findings (``-o prometheus``): each privacy budget's state in its
    period, and the dates evidence carries about itself (a model's last review, a dataset's last
    quality check). Both follow from the inputs and ``now``, so the report stays deterministic."""
    extra: dict = {}
    budgets = {s.id: {key: s.doc["subject"][key] for key in ("epsilon_budget", "spent", "remaining", "exceeded")}
               for s in subjects if s.kind == "budget" and "remaining" in s.doc["subject"]}
    if budgets:
        extra["budgets"] = budgets
    dates: dict[str, dict[str, str]] = {}
    for s in subjects:
        found, card = {}, s.doc["subject"]
        if s.kind == "model" and card.get("last_review"):
            found["last_review"] = str(card["last_review"])
        quality = card.get("quality") if s.kind == "dataset" else None
        if isinstance(quality, dict) and quality.get("last_checked"):
            found["quality.last_checked"] = str(quality["last_checked"])
        if found:
            dates[f"{s.kind}:{s.id}"] = found
    if dates:
        extra["evidence_dates"] = dates
    return extra


def _gating(findings, extra):
    """With a baseline, only findings new against it can fail the gate."""
    baseline = extra.get("baseline")
    if not baseline:
        return findings
    new = {tuple(key) for key in baseline.get("new", [])}
    return [f for f in findings if (f.policy, f.subject.kind, f.subject.id, f.message) in new or f.status == "error"]
