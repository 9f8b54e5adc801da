"""Budgets, periods and accounting: how much of a dataset's budget the ledger has spent.

Composition is diffprivlib's ``BudgetAccountant`` (``total()`` for the spend so far, with the
slack for advanced composition; ``remaining()`` for what one more release may use); nothing here
re-derives it. diffprivlib imports scikit-learn (about a second), so it is imported inside the
functions that need it, which run only when a budget exists.

Periods are computed from the run's ``now`` (never the wall clock): ``lifetime``, a rolling
window of N days ending at ``now``, or the calendar month, quarter or year (UTC) holding ``now``.
Spends dated after ``now`` are not counted (a report for an earlier ``now`` sees the ledger as it
stood then).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.findings import Source

#: Totals within this relative distance of the budget count as within it, so that floating-point
#: sums such as 0.1 + 0.2 do not overdraw a budget of 0.3.
TOLERANCE = 1e-9
DEFAULT_WARN_AT = 0.8


@dataclass(frozen=True)
class Budget:
    """One dataset's privacy budget, validated, with defaults applied."""

    dataset: str
    epsilon: float
    delta: float
    period: dict[str, Any]
    composition: str
    slack: float
    source: Source
    declared_in: str  # "card" or "config"
    spec: dict[str, Any]  # as declared
    records: int | None = None

    @classmethod
    def from_spec(cls, dataset: str, spec: dict[str, Any], *, source: Source, declared_in: str,
                  records: int | None) -> Budget:
        composition = spec.get("composition", "basic")
        return cls(
            dataset=dataset,
            epsilon=float(spec["epsilon_budget"]),
            delta=float(spec.get("delta_budget", 0.0)),
            period=dict(spec.get("period") or {"kind": "lifetime"}),
            composition=composition,
            slack=float(spec.get("slack", 0.0)) if composition == "advanced" else 0.0,
            source=source,
            declared_in=declared_in,
            spec=spec,
            records=records,
        )

    @property
    def cap(self) -> float | None:
        return self.spec.get("max_epsilon_per_query")

    @property
    def mechanisms(self) -> list[str] | None:
        return self.spec.get("allowed_mechanisms")

    def problem(self) -> str | None:
        """What makes this budget unusable beyond its schema, or None."""
        if self.records is not None and not (isinstance(self.records, int) and self.records >= 1):
            # n = 0 would switch the delta < 1/n check off (policy and `budget spend`): fail closed instead
            return (f"records is {self.records!r}: the delta < 1/n check needs the dataset's number of records "
                    "(n >= 1); remove records or give the real count")
        if self.slack > self.delta:
            return f"slack {self.slack:g} exceeds delta_budget {self.delta:g} (the slack is part of the delta spent)"
        cap = self.cap
        if cap is not None and cap > self.epsilon:
            return f"max_epsilon_per_query {cap:g} exceeds epsilon_budget {self.epsilon:g}"
        return None


@dataclass(frozen=True)
class Window:
    """A period: spends with ``start <= time < end`` (None: unbounded) and ``time <= now`` count."""

    label: str
    start: str | None
    end: str | None

    def holds(self, stamp: str, now: str) -> bool:
        return (self.start is None or stamp >= self.start) and (self.end is None or stamp < self.end) and stamp <= now

    def select(self, entries, now: str) -> list:
        """The entries this window holds, as of ``now`` (ledger times and ``now`` share one format,
        so string order is time order)."""
        low = self.start or ""
        high = now + "\x00"  # for same-length strings: stamp < now + NUL  <=>  stamp <= now
        if self.end is not None and self.end < high:
            high = self.end
        return [e for e in entries if low <= e.time < high]

    def view(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start, "end": self.end}


def parse_time(stamp: str) -> datetime:
    """An RFC 3339 time (``Z`` or an offset; a bare date is midnight UTC) as an aware UTC datetime."""
    text = stamp.strip()
    moment = datetime.fromisoformat(text.replace("Z", "+00:00") if len(text) > 10 else text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def window(period: dict[str, Any], now: str) -> Window:
    """The period of ``period`` that holds ``now``."""
    kind = period.get("kind", "lifetime")
    if kind == "lifetime":
        return Window("lifetime", None, None)
    moment = parse_time(now)
    if kind == "rolling":
        days = int(period["days"])
        return Window(f"last {days} days", format_time(moment - timedelta(days=days)), None)
    return calendar_window(period["unit"], moment)


def calendar_window(unit: str, moment: datetime) -> Window:
    year, month = moment.year, moment.month
    if unit == "month":
        first, months, label = month, 1, f"{year}-{month:02d}"
    elif unit == "quarter":
        first, months, label = 3 * ((month - 1) // 3) + 1, 3, f"{year}-Q{(month - 1) // 3 + 1}"
    else:
        first, months, label = 1, 12, f"{year}"
    start = datetime(year, first, 1, tzinfo=UTC)
    after = first - 1 + months
    end = datetime(year + after // 12, after % 12 + 1, 1, tzinfo=UTC)
    return Window(label, format_time(start), format_time(end))


def history_windows(budget: Budget, stamps: list[str], now: str) -> list[Window]:
    """Every period that holds a spend, oldest first, plus the current one (calendar budgets)."""
    if budget.period.get("kind") != "calendar":
        return [window(budget.period, now)]
    unit = budget.period["unit"]
    seen: dict[str, Window] = {}
    for stamp in [*stamps, now]:
        if stamp <= now:
            w = calendar_window(unit, parse_time(stamp))
            seen.setdefault(w.label, w)
    return sorted(seen.values(), key=lambda w: w.start or "")


@dataclass
class Usage:
    """What a budget has spent in one period, by diffprivlib's accounting."""

    budget: Budget
    window: Window
    spends: list = field(default_factory=list)  # ledger Entry objects in the window
    epsilon: float = 0.0
    delta: float = 0.0
    remaining_epsilon: float = 0.0
    remaining_delta: float = 0.0
    exceeded: bool = False
    #: where the figures come from: "recorded" (the totals diffprivlib computed when the period's last
    #: spend was recorded, read from the ledger), "cache" (the warm-path cache) or "diffprivlib" (computed
    #: now, which imports diffprivlib and scikit-learn): `gavel budget status` says which
    source: str = "diffprivlib"

    @property
    def used(self) -> float:
        """The larger of the epsilon and delta fractions of the budget spent."""
        parts = [self.epsilon / self.budget.epsilon]
        if self.budget.delta > 0:
            parts.append(self.delta / self.budget.delta)
        elif self.delta > 0:
            parts.append(math.inf)
        return max(parts)


def _accountant(budget: Budget):
    """A diffprivlib ``BudgetAccountant`` with ``budget``'s ceiling and slack, and no spends.

    Histories are passed to ``total(spent_budget=...)``: ``BudgetAccountant.spend()`` re-checks
    the whole history on every call (quadratic over a ledger) and cannot hold an overdrawn one.
    """
    from diffprivlib.accountant import BudgetAccountant

    return BudgetAccountant(epsilon=budget.epsilon, delta=budget.delta, slack=budget.slack)


def preload() -> None:
    """Import diffprivlib (and scikit-learn, about a second) now: `budget spend` calls this before it
    takes the ledger lock, so that no writer holds the lock through an import."""
    import diffprivlib.accountant  # noqa: F401
    import diffprivlib.utils  # noqa: F401
    import scipy.optimize  # noqa: F401


def within(budget: Budget, total: tuple[float, float]) -> bool:
    """``total`` (epsilon, delta) fits ``budget`` (diffprivlib's ``Budget`` order, with TOLERANCE)."""
    from diffprivlib.utils import Budget as Pair

    ceiling = Pair(budget.epsilon * (1 + TOLERANCE), min(1.0, budget.delta * (1 + TOLERANCE)))
    return ceiling >= total


def account(budget: Budget, spends: list, win: Window, cache=None, *, latest=None, entries=()) -> Usage:
    """Total the ``spends`` (ledger entries already inside ``win``) against ``budget``.

    A period without spends under basic composition composes nothing: diffprivlib's total of no spends
    is (0, 0) and what remains is the budget (tests hold this to diffprivlib's ``BudgetAccountant``).
    Otherwise, when ``latest`` (the dataset's last ledger entry, sealed; ``entries``: the dataset's
    entries) recorded totals for exactly this budget and these spends, they are used (``recorded``): the
    totals `gavel budget verify` recomputes are those of each dataset's last entry, so only those are
    ever read. With ``cache`` (``engine.privacy.cache.PrivacyCache``), a result diffprivlib computed for
    the same budget and the same (epsilon, delta) pairs is reused, and a new one is stored. Else
    diffprivlib computes it.
    """
    usage = Usage(budget, win, list(spends))
    if not spends and budget.composition == "basic":
        usage.remaining_epsilon, usage.remaining_delta = budget.epsilon, budget.delta
        usage.source = "empty"
        return usage
    found = recorded(budget, spends, latest, entries) if latest is not None else None
    if found is not None:
        usage.epsilon, usage.delta, usage.exceeded, usage.remaining_epsilon, usage.remaining_delta = found
        usage.source = "recorded"
        return usage
    pairs = [(float(e.epsilon), float(e.delta)) for e in spends]
    if cache is not None:
        from engine.privacy.cache import result_key

        key = result_key(budget, pairs)
        found = cache.result(key)
        if found is not None:
            usage.epsilon, usage.delta, usage.exceeded, usage.remaining_epsilon, usage.remaining_delta = found
            usage.source = "cache"
            return usage
        _total(usage, budget, pairs)
        cache.put_result(key, figures(usage))
        return usage
    _total(usage, budget, pairs)
    return usage


def totals_key(budget: Budget, pairs: list[tuple[float, float]]) -> str:
    """What a recorded result is for: the budget and the (epsilon, delta) pairs composed."""
    from engine.privacy.cache import result_key

    return result_key(budget, pairs)[:32]


def recorded_period(budget: Budget, latest, entries) -> list:
    """The spends ``latest``'s totals are for: its budget period as of ``latest``, up to and including it."""
    return window(budget.period, latest.time).select(entries, latest.time)


def recorded(budget: Budget, spends: list, latest, entries=()) -> list | None:
    """The figures diffprivlib computed when ``latest`` (the dataset's last entry) was recorded, if they are
    for exactly this budget and ``spends``; None otherwise (then diffprivlib is asked).

    ``latest``'s ``totals`` (inside the hash chain; `gavel budget verify` recomputes every figure with
    diffprivlib) are for the spends of its period as of ``latest`` (``key``). A later ``now`` sees a
    suffix of those: the same (``epsilon``, ...), or, in a rolling window, fewer once the oldest have
    expired (``expiring[k - 1]``: without the k oldest, k up to ``EXPIRING``), or none (``empty``: what
    diffprivlib says of no spends under advanced composition, which counts the slack as spent).
    """
    totals = latest.data.get("totals")
    if not totals:
        return None
    then = recorded_period(budget, latest, entries or spends)
    dropped = len(then) - len(spends)
    if dropped < 0 or not then or then[-1] is not latest or \
            any(a is not b for a, b in zip(spends, then[dropped:], strict=True)):
        return None  # not a suffix of the recorded spends
    if totals["key"] != totals_key(budget, [(float(e.epsilon), float(e.delta)) for e in then]):
        return None  # recorded for another budget (changed since)
    if dropped == 0:
        return [totals["epsilon"], totals["delta"], totals["exceeded"], totals["remaining_epsilon"],
                totals["remaining_delta"]]
    if not spends:
        return totals.get("empty")
    expiring = totals.get("expiring") or ()
    return expiring[dropped - 1] if dropped <= len(expiring) else None


def computed(budget: Budget, spends: list) -> Usage:
    """``spends`` (the period's, up to and including a new one) accounted by diffprivlib, never from a record."""
    usage = Usage(budget, Window("", None, None), list(spends))
    _total(usage, budget, [(float(e.epsilon), float(e.delta)) for e in spends])
    return usage


def figures(usage: Usage) -> list:
    """[epsilon, delta, exceeded, remaining epsilon, remaining delta]: one recorded (or cached) result."""
    return [usage.epsilon, usage.delta, usage.exceeded, usage.remaining_epsilon, usage.remaining_delta]


def totals_of(usage: Usage) -> dict[str, Any]:
    """The ``totals`` member recorded with the last spend of ``usage``: diffprivlib's figures for the spends
    of its period, and those a later reader needs once spends leave it (``recorded``): in a rolling
    window, without the k oldest (k = 1 .. ``EXPIRING``, fewer than all); under advanced composition
    (rolling or calendar), with none left."""
    from engine.privacy.ledger import EXPIRING

    budget, spends = usage.budget, usage.spends
    pairs = [(float(e.epsilon), float(e.delta)) for e in spends]
    out: dict[str, Any] = {"key": totals_key(budget, pairs), "epsilon": usage.epsilon, "delta": usage.delta,
                           "exceeded": usage.exceeded, "remaining_epsilon": usage.remaining_epsilon,
                           "remaining_delta": usage.remaining_delta}
    kind = budget.period.get("kind", "lifetime")
    if kind == "rolling" and len(spends) > 1:
        out["expiring"] = [figures(computed(budget, spends[k:])) for k in range(1, min(len(spends), EXPIRING + 1))]
    if kind != "lifetime" and budget.composition != "basic":
        out["empty"] = figures(computed(budget, []))
    return out


def _total(usage: Usage, budget: Budget, pairs: list[tuple[float, float]]) -> None:
    accountant = _accountant(budget)
    epsilon, delta = accountant.total(spent_budget=pairs)
    usage.epsilon, usage.delta = float(epsilon), float(delta)
    usage.exceeded = not within(budget, (epsilon, delta))
    if not usage.exceeded:
        usage.remaining_epsilon, usage.remaining_delta = remaining(budget, pairs, (usage.epsilon, usage.delta))


def remaining(budget: Budget, history: list[tuple[float, float]], total: tuple[float, float]) -> tuple[float, float]:
    """What one more release may spend: diffprivlib's ``remaining()`` (k=1), solved faster.

    ``BudgetAccountant.remaining()`` bisects ``total(history + [(x, 0)]) = epsilon budget`` over
    [0, epsilon budget]: about 55 evaluations of ``total()``. This solves the same equation, and
    the delta one (``total(history + [(., d)]).delta = delta budget``), with scipy's ``brentq``,
    first in a narrow bracket around the additive estimate (exact for basic composition), else
    over the whole range: a few evaluations each (tests hold the results to diffprivlib's). Basic
    composition is associative, so a basic history composes to one spend, its total.
    """
    basic = budget.composition == "basic"
    if history and basic:
        history = [total]
    probe = _accountant(budget)
    ceiling = budget.epsilon

    def over(x: float) -> float:
        return float(probe.total(spent_budget=history + [(x, 0.0)])[0]) - ceiling

    left_epsilon = _solve(over, ceiling - total[0], ceiling * 1e-12, ceiling)
    left_delta = 0.0
    if budget.delta > 0 and left_epsilon > 0:
        # delta composes apart from epsilon: the history's delta (without the slack) as one spend
        base = total[1] if basic else float(probe.total(spent_budget=history, slack=0)[1]) if history else 0.0
        spent = [(1.0, base)] if base > 0 else []

        def over_delta(d: float) -> float:
            return float(probe.total(spent_budget=spent + [(1.0, d)])[1]) - budget.delta

        guess = 1 - (1 - budget.delta) / (1 - total[1]) if total[1] < 1 else 0.0
        left_delta = _solve(over_delta, guess, 0.0, budget.delta)
    return max(0.0, left_epsilon), max(0.0, left_delta)


def _solve(f, guess: float, low: float, high: float) -> float:
    """The largest x in [low, high] with ``f(x) <= 0``, for an increasing ``f`` (0 when ``f(low) > 0``).

    First a bracket of a few parts in 10¹² around ``guess``: when ``f`` changes sign across it, its
    lower end is the answer (two evaluations). Otherwise scipy's ``brentq`` over [low, high].
    """
    from scipy.optimize import brentq

    width = max(abs(guess) * 1e-12, high * 1e-14)
    if low < guess - width and guess + width < high and f(guess - width) <= 0 < f(guess + width):
        return guess - width
    if f(low) > 0:
        return 0.0
    if f(high) <= 0:
        return high
    root = float(brentq(f, low, high, xtol=high * 1e-13, rtol=1e-12))
    return root if f(root) <= 0 else max(low, root - high * 1e-13)


def fits(budget: Budget, spends: list, epsilon: float, delta: float) -> tuple[bool, float, float]:
    """Would one more spend of (``epsilon``, ``delta``) keep the period within ``budget``?

    Returns the verdict and the totals with the new spend included.
    """
    pairs = [(float(e.epsilon), float(e.delta)) for e in spends] + [(epsilon, delta)]
    total = _accountant(budget).total(spent_budget=pairs)
    return within(budget, total), float(total[0]), float(total[1])


def tidy(value: float) -> float:
    """A float to 12 significant digits, for reports (0.1 + 0.2 shows as 0.3)."""
    return float(f"{value:.12g}")
