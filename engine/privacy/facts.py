"""The privacy facts policies read: ``budget`` subjects, and ``privacy`` on models and datasets."""

from __future__ import annotations

from typing import Any

from engine.findings import Source
from engine.inventory import Record
from engine.privacy.accounting import DEFAULT_WARN_AT, Budget, Usage, account, tidy, window
from engine.privacy.ledger import Entry, Ledger


class PrivacyState:
    """Budgets, the ledger, and each budget's usage in its current period at ``now``."""

    def __init__(self, *, budgets: dict[str, Budget], ledger: Ledger, now: str, lineage: Any = None,
                 cache: Any = None):
        self.budgets = dict(sorted(budgets.items()))
        self.cache = cache  # engine.privacy.cache.PrivacyCache, or None
        self.ledger = ledger
        self.now = now
        self.lineage = lineage
        self.by_dataset: dict[str, list[Entry]] = ledger.by_dataset
        self._by_model: dict[str, list[Entry]] | None = None
        self._by_id: dict[str, Entry] | None = None
        self._usage: dict[str, Usage] = {}
        self._views: dict[str, dict[str, Any]] = {}

    @property
    def by_model(self) -> dict[str, list[Entry]]:
        """Spends naming a model, by model id (built on first use: only models need it)."""
        if self._by_model is None:
            self._by_model = {}
            for entry in self.ledger.entries:
                model = entry.model
                if model:
                    self._by_model.setdefault(model, []).append(entry)
        return self._by_model

    @property
    def by_id(self) -> dict[str, Entry]:
        if self._by_id is None:
            self._by_id = {}
            for entry in self.ledger.entries:
                self._by_id.setdefault(entry.id, entry)
        return self._by_id

    # -- accounting ------------------------------------------------------------------------------
    def usage(self, dataset: str) -> Usage:
        """``dataset``'s budget in its period holding ``now`` (computed once)."""
        found = self._usage.get(dataset)
        if found is None:
            budget = self.budgets[dataset]
            win = window(budget.period, self.now)
            entries = self.by_dataset.get(dataset, ())
            spends = win.select(entries, self.now)
            found = self._usage[dataset] = account(budget, spends, win, self.cache, latest=self.latest(dataset),
                                                   entries=entries)
        return found

    def latest(self, dataset: str) -> Entry | None:
        """The dataset's last ledger entry: the only one whose recorded totals are read (and verified).

        None when that entry's line fails its hash or its link (or has none): its totals are then not
        read, diffprivlib accounts the budget, and the line is reported as an error as always."""
        entries = self.by_dataset.get(dataset)
        return entries[-1] if entries and self.ledger.sealed(entries[-1]) else None

    def view(self, dataset: str, *, spends: bool = True) -> dict[str, Any]:
        """The budget as policies see it: declaration, period, spent, remaining, spends in the period.

        ``spends=False`` leaves the spends out (a summary: ``gavel budget status``).
        """
        found = self._views.get(dataset)
        if found is None:
            found = budget_view(self.usage(dataset), spends=spends)
            if not spends:
                return found
            self._views[dataset] = found
        elif not spends:
            found = {k: v for k, v in found.items() if k != "spends"}
        return found

    # -- the contract with engine.context --------------------------------------------------------
    def facts(self, record: Record) -> dict[str, Any]:
        """``input.privacy`` for a model or dataset: the budgets involved (and a model's spends)."""
        if record.kind == "dataset":
            return {"budgets": [self.view(record.id)] if record.id in self.budgets else [],
                    "spends": [e.view() for e in self.by_dataset.get(record.id, ()) if e.time <= self.now]}
        budgets = []
        for dataset, via in self.model_datasets(record):
            budgets.append({**self.view(dataset), "via": via})
        return {"budgets": budgets, "spends": [e.view() for e in self.model_spends(record)]}

    def subjects(self) -> list[Record]:
        """One ``budget`` subject per declared budget, sorted by dataset id."""
        return [Record("budget", dataset, self.view(dataset), budget.source)
                for dataset, budget in self.budgets.items()]

    # -- models ----------------------------------------------------------------------------------
    def model_datasets(self, record: Record) -> list[tuple[str, str]]:
        """Budgeted datasets a model learnt from: (dataset, "training_datasets" or "lineage")."""
        out: dict[str, str] = {}
        for dataset in record.data.get("training_datasets") or ():
            if dataset in self.budgets:
                out.setdefault(dataset, "training_datasets")
        dp = record.data.get("differential_privacy") or {}
        if dp.get("dataset") in self.budgets:
            out.setdefault(dp["dataset"], "differential_privacy")
        if self.lineage is not None:
            try:
                upstream = self.lineage.facts("model", record.id).get("upstream") or []
            except Exception:  # noqa: BLE001 - lineage problems are reported by the lineage stage
                upstream = []
            for node in upstream:
                node_id = str(node.get("id", ""))
                for candidate in (node_id, node_id.rpartition(".")[0]):
                    if candidate in self.budgets:
                        out.setdefault(candidate, "lineage")
                        break
        return sorted(out.items())

    def model_spends(self, record: Record) -> list[Entry]:
        """Spends naming the model, or the one its card's ``differential_privacy.ledger_ref`` names."""
        found = {e.line: e for e in self.by_model.get(record.id, ()) if e.time <= self.now}
        ref = (record.data.get("differential_privacy") or {}).get("ledger_ref")
        if ref and ref in self.by_id and self.by_id[ref].time <= self.now:
            found.setdefault(self.by_id[ref].line, self.by_id[ref])
        return [found[k] for k in sorted(found)]


def budget_view(usage: Usage, *, spends: bool = True) -> dict[str, Any]:
    budget = usage.budget
    out: dict[str, Any] = {
        "dataset": budget.dataset,
        "declared_in": budget.declared_in,
        "source": _source(budget.source),
        "epsilon_budget": budget.epsilon,
        "delta_budget": budget.delta,
        "period": budget.period,
        "composition": budget.composition,
        "slack": budget.slack,
    }
    for key in ("max_epsilon_per_query", "allowed_mechanisms", "approved_by", "reference"):
        if key in budget.spec:
            out[key] = budget.spec[key]
    out["warn_at"] = budget.spec.get("warn_at", DEFAULT_WARN_AT)
    if budget.records is not None:
        out["records"] = budget.records
    out.update(
        window=usage.window.view(),
        spent={"epsilon": tidy(usage.epsilon), "delta": tidy(usage.delta)},
        remaining={"epsilon": tidy(usage.remaining_epsilon), "delta": tidy(usage.remaining_delta)},
        used=tidy(min(usage.used, 1e9)),
        exceeded=usage.exceeded,
        spend_count=len(usage.spends),
    )
    if spends:
        out["spends"] = [e.view() for e in usage.spends]
    return out


def _source(source: Source | None) -> dict | None:
    return {"file": source.file, "line": source.line} if source else None
