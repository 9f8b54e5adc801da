"""Privacy budgets: budgets declared on dataset cards (or in gavel.yaml), a durable ledger of
spends, and accounting with diffprivlib.

``build(config, inv, now)`` attaches a ``PrivacyState`` to the inventory (``inv.privacy``): the
``budget`` subjects and the ``privacy`` facts of models and datasets. Bad budgets and bad ledger
lines become ``error`` findings (policy ``gavel-privacy``) naming the file and line; the run goes on
and the gate fails closed. See docs/privacy.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine import schemas
from engine.errors import ConfigError
from engine.findings import Finding, InputDigest, Source, error_finding
from engine.privacy.accounting import Budget
from engine.privacy.ledger import DEFAULT_PATH, Ledger, LedgerProblem, integrity_problems, read_ledger

__all__ = ["Budget", "PrivacyState", "build", "check_config", "collect_budgets", "ledger_location", "load_ledger"]

POLICY = "gavel-privacy"
DEFAULT_LOCK_TIMEOUT = 30.0


def __getattr__(name: str):  # PrivacyState on first use: keeps `import engine.privacy` light
    if name == "PrivacyState":
        from engine.privacy.facts import PrivacyState

        return PrivacyState
    raise AttributeError(name)


def check_config(config) -> dict:
    """The validated ``privacy:`` section of gavel.yaml (errors name gavel.yaml's line)."""
    section = config.privacy or {}
    doc = config.document
    if section and doc is not None and isinstance(doc.data, dict) and isinstance(doc.data.get("privacy"), dict):
        schemas.check("privacy-config", doc, at=("privacy",), error=ConfigError)
    elif section:
        found = schemas.errors("privacy-config", section)
        if found:
            raise ConfigError("privacy: " + schemas.describe(found[0]), file=config.file)
    return section


def ledger_location(config) -> tuple[Path, str, bool]:
    """(absolute path, path as shown, whether gavel.yaml names it explicitly)."""
    section = config.privacy or {}
    relative = section.get("ledger") or DEFAULT_PATH
    path = config.path(relative)
    try:
        display = path.relative_to(config.root).as_posix()
    except ValueError:
        display = path.as_posix()
    return path, display, "ledger" in section


def lock_timeout(config) -> float:
    return float((config.privacy or {}).get("lock_timeout", DEFAULT_LOCK_TIMEOUT))


@dataclass
class Budgets:
    budgets: dict[str, Budget] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)


def collect_budgets(config, inv) -> Budgets:
    """Budgets from dataset cards, then from ``privacy.budgets`` in gavel.yaml.

    A budget declared twice, or one that cannot be used (slack above delta, a per-query cap above
    the budget), becomes an error finding and is left out.
    """
    out = Budgets()
    for dataset in sorted(inv.datasets):
        record = inv.datasets[dataset]
        spec = record.data.get("privacy_budget")
        if spec is None:
            continue
        source = Source(file=record.source.file, line=_card_line(config, record) or record.source.line)
        _add(out, Budget.from_spec(dataset, spec, source=source, declared_in="card",
                                   records=record.data.get("records")))
    doc = config.document
    for dataset, spec in sorted(((config.privacy or {}).get("budgets") or {}).items()):
        line = doc.line_of(["privacy", "budgets", dataset]) if doc is not None else None
        source = Source(file=_config_display(config), line=line)
        card = inv.datasets.get(dataset)
        if card is not None and "privacy_budget" in card.data:
            out.problems.append(_finding(
                f"budget for '{dataset}' declared twice: in gavel.yaml and on its card "
                f"({card.source.file}); keep one", dataset, source))
            out.budgets.pop(dataset, None)
            continue
        records = card.data.get("records") if card is not None else None
        _add(out, Budget.from_spec(dataset, spec, source=source, declared_in="config", records=records))
    return out


def _add(out: Budgets, budget: Budget) -> None:
    problem = budget.problem()
    if problem:
        out.problems.append(_finding(f"privacy budget of '{budget.dataset}': {problem}", budget.dataset,
                                     budget.source))
    else:
        out.budgets[budget.dataset] = budget


def _card_line(config, record) -> int | None:
    """The line of ``privacy_budget`` in a dataset card (a cheap text scan)."""
    try:  # the path as it is (not resolved first: one lstat per folder, x 1,000 cards): the same file
        text = (config.root / record.source.file).read_text(encoding="utf-8")
    except OSError:
        return None
    from engine.evidence.loader import Document

    return Document(record.source.file, text, None).key_line("privacy_budget")


def _config_display(config) -> str:
    if not config.file:
        return "gavel.yaml"
    try:
        return Path(config.file).resolve().relative_to(config.root).as_posix()
    except ValueError:
        return str(config.file)


def _finding(message: str, subject: str, source: Source | None, *, kind: str = "budget") -> Finding:
    return error_finding(policy=POLICY, title="Privacy budget and ledger are valid", message=message, kind=kind,
                         id=subject, file=source.file if source else None, line=source.line if source else None)


def load_ledger(config, known: set[str] | None, cache=None, *, lazy: bool = False) -> tuple[Ledger, list[LedgerProblem]]:
    """The ledger and every problem with it: malformed lines, a torn tail, order, ids, unknown datasets.

    ``cache`` (``engine.privacy.cache.PrivacyCache``) lets lines known to be valid skip their checks;
    ``lazy``: see ``parse_ledger``.
    """
    path, display, explicit = ledger_location(config)
    ledger = read_ledger(path, display, cache, lazy=lazy)
    problems = list(ledger.problems)
    if not ledger.exists and explicit:
        problems.append(LedgerProblem(None, "the ledger named by privacy.ledger in gavel.yaml does not exist "
                                            "(create an empty file for a ledger without spends)"))
    if ledger.torn is not None:
        problems.append(ledger.torn)
    problems += integrity_problems(ledger, known)
    return ledger, sorted(problems, key=lambda p: (p.line or 0, p.message))


def build(config, inv, now: str, *, lazy: bool = False) -> None:
    """Attach the privacy state to ``inv`` (see the module docstring); never raises on bad input.

    Every budget's usage is computed here (policies and ``gavel budget status`` read them all), so
    that the warm-path cache (``engine.privacy.cache``) can be saved once, before returning.
    ``lazy``: see ``parse_ledger`` (`gavel budget status`; `gavel check` reads every entry).
    """
    from engine.privacy.cache import PrivacyCache
    from engine.privacy.facts import PrivacyState

    check_config(config)
    found = collect_budgets(config, inv)
    inv.problems.extend(found.problems)
    known = set(inv.datasets) | set((config.privacy or {}).get("budgets") or {})
    cache = PrivacyCache.open(config)
    ledger, problems = load_ledger(config, known, cache, lazy=lazy)
    if ledger.sha256:
        inv.inputs.append(InputDigest(path=ledger.display, kind="ledger", sha256=ledger.sha256))
    for problem in problems:
        inv.problems.append(_finding(problem.message, problem.dataset or ledger.display,
                                     Source(file=ledger.display, line=problem.line)))
    state = inv.privacy = PrivacyState(budgets=found.budgets, ledger=ledger, now=now, lineage=inv.lineage,
                                       cache=cache)
    if cache is not None:
        for dataset in state.budgets:
            state.usage(dataset)
        cache.save()
