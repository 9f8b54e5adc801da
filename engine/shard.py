"""Sharded audits: ``gavel check --shard K/N`` judges a deterministic 1/N of the subjects, and
``gavel report merge`` joins the N shard reports into the report one run would have written.

A subject belongs to shard ``1 + sha256(kind, id) mod N``: stable when subjects are added or
removed, independent of file order and of the machine. Every shard reads the whole inventory
(so cross-subject data, lineage and budgets are the same in all of them) and judges its own
subjects; findings about the run itself (kind ``waiver``: stale or invalid waivers) are written by
every shard, and the merge keeps those all shards agree on: a waiver is stale only if no shard
used it. Summary and gate are recomputed from the merged findings with the shards' gate settings.
"""

from __future__ import annotations

import hashlib
from typing import Any

from engine.errors import UsageError

GLOBAL_KINDS = ("waiver",)  # findings every shard writes: about the run, not about a subject


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` → ``(K, N)`` with 1 ≤ K ≤ N."""
    index, sep, count = text.partition("/")
    try:
        k, n = int(index), int(count)
    except ValueError:
        k = n = 0
    if not sep or n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard expects K/N with 1 <= K <= N (e.g. 2/4), got {text!r}")
    return k, n


def shard_of(kind: str, subject_id: str, count: int) -> int:
    """The shard (1..count) a subject belongs to."""
    digest = hashlib.sha256(f"{kind}\0{subject_id}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def in_shard(kind: str, subject_id: str, shard: tuple[int, int]) -> bool:
    return kind in GLOBAL_KINDS or shard_of(kind, subject_id, shard[1]) == shard[0]


def merge_reports(reports: list[tuple[str, Any]]):
    """Join shard reports (``(file, Report)`` pairs, one per shard) into one ``Report``."""
    from engine.check import _gating
    from engine.findings import Finding
    from engine.report import build_report, decide_gate

    if not reports:
        raise UsageError("no shard reports to merge")
    first_file, first = reports[0]
    count = _shard_info(first_file, first)[1]
    seen: dict[int, str] = {}
    for file, report in reports:
        index, n = _shard_info(file, report)
        if n != count:
            raise UsageError(f"shard {index}/{n} does not belong with {first_file} (shard of {count})", file=file)
        if index in seen:
            raise UsageError(f"shard {index}/{n} given twice (also {seen[index]})", file=file)
        seen[index] = file
        for name, mine, theirs in [("run", report.run, first.run), ("tool", report.tool, first.tool),
                                   ("inputs", report.inputs, first.inputs), ("policies", report.policies, first.policies),
                                   ("gate settings", _settings(report.gate), _settings(first.gate))]:
            if mine != theirs:
                raise UsageError(f"not a shard of the same run as {first_file}: its {name} differ", file=file)
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise UsageError(f"missing shard(s) {', '.join(f'{k}/{count}' for k in missing)}")

    findings: list[Finding] = []
    shared: list[list[Finding]] = []
    for _, report in reports:
        findings += [f for f in report.findings if f.subject.kind not in GLOBAL_KINDS]
        shared.append([f for f in report.findings if f.subject.kind in GLOBAL_KINDS])
    findings += _in_every(shared)
    extra = _merge_extra(reports, findings)
    gate = first.gate
    gate = decide_gate(_gating(findings, extra), fail_on=gate.fail_on, fail_on_warn=gate.fail_on_warn,
                       soft_fail=gate.soft_fail)
    return build_report(findings, inputs=first.inputs, policies=first.policies, now=first.run.now,
                        engine=first.run.engine, gate=gate, extra=extra)


def _shard_info(file: str, report) -> tuple[int, int]:
    info = report.extra.get("shard")
    if not isinstance(info, dict) or not isinstance(info.get("index"), int) or not isinstance(info.get("count"), int):
        raise UsageError("not a shard report (write shards with `gavel check --shard K/N -o json=PATH`)", file=file)
    return info["index"], info["count"]


def _settings(gate) -> tuple:
    return gate.fail_on, gate.fail_on_warn, gate.soft_fail


def _key(finding) -> str:
    import json

    return json.dumps(finding.to_dict(), sort_keys=True)


def _in_every(groups: list[list]) -> list:
    """The findings present in every group (once each, as many times as the fewest group has them)."""
    from collections import Counter

    counts = [Counter(_key(f) for f in group) for group in groups]
    common = counts[0]
    for other in counts[1:]:
        common &= other
    out = []
    for finding in groups[0]:
        key = _key(finding)
        if common[key] > 0:
            common[key] -= 1
            out.append(finding)
    return out


def _merge_extra(reports: list[tuple[str, Any]], findings: list) -> dict[str, Any]:
    first_file, first = reports[0]
    extras = [report.extra for _, report in reports]
    out: dict[str, Any] = {}
    for key, value in first.extra.items():
        if key == "shard":
            continue
        if key == "waivers":
            out[key] = _merge_waivers([e.get(key) for e in extras])
        elif key == "baseline":
            out[key] = _merge_baseline([e.get(key) for e in extras], first.extra["shard"].get("known", []), findings)
        elif any(e.get(key) != value for e in extras):
            raise UsageError(f"cannot merge extra.{key}: the shards disagree", file=first_file)
        else:
            out[key] = value
    return out


def _merge_waivers(infos: list[dict]) -> dict[str, Any]:
    """Usage counts add up; a waiver is stale only if it is stale in every shard."""
    first = infos[0]
    merged = dict(first)
    for field in ("applied", "expired"):
        totals: dict[str, dict] = {}
        for info in infos:
            for item in info.get(field, []):
                if item["key"] in totals:
                    totals[item["key"]]["findings"] += item["findings"]
                else:
                    totals[item["key"]] = dict(item)
        merged[field] = sorted(totals.values(), key=lambda w: (w.get("file") or "", w.get("line") or 0))
    stale = set.intersection(*({w["key"] for w in info.get("stale", [])} for info in infos))
    merged["stale"] = [w for w in first.get("stale", []) if w["key"] in stale]
    return merged


def shard_baseline(findings: list, config) -> tuple[dict[str, Any], list]:
    """A shard's ``extra["baseline"]``, over the findings about its own subjects; and the
    baseline's failing findings of the kinds every shard writes, for the merge to compare."""
    from engine.baseline import compare, load_baseline
    from engine.history import FAILING, finding_key

    report, source = load_baseline(config.baseline, config)
    own = [f for f in findings if f.subject.kind not in GLOBAL_KINDS]
    known = sorted(list(finding_key(f)) for f in report.findings
                   if f.status in FAILING and f.subject.kind in GLOBAL_KINDS)
    return {"source": source, **compare(own, report)}, known


def _merge_baseline(infos: list[dict], known: list, findings: list) -> dict[str, Any]:
    """New findings and the count of known ones add up; a known finding is fixed only if no shard
    has it; the merged findings every shard wrote are compared here, once."""
    from engine.history import FAILING, finding_key

    merged = dict(infos[0])
    new = [item for info in infos for item in info["new"]]
    existing = sum(info["existing"] for info in infos)
    known_set = {tuple(item) for item in known}
    current = set()
    for f in findings:
        if f.subject.kind in GLOBAL_KINDS and f.status in FAILING:
            key = finding_key(f)
            current.add(tuple(key))
            if tuple(key) in known_set:
                existing += 1
            else:
                new.append([f.policy, f.subject.kind, f.subject.id, f.message])
    merged["new"] = sorted(new)
    merged["existing"] = existing
    fixed = set.intersection(*({tuple(item) for item in info["fixed"]} for info in infos)) - current
    merged["fixed"] = sorted(list(item) for item in fixed)
    return merged
