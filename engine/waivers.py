"""Waivers: accepted exceptions, each with an owner, an approver and an end date.

A ``waivers.yaml`` (``schemas/waivers.schema.json``)::

    version: 1
    waivers:
      - id: RISK-112
        policy: production-monitoring        # policy id or glob
        subject: collections-prioritizer     # subject id or glob
        kind: model                          # optional: only this subject kind
        reason: Batch model; monitoring ships with the Q1 platform release.
        owner: credit-risk-ml@bank.example
        approver: model-risk-committee@bank.example
        expires: 2027-03-31                  # last day (UTC) it applies

Rules (fail closed):

- A matching, unexpired waiver turns a ``fail`` or ``warn`` into ``waived``; the finding stays in
  every report with the waiver attached (``finding.waiver``). ``error`` findings are never waived:
  they mean Gavel could not judge, and a waiver cannot make up for missing evidence.
- An expired waiver no longer applies: the finding keeps its status and its message says
  ``(waiver RISK-112 expired on 2026-10-31)``.
- An invalid file or entry (no owner, approver or expiry, a bad date, an unknown key) becomes an
  ``error`` finding of the pseudo-policy ``gavel-waivers`` (subject kind ``waiver``) naming the
  file and line, so the gate fails. Valid entries of the same file still apply.
- A waiver that matches no ``fail``/``warn`` finding is stale: it becomes a ``warn`` finding of
  ``gavel-waivers`` (so it fails the gate only with ``--fail-on-warn``) and is listed in
  ``report.extra["waivers"]["stale"]``. A run limited to some subjects (``--subject``) calls
  stale only the waivers that could apply to one of them: the others were not judged.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from engine.findings import Finding, Findings, SubjectRef, error_finding
from engine.findings import Source as _Source

POLICY = "gavel-waivers"
WAIVABLE = ("fail", "warn")


@dataclass(frozen=True)
class Waiver:
    """One valid waiver entry; ``key`` identifies it in reports (its id, else ``file:line``)."""

    key: str
    policy: str
    subject: str
    reason: str
    owner: str
    approver: str
    expires: str
    file: str
    line: int | None
    id: str | None = None
    kind: str | None = None
    ticket: str | None = None

    def matches(self, finding: Finding) -> bool:
        return fnmatch.fnmatchcase(finding.policy, self.policy) and self.names(finding.subject.kind, finding.subject.id)

    def names(self, kind: str, subject_id: str) -> bool:
        """This waiver may match findings on the subject ``kind``/``subject_id`` (policy aside)."""
        return (self.kind is None or self.kind == kind) and fnmatch.fnmatchcase(subject_id, self.subject)

    def expired(self, today: date) -> bool:
        return date.fromisoformat(self.expires) < today

    def record(self) -> dict[str, Any]:
        """What a waived finding carries (``finding.waiver``)."""
        out: dict[str, Any] = {"id": self.id} if self.id else {}
        out.update(policy=self.policy, subject=self.subject, reason=self.reason, owner=self.owner,
                   approver=self.approver, expires=self.expires)
        if self.ticket:
            out["ticket"] = self.ticket
        return out

    def summary(self) -> dict[str, Any]:
        return {"key": self.key, "policy": self.policy, "subject": self.subject, "owner": self.owner,
                "expires": self.expires, "file": self.file, "line": self.line}


def load_waivers(path: Path, display: str) -> tuple[list[Waiver], list[Finding], str | None]:
    """Parse and validate a waivers file: the valid waivers, an ``error`` finding per problem, and
    the SHA-256 of the text read (None when it could not be read)."""
    import hashlib

    from engine import schemas
    from engine.errors import EvidenceError
    from engine.evidence.loader import parse, read_text

    def problem(message: str, line: int | None, sid: str | None = None) -> Finding:
        return error_finding(policy=POLICY, title="Waivers are valid", message=message, kind="waiver",
                             id=sid or display, file=display, line=line)

    try:  # one read: a FIFO or a dangling symlink is refused, never waited on
        text = read_text(path, display)
    except EvidenceError as exc:
        return [], [problem(f"waivers file unusable: {exc.message}", exc.line)], None
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        doc = parse(text, display)
    except EvidenceError as exc:
        return [], [problem(f"waivers file unusable: {exc.message}", exc.line)], sha
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("waivers"), list):
        return [], [problem("waivers file must be a mapping with a 'waivers' list", 1)], sha
    bad_entries: dict[int, list] = {}
    problems: list[Finding] = []
    for err in schemas.errors("waivers", data):
        loc = list(err.absolute_path)
        if len(loc) >= 2 and loc[0] == "waivers" and isinstance(loc[1], int):
            bad_entries.setdefault(loc[1], []).append(err)
        else:
            problems.append(problem(f"invalid waivers file: {schemas.describe(err)}", doc.line_of(loc)))
    if problems:  # the file as a whole is wrong: apply nothing from it
        return [], problems, sha
    waivers: list[Waiver] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["waivers"]):
        line = doc.line_of(["waivers", index])
        label = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None
        key = label or f"{display}:{line}"
        if index in bad_entries:
            err = bad_entries[index][0]
            what = schemas.describe(err).replace(f"field 'waivers[{index}]': ", "")
            what = what.replace(f"field 'waivers[{index}].", "field '")
            problems.append(problem(f"invalid waiver {key}: {what}; it does not apply",
                                    doc.line_of(list(err.absolute_path)) or line, key))
            continue
        try:
            date.fromisoformat(entry["expires"])
        except ValueError:
            problems.append(problem(f"invalid waiver {key}: expires {entry['expires']!r} is not a date; "
                                    "it does not apply", doc.line_of(["waivers", index, "expires"]), key))
            continue
        if key in seen:
            problems.append(problem(f"duplicate waiver id {key} (also on line {seen[key]}); it does not apply",
                                    line, key))
            continue
        seen[key] = line
        waivers.append(Waiver(key=key, policy=entry["policy"], subject=entry["subject"], reason=entry["reason"],
                              owner=entry["owner"], approver=entry["approver"], expires=entry["expires"],
                              file=display, line=line, id=entry.get("id"), kind=entry.get("kind"),
                              ticket=entry.get("ticket")))
    return waivers, problems, sha


def apply_waivers(findings: list[Finding] | Findings, config, *, now: str,
                  judged: list[tuple[str, str]] | None = None) -> tuple[list[Finding] | Findings, dict[str, Any]]:
    """Apply ``config.waivers`` to ``findings``; returns the new findings and ``report.extra["waivers"]``.
    ``judged``: the ``(kind, id)`` of each subject of a run limited to some (else every one was)."""
    display = config.waivers
    path = config.path(display)
    if not os.path.lexists(path):
        missing = error_finding(policy=POLICY, title="Waivers are valid", kind="waiver", id=display, file=display,
                                message=f"waivers file not found: {display}")
        return findings + [missing], {"file": display, "applied": [], "expired": [], "stale": [], "invalid": 1}
    waivers, problems, sha = load_waivers(path, display)
    out, info = waive(findings, waivers, today=_today(now), file=display, problems=problems, judged=judged)
    info["sha256"] = sha
    return out, info


def waive(findings: list[Finding] | Findings, waivers: list[Waiver], *, today: date, file: str,
          problems: list[Finding] = (), judged: list[tuple[str, str]] | None = None,
          ) -> tuple[list[Finding] | Findings, dict[str, Any]]:
    """The pure part of :func:`apply_waivers`: match, waive, note expiries, report stale waivers.

    Of ``Findings``, only the blocks of subjects some waiver names (kind and id) are read: no
    waiver can match a finding of the others."""
    used: dict[str, int] = {}
    expired_used: dict[str, int] = {}

    def match(findings: list[Finding]) -> list[Finding]:
        out: list[Finding] = []
        for finding in findings:
            if finding.status not in WAIVABLE:
                out.append(finding)
                continue
            live = expired = None
            for waiver in waivers:  # the first matching waiver in file order wins
                if waiver.matches(finding):
                    if not waiver.expired(today):
                        live = waiver
                        break
                    expired = expired or waiver
            if live is not None:
                used[live.key] = used.get(live.key, 0) + 1
                out.append(replace(finding, status="waived", waiver=live.record()))
            elif expired is not None:
                expired_used[expired.key] = expired_used.get(expired.key, 0) + 1
                note = f"(waiver {expired.key} expired on {expired.expires})"
                evidence = finding.evidence
                if isinstance(evidence, dict) or evidence is None:
                    evidence = {**(evidence or {}), "expired_waiver": expired.record()}
                message = f"{finding.message} {note}" if finding.message else note
                out.append(replace(finding, message=message, evidence=evidence))
            else:
                out.append(finding)
        return out

    if isinstance(findings, Findings):
        out = findings.edit(lambda kind, sid: any(w.names(kind, sid) for w in waivers), match)
    else:
        out = match(findings)
    stale = [w for w in waivers if w.key not in used and w.key not in expired_used
             and (judged is None or any(w.names(kind, sid) for kind, sid in judged))]
    added: list[Finding] = []
    for waiver in stale:
        ended = " and has expired" if waiver.expired(today) else ""
        added.append(Finding(
            policy=POLICY, title="Waivers match a current finding", severity="low", status="warn",
            subject=SubjectRef(kind="waiver", id=waiver.key, source=_Source(file=waiver.file, line=waiver.line)),
            message=f"stale waiver {waiver.key}: policy {waiver.policy!r} / subject {waiver.subject!r} matches no "
                    f"failing finding{ended}; remove it",
            evidence=waiver.summary(),
            remediation="Delete waivers that no longer match anything, so each one keeps meaning something.",
        ))
    out = out + [*added, *problems]
    info = {
        "file": file,
        "sha256": None,
        "applied": [{**w.summary(), "findings": used[w.key]} for w in waivers if w.key in used],
        "expired": [{**w.summary(), "findings": expired_used[w.key]} for w in waivers if w.key in expired_used],
        "stale": [w.summary() for w in stale],
        "invalid": len(problems),
    }
    return out, info


def _today(now: str) -> date:
    return date.fromisoformat(now[:10])
