"""``gavel budget``: privacy budgets: status, spend (atomic, under a lock) and ledger verification."""

from __future__ import annotations

import difflib
import getpass
import json
import math
import os
import secrets
import sys

import click

from engine.cli.options import output_option, project_option, set_option

config_option = project_option()


@click.group()
def budget():
    """Privacy budgets: how much is spent and left, spending under a lock, ledger checks.

    \b
    Examples:
      gavel budget status -p examples
      gavel budget status features.credit_features -o json -p examples
      gavel budget spend analytics.default_rates --epsilon 0.5 --mechanism laplace \\
          --purpose "Q4 default-rate release" --ref JIRA-1234 -p examples
      gavel budget verify -p examples
      gavel budget upgrade -p examples      # once: hash-chain a ledger from Gavel 0.1
    """


# -- shared ---------------------------------------------------------------------------------------
def _load(project: str, overrides, now: str | None, *, use_config_now: bool = True, configured=None):
    """Config, the dataset cards, the budgets and the run's ``now``. ``configured(config)`` runs before
    the cards are read."""
    from engine.check import resolve_now
    from engine.config import load_config
    from engine.evidence import load_evidence
    from engine.inventory import Inventory
    from engine.privacy import check_config

    config = load_config(project, overrides=list(overrides))
    check_config(config)
    if configured is not None:
        configured(config)
    config.evidence = [source for source in config.evidence if source.kind == "dataset"]
    inv = Inventory(root=config.root)
    load_evidence(config, inv)
    return config, inv, resolve_now(now or (config.now if use_config_now else None))


def _known_budget(state_budgets: dict, dataset: str, inv) -> None:
    from engine.errors import UsageError

    if dataset in state_budgets:
        return
    if dataset in inv.datasets:
        raise UsageError(f"dataset '{dataset}' has no privacy budget: declare privacy_budget on its card "
                         f"({inv.datasets[dataset].source.file}) or under privacy.budgets in gavel.yaml")
    names = sorted(set(state_budgets) | set(inv.datasets))
    close = difflib.get_close_matches(dataset, names, n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise UsageError(f"unknown dataset '{dataset}'.{hint}")


def _problem_lines(inv) -> list[str]:
    out = []
    for finding in sorted(inv.problems, key=lambda f: ((f.subject.source.file if f.subject.source else ""),
                                                       (f.subject.source.line or 0) if f.subject.source else 0)):
        source = finding.subject.source
        where = f"{source.file}:{source.line}: " if source and source.line else (f"{source.file}: " if source else "")
        out.append(f"{where}{finding.message}")
    return out


def _num(value: float, digits: int = 4) -> str:
    if value == 0:
        return "0"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}g}"


def _of(spent: float, budget: float) -> str:
    """"spent / budget" with as many digits as it takes for unequal numbers to look unequal
    (2.000001 of 2 is over the budget: "2 / 2 EXCEEDED" would contradict itself)."""
    digits = 4
    while digits < 17 and spent != budget and _num(spent, digits) == _num(budget, digits):
        digits += 1
    return f"{_num(spent, digits)} / {_num(budget, digits)}"


# -- status ---------------------------------------------------------------------------------------
@budget.command()
@click.argument("dataset", required=False)
@config_option
@output_option
@click.option("--now", metavar="TIME", help="Evaluation time (ISO 8601); default gavel.yaml's now, else the clock.")
@set_option
def status(dataset, project, as_json, now, overrides):
    """Spent and remaining budget per dataset, in the period that holds now.

    With DATASET: its budget, every period with spends (calendar budgets), and the spends of the
    current period. Exit 0; 1 when the ledger or a budget has problems (listed on stderr).
    """
    from engine import privacy

    config, inv, now = _load(project, overrides, now)
    privacy.build(config, inv, now, lazy=True)
    state = inv.privacy
    if dataset:
        _known_budget(state.budgets, dataset, inv)
    problems = _problem_lines(inv)
    if dataset:
        doc = _dataset_status(state, dataset)
        if state.cache is not None:
            state.cache.save()
        click.echo(json.dumps(doc, indent=2) if as_json else _dataset_text(doc))
    else:
        doc = {"now": now, "ledger": _ledger_info(state), "budgets": [state.view(d, spends=False) for d in state.budgets],
               "accounting": _accounting(state)}
        click.echo(json.dumps(doc, indent=2) if as_json else _table(doc))
    for line in problems:
        click.echo(f"Error: {line}", err=True)
    sys.exit(1 if problems else 0)


#: where a budget's figures come from, as `status` says it: the totals recorded with the period's last spend,
#: or diffprivlib's accounting of the period's spends (run now, or earlier and kept in the warm-path cache:
#: the same figures, so the output does not depend on the cache)
_SOURCES = {"recorded": "from the totals recorded with their last spend",
            "empty": "without spends in their period (nothing to compose)",
            "diffprivlib": "by diffprivlib (no recorded totals for their current spends)"}


def _accounting(state) -> dict:
    """How many budgets were accounted from recorded totals and how many by diffprivlib, and which: a
    budget without recorded totals for its current spends is what makes a cold `status` import diffprivlib
    (and scikit-learn)."""
    out: dict = {source: 0 for source in _SOURCES}
    computed = []
    for dataset in state.budgets:
        source = _source(state.usage(dataset))
        out[source] += 1
        if source == "diffprivlib":
            computed.append(dataset)
    out["diffprivlib_datasets"] = computed
    return out


def _source(usage) -> str:
    return usage.source if usage.source in ("recorded", "empty") else "diffprivlib"


def _accounting_text(accounting: dict) -> str:
    parts = [f"{accounting[source]} {text}" for source, text in _SOURCES.items() if accounting[source]]
    return "accounted: " + ("; ".join(parts) if parts else "no budgets")


def _ledger_info(state) -> dict:
    ledger = state.ledger
    return {"path": ledger.display, "exists": ledger.exists, "entries": len(ledger.entries), "sha256": ledger.sha256}


def _state_word(view: dict) -> str:
    if view["exceeded"]:
        return "EXCEEDED"
    if view["remaining"]["epsilon"] == 0:
        return "exhausted"
    return "near limit" if view["used"] >= view["warn_at"] else "ok"


def _table(doc: dict) -> str:
    header = ("DATASET", "PERIOD", "EPSILON SPENT/BUDGET", "LEFT", "DELTA SPENT/BUDGET", "SPENDS", "STATE")
    rows = [header]
    for view in doc["budgets"]:
        rows.append((
            view["dataset"],
            view["window"]["label"],
            _of(view["spent"]["epsilon"], view["epsilon_budget"]),
            _num(view["remaining"]["epsilon"]),
            _of(view["spent"]["delta"], view["delta_budget"]),
            str(view["spend_count"]),
            _state_word(view),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    ledger = doc["ledger"]
    lines.append("")
    lines.append(f"{len(doc['budgets'])} budget(s); ledger {ledger['path']}: {ledger['entries']} entries; "
                 f"now {doc['now']}")
    lines.append(_accounting_text(doc["accounting"]))
    return "\n".join(lines)


def _dataset_status(state, dataset: str) -> dict:
    from engine.privacy.accounting import account, history_windows, tidy

    view = state.view(dataset)
    budget = state.budgets[dataset]
    entries = [e for e in state.by_dataset.get(dataset, ()) if e.time <= state.now]
    periods = []
    for win in history_windows(budget, [e.time for e in entries], state.now):
        usage = account(budget, win.select(entries, state.now), win, state.cache, latest=state.latest(dataset),
                        entries=state.by_dataset.get(dataset, ()))
        periods.append({"window": win.view(), "spent": {"epsilon": tidy(usage.epsilon), "delta": tidy(usage.delta)},
                        "spend_count": len(usage.spends), "exceeded": usage.exceeded, "accounted": _source(usage)})
    return {"now": state.now, "budget": view, "periods": periods, "accounted": _source(state.usage(dataset))}


def _dataset_text(doc: dict) -> str:
    view = doc["budget"]
    period = view["period"]
    kind = period["kind"]
    period_text = {"lifetime": "lifetime", "rolling": f"rolling {period.get('days')} days",
                   "calendar": f"calendar {period.get('unit')}"}[kind]
    source = view["source"]
    lines = [
        f"{view['dataset']}  ({view['declared_in']}: {source['file']}:{source['line']})",
        f"  budget      epsilon {_num(view['epsilon_budget'])}, delta {_num(view['delta_budget'])}, {period_text}, "
        f"{view['composition']} composition" + (f" (slack {_num(view['slack'])})" if view["slack"] else ""),
    ]
    if "max_epsilon_per_query" in view:
        lines.append(f"  per release epsilon at most {_num(view['max_epsilon_per_query'])}")
    if "allowed_mechanisms" in view:
        lines.append(f"  mechanisms  {', '.join(view['allowed_mechanisms'])}")
    lines += [
        f"  period      {view['window']['label']} (now {doc['now']})",
        f"  spent       epsilon {_of(view['spent']['epsilon'], view['epsilon_budget'])}, "
        f"delta {_of(view['spent']['delta'], view['delta_budget'])} ({_percent(view['used'])} used)",
        f"  remaining   epsilon {_num(view['remaining']['epsilon'])}, delta {_num(view['remaining']['delta'])}",
        f"  state       {_state_word(view)}",
        f"  accounted   {_SOURCES[doc['accounted']]}",
    ]
    if len(doc["periods"]) > 1:
        lines.append("  periods:")
        for p in doc["periods"]:
            mark = ("  EXCEEDED" if p["exceeded"] else "") + ("  (diffprivlib)" if p["accounted"] == "diffprivlib" else "")
            lines.append(f"    {p['window']['label']:<10} epsilon {_num(p['spent']['epsilon']):<8} "
                         f"delta {_num(p['spent']['delta']):<8} {p['spend_count']} spend(s){mark}")
    lines.append(f"  spends in {view['window']['label']}:" if view["spends"] else "  no spends in this period")
    for s in view["spends"]:
        extra = "".join(f" {k}={s[k]}" for k in ("model", "ref") if k in s)
        lines.append(f"    {s['time']}  {s['id']}  epsilon {_num(s['epsilon'], 12)} delta {_num(s['delta'], 12)}  "
                     f"{s['mechanism']}  by {s.get('actor', '?')}: {s.get('purpose', '?')}{extra}")
    return "\n".join(lines)


def _percent(used: float) -> str:
    """A fraction as a percentage that never rounds an overdraft down to 100%."""
    text = f"{used:.0%}"
    digits = 0
    while digits < 12 and used > 1 and text == f"{1:.{digits}%}":
        digits += 1
        text = f"{used:.{digits}%}"
    return text


# -- spend ----------------------------------------------------------------------------------------
class Refused(Exception):
    """A spend that does not fit (exit 1, nothing written)."""


@budget.command()
@click.argument("dataset")
@click.option("--epsilon", type=float, required=True, help="Epsilon of this release (> 0).")
@click.option("--delta", type=float, default=0.0, show_default=True, help="Delta of this release.")
@click.option("--mechanism", required=True, help="Mechanism used, e.g. laplace, gaussian, dp-sgd.")
@click.option("--purpose", required=True, help="Why the budget is spent.")
@click.option("--actor", help="Who spends it (default $GAVEL_ACTOR, else the login name).")
@click.option("--model", help="The model trained with this spend (a model card id).")
@click.option("--ref", help="The query, release or run this spend is for (URL, ticket, job id).")
@config_option
@click.option("--now", metavar="TIME", help="Record the spend at this time (ISO 8601) instead of the clock.")
@output_option
@set_option
def spend(dataset, epsilon, delta, mechanism, purpose, actor, model, ref, project, now, as_json, overrides):
    """Record a privacy spend on DATASET, only if it fits its budget.

    The check and the append are one step under an exclusive lock on the ledger: concurrent
    spends can never overdraw a budget. Refused (exit 1, nothing written) when the spend would
    exceed the budget of the current period, exceeds max_epsilon_per_query, uses a mechanism
    not in allowed_mechanisms, or has a delta not below 1/records. Exit 2 when Gavel cannot run
    (bad config, unknown dataset, an invalid ledger: see `gavel budget verify`).
    """
    from engine import privacy
    from engine.errors import UsageError
    from engine.privacy.accounting import fits, tidy, window
    from engine.privacy.ledger import LedgerError, append

    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise UsageError(f"--epsilon must be a positive number, got {epsilon:g}")
    if not (0 <= delta < 1):
        raise UsageError(f"--delta must be at least 0 and below 1, got {delta:g}")
    for name, value in (("mechanism", mechanism), ("purpose", purpose), ("actor", actor), ("model", model),
                        ("ref", ref)):
        if value is not None and not value.strip():
            raise UsageError(f"--{name} must not be empty")
    actor = actor or os.environ.get("GAVEL_ACTOR") or _login()
    config, inv, fixed_now = _load(project, overrides, now, use_config_now=False)
    fixed_now = fixed_now if now else None  # without --now, the clock is read under the lock
    found = privacy.collect_budgets(config, inv)
    bad = [f for f in found.problems if f.subject.id == dataset]
    if bad:
        source = bad[0].subject.source
        from engine.errors import ConfigError

        raise ConfigError(bad[0].message, file=source.file if source else None, line=source.line if source else None)
    _known_budget(found.budgets, dataset, inv)
    budget_ = found.budgets[dataset]
    known = set(inv.datasets) | set((config.privacy or {}).get("budgets") or {})
    path, display, explicit = privacy.ledger_location(config)
    if explicit and not path.exists():
        raise LedgerError("the ledger named by privacy.ledger in gavel.yaml does not exist "
                          "(create an empty file to start a new ledger)", file=display)
    _policy_checks(budget_, epsilon, delta, mechanism)
    result: dict = {}

    def decide(ledger):
        from engine.check import resolve_now
        from engine.privacy.ledger import integrity_problems

        now = fixed_now or resolve_now(None)
        win = result["window"] = window(budget_.period, now)
        problems = sorted(ledger.problems + integrity_problems(ledger, known), key=lambda p: p.line or 0)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise LedgerError(f"the ledger is invalid, so no spend can be checked against it: {first.message}{more}; "
                              "run `gavel budget verify`", file=display, line=first.line)
        if ledger.entries and ledger.entries[-1].time > now:
            last = ledger.entries[-1]
            raise LedgerError(f"the last entry (line {last.line}) is dated {last.time}, after now ({now}): "
                              "is this machine's clock behind?", file=display, line=last.line)
        spends = win.select(ledger.by_dataset.get(dataset, ()), now)
        ok, total_epsilon, total_delta = fits(budget_, spends, epsilon, delta)
        if not ok:
            raise Refused(
                f"spending epsilon {_num(epsilon)}, delta {_num(delta)} on '{dataset}' would exceed its budget for "
                f"{win.label}: the total would be epsilon {_num(tidy(total_epsilon))} of {_num(budget_.epsilon)}, "
                f"delta {_num(tidy(total_delta))} of {_num(budget_.delta)} ({budget_.composition} composition)")
        entry = {"id": "sp-" + secrets.token_hex(8), "time": now, "dataset": dataset, "epsilon": epsilon,
                 "delta": delta, "mechanism": mechanism, "purpose": purpose, "actor": actor}
        if ref:
            entry["ref"] = ref
        if model:
            entry["model"] = model
        # diffprivlib's result for the period with this spend, recorded inside the hash chain: a later
        # `gavel check` over the same spends reads it instead of importing diffprivlib
        from engine.privacy.accounting import computed, totals_of
        from engine.privacy.ledger import Entry

        usage = result["usage"] = computed(budget_, [*spends, Entry(0, entry)])
        entry["totals"] = totals_of(usage)
        return entry

    def repaired(problem):
        click.echo(f"Warning: {display}:{problem.line}: removed an incomplete last line (a write cut short by a "
                   "crash, never acknowledged)", err=True)

    from engine.privacy.accounting import preload

    preload()  # before the lock: 16 spenders each importing scikit-learn under it timed each other out
    try:
        entry, _ledger = append(path, display, decide, timeout=privacy.lock_timeout(config), on_repair=repaired)
    except Refused as exc:
        click.echo(f"Refused: {exc}; nothing recorded.", err=True)
        sys.exit(1)
    win = result["window"]
    try:  # the spend is recorded: reporting what is left must not turn it into a failure
        usage = result["usage"]
        usage.window = win
        left = {"epsilon": tidy(usage.remaining_epsilon), "delta": tidy(usage.remaining_delta)}
        _remember_usage(config, usage)
    except Exception:  # noqa: BLE001
        left = None
    if as_json:
        click.echo(json.dumps({"recorded": entry, "ledger": display, "period": win.label, "remaining": left},
                              indent=2))
    else:
        rest = (f" Left in {win.label}: epsilon {_num(left['epsilon'])}, delta {_num(left['delta'])}."
                if left else "")
        click.echo(f"Recorded {entry['id']} in {display}: epsilon {_num(epsilon)}, delta {_num(delta)} on "
                   f"{dataset} ({mechanism}).{rest}")


def _remember_usage(config, usage) -> None:
    """Store diffprivlib's result for the period with the new spend, so the next `status` needs no
    diffprivlib. Only written: the spend's own check never reads the cache."""
    from engine.privacy.cache import PrivacyCache, result_key

    cache = PrivacyCache.open(config)
    if cache is not None:
        pairs = [(float(e.epsilon), float(e.delta)) for e in usage.spends]
        cache.put_result(result_key(usage.budget, pairs), [usage.epsilon, usage.delta, usage.exceeded,
                                                           usage.remaining_epsilon, usage.remaining_delta])
        cache.save()


def _policy_checks(budget_, epsilon: float, delta: float, mechanism: str) -> None:
    """The budget's rules for a single release, checked before the ledger is touched."""
    cap = budget_.cap
    if cap is not None and epsilon > cap:
        _refuse(f"epsilon {_num(epsilon)} exceeds max_epsilon_per_query {_num(cap)} of '{budget_.dataset}'")
    mechanisms = budget_.mechanisms
    if mechanisms is not None and mechanism not in mechanisms:
        _refuse(f"mechanism '{mechanism}' is not allowed on '{budget_.dataset}' (allowed: {', '.join(mechanisms)})")
    if budget_.records is not None and delta > 0 and delta >= 1 / budget_.records:
        _refuse(f"delta {_num(delta)} is not below 1/n = {_num(1 / budget_.records)} for '{budget_.dataset}' "
                f"({budget_.records} records)")
    if delta > 0 and budget_.delta == 0:
        _refuse(f"'{budget_.dataset}' has a pure epsilon budget (delta_budget 0): a spend with delta "
                f"{_num(delta)} cannot fit")


def _refuse(message: str) -> None:
    click.echo(f"Refused: {message}; nothing recorded.", err=True)
    sys.exit(1)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


# -- verify ---------------------------------------------------------------------------------------
@budget.command()
@config_option
@click.option("--repair", is_flag=True, help="Remove an incomplete last line left by a crash (never acknowledged).")
@click.option("--expect-head", metavar="HASH", help="Also require the ledger's last hash to be this one (kept elsewhere).")
@set_option
def verify(project, repair, expect_head, overrides):
    """Check the ledger's integrity: every line against the schema, the hash chain, time order,
    unique ids, every dataset known, no incomplete last line. Exit 0 valid, 1 problems (one per line)."""
    from engine import privacy

    helper: list = []
    try:
        config, inv, _now = _load(project, overrides, None, configured=lambda config: helper.extend(_recomputer(config)))
        found = privacy.collect_budgets(config, inv)
        path, display, _explicit = privacy.ledger_location(config)
        lines = _verified(config, inv, found, path, display, repair, expect_head, helper[0] if helper else None)
    finally:
        for recomputer in helper:
            recomputer.close()
    if lines:
        sys.exit(1)


def _recomputer(config) -> list:
    """A child process importing diffprivlib while the cards and the ledger are read, when the ledger's last
    64 KiB record totals (`verify` will recompute them); none for a ledger without (a guess: only time
    depends on it)."""
    from engine import privacy

    path = privacy.ledger_location(config)[0]
    try:
        with path.open("rb") as ledger:
            size = ledger.seek(0, 2)
            ledger.seek(max(0, size - (1 << 16)))
            if b'"totals"' not in ledger.read():
                return []
    except OSError:
        return []
    from engine.privacy.recompute import Recomputer

    return [Recomputer()]


def _verified(config, inv, found, path, display, repair, expect_head, recomputer) -> list[str]:
    """Every problem `verify` reports, each on one line (printed here)."""
    from engine import privacy
    from engine.privacy.ledger import repair as repair_ledger

    if repair:
        torn = repair_ledger(path, display, timeout=privacy.lock_timeout(config))
        if torn is not None:
            click.echo(f"Repaired {display}: removed the incomplete line {torn.line}.", err=True)
    known = set(inv.datasets) | set((config.privacy or {}).get("budgets") or {})
    ledger, problems = privacy.load_ledger(config, known, lazy=True)
    # every line went through the hand-compiled schema check (``fast_valid``, held to the JSON Schema by
    # property tests) and those it refused through the JSON Schema itself, for the message
    lines = [f"{display}:{p.line}: {p.message}" if p.line else f"{display}: {p.message}"
             for p in sorted(problems, key=lambda p: (p.line or 0, p.message))]
    if expect_head and not ledger.head.startswith(expect_head.lower()):
        lines.append(f"{display}: the ledger ends at hash {ledger.head[:12]}, not the expected {expect_head[:12]} "
                     "(entries removed from the end, or another ledger)")
    lines += _totals_problems(found.budgets, ledger, display, recomputer)
    lines += _problem_lines(inv) + _problem_lines_of(found.problems)
    for line in lines:
        click.echo(f"Error: {line}", err=True)
    if not lines:
        datasets = len({e.dataset for e in ledger.entries})
        state = "" if ledger.exists else " (no ledger file yet)"
        click.echo(f"{display}: {len(ledger.entries)} entries on {datasets} dataset(s), valid{state}; "
                   f"head {ledger.head}")
    return lines


@budget.command()
@config_option
@set_option
def upgrade(project, overrides):
    """Hash-chain a ledger written before Gavel chained its entries (once, explicitly).

    Each entry gets "prev" and "hash"; from then on `budget verify` and `gavel check` detect an
    edited, deleted or reordered line. Entries on a budgeted dataset also get "totals": what
    diffprivlib computes for the budget's period as of that spend (as `budget spend` records them).
    Refused (exit 2) while the ledger has any other problem.
    """
    from engine import privacy
    from engine.privacy.ledger import upgrade as upgrade_ledger

    config, inv, _now = _load(project, overrides, None)
    budgets = privacy.collect_budgets(config, inv).budgets
    path, display, _explicit = privacy.ledger_location(config)
    entries, head = upgrade_ledger(path, display, timeout=privacy.lock_timeout(config),
                                   totals=lambda before, entry: _totals_at(budgets, before, entry))
    if head is None:
        click.echo(f"{display}: already hash-chained ({entries} entries).")
    else:
        click.echo(f"{display}: chained {entries} entries; head {head} (keep it elsewhere for "
                   "`budget verify --expect-head`).")


def _problem_lines_of(findings) -> list[str]:
    class _Inv:
        problems = findings

    return _problem_lines(_Inv)


def _totals_at(budgets: dict, before: list, entry) -> dict | None:
    """diffprivlib's result for ``entry``'s budget period as of ``entry`` (None: no budget)."""
    from engine.privacy.accounting import computed, totals_of, window

    budget_ = budgets.get(entry.dataset)
    if budget_ is None:
        return None
    win = window(budget_.period, entry.time)
    return totals_of(computed(budget_, win.select([*before, entry], entry.time)))


def _totals_problems(budgets: dict, ledger, display: str, recomputer=None) -> list[str]:
    """Every recorded figure Gavel reads, recomputed with diffprivlib: the ``totals`` of each dataset's last
    entry, when they are for its current budget (older entries' totals are a record, never read): the
    period's figures, each ``expiring`` one (without the k oldest spends) and ``empty`` (no spends).

    ``recomputer`` (``engine.privacy.recompute.Recomputer``): the child process that computes them."""
    from engine.privacy.accounting import recorded_period, totals_key
    from engine.privacy.recompute import compute

    out: list[str] = []
    checks: list[tuple[str, list]] = []  # (what, the recorded figures), one per job
    jobs: list = []
    for dataset, entries in sorted(ledger.by_dataset.items()):
        budget_ = budgets.get(dataset)
        if budget_ is None:
            continue
        entry = entries[-1]
        totals = entry.data.get("totals")
        if totals is None:
            continue
        pairs = [(float(e.epsilon), float(e.delta)) for e in recorded_period(budget_, entry, entries)]
        if totals["key"] != totals_key(budget_, pairs):
            continue  # recorded for another budget (changed since): never read, nothing to check
        where = f"{display}:{entry.line}: recorded totals differ from diffprivlib's for '{dataset}'"
        checks.append((where, [totals["epsilon"], totals["delta"], totals["exceeded"], totals["remaining_epsilon"],
                               totals["remaining_delta"]]))
        jobs.append((budget_, pairs))
        for k, found in enumerate(totals.get("expiring") or (), start=1):
            if k >= len(pairs):
                out.append(f"{where}: expiring figures for {k} of its {len(pairs)} spends dropped (at most "
                           f"{len(pairs) - 1})")
                break
            checks.append((f"{where} without its {k} oldest spend(s) (expiring", found))
            jobs.append((budget_, pairs[k:]))
        if "empty" in totals:
            checks.append((f"{where} with no spends (empty", totals["empty"]))
            jobs.append((budget_, []))
    if recomputer is not None:
        computed = recomputer.compute(jobs) if jobs else recomputer.close() or []
    else:
        computed = compute(jobs)
    for (where, found), expected in zip(checks, computed, strict=True):
        if found == expected:
            continue
        if where.endswith("("):
            out.append(f"{where}: recorded {found}; computed {expected})")
        else:
            out.append(f"{where} (recorded epsilon {found[0]!r}, exceeded {found[2]}; computed epsilon "
                       f"{expected[0]!r}, exceeded {expected[2]})")
    return out
