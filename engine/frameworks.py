"""Framework catalogs and the coverage matrix: which controls the policies in force check.

A catalog (``policies/_frameworks/<id>.yaml``) lists the controls of one framework: EU AI Act
articles, GDPR articles, NIST AI RMF subcategories, ISO/IEC 42001 Annex A controls. A policy's
``frameworks`` entries are free text; this module normalises them:

1. the reference starts with one of a catalog's ``reference_prefixes`` (``"EU AI Act"``,
   ``"GDPR"``, ``"NIST AI RMF"``, ``"ISO/IEC 42001"``); the rest, whitespace collapsed, is the
   control: ``"EU AI Act Art. 10(2)(f)"`` → (``eu-ai-act``, ``"Art. 10(2)(f)"``);
2. the control resolves to the most specific catalog entry it falls under, dropping trailing
   parenthesised parts: ``Art. 10(2)(f)`` → ``Art. 10(2)(f)`` if listed, else ``Art. 10(2)``,
   else ``Art. 10``; ``Annex IV(1)(a)`` → ``Annex IV``.

A catalog control is *checked* when a policy's reference resolves to it, *partly* checked when
only a more specific control under it is (``Art. 10`` when ``Art. 10(2)(f)`` is checked), and
*unchecked* otherwise. This maps what Gavel tests; it is not a claim of compliance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from engine.errors import UsageError
from engine.resources import policies_dir

_PARENS = re.compile(r"\([^()]*\)$")


@dataclass(frozen=True)
class Control:
    id: str
    title: str


@dataclass
class Framework:
    id: str
    title: str
    prefixes: list[str]
    scope: str
    controls: list[Control]

    def control_ids(self) -> set[str]:
        return {c.id for c in self.controls}


@dataclass
class Row:
    control: Control
    status: str  # checked | partly | unchecked
    policies: list[str] = field(default_factory=list)  # the policies that check it (or a sub-control)


def catalog_dir() -> Path:
    return policies_dir() / "_frameworks"


@cache
def catalogs() -> dict[str, Framework]:
    """Every framework catalog, by id."""
    import yaml

    out: dict[str, Framework] = {}
    for path in sorted(catalog_dir().glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[data["id"]] = Framework(
            id=data["id"],
            title=data["title"],
            prefixes=list(data.get("reference_prefixes", [])),
            scope=" ".join(str(data.get("scope", "")).split()),
            controls=[Control(str(c["id"]), str(c["title"])) for c in data["controls"]],
        )
    return out


def get_framework(name: str) -> Framework:
    found = catalogs().get(name)
    if found is None:
        from difflib import get_close_matches

        close = get_close_matches(name, list(catalogs()), n=1)
        hint = f" Did you mean {close[0]}?" if close else f" Choose from: {', '.join(catalogs())}."
        raise UsageError(f"unknown framework '{name}'.{hint}")
    return found


def parse_reference(reference: str) -> tuple[str, str] | None:
    """``"EU AI Act Art. 14"`` → ``("eu-ai-act", "Art. 14")``; None when no catalog's prefix matches."""
    text = " ".join(reference.split())
    best: tuple[int, str, str] | None = None
    for framework in catalogs().values():
        for prefix in framework.prefixes:
            if text.startswith(prefix + " ") and (best is None or len(prefix) > best[0]):
                best = (len(prefix), framework.id, text[len(prefix) + 1 :].strip())
    return (best[1], best[2]) if best else None


def resolve(framework: Framework, control: str) -> str | None:
    """The most specific catalog control that ``control`` falls under, or None."""
    ids = framework.control_ids()
    current = " ".join(control.split())
    while current:
        if current in ids:
            return current
        shorter = _PARENS.sub("", current).strip()
        if shorter == current:
            return None
        current = shorter
    return None


def parent_of(control: str) -> str | None:
    shorter = _PARENS.sub("", control).strip()
    return shorter if shorter != control else None


def coverage(policies, framework: Framework) -> tuple[list[Row], list[tuple[str, str]]]:
    """Rows for every control of ``framework``, and ``(policy id, reference)`` pairs it cannot place."""
    direct: dict[str, set[str]] = {}
    unknown: list[tuple[str, str]] = []
    for policy in policies:
        for reference in policy.frameworks:
            parsed = parse_reference(reference)
            if parsed is None or parsed[0] != framework.id:
                continue
            control = resolve(framework, parsed[1])
            if control is None:
                unknown.append((policy.id, reference))
                continue
            direct.setdefault(control, set()).add(policy.id)
    via: dict[str, set[str]] = {}
    for control, ids in direct.items():
        parent = parent_of(control)
        while parent:
            via.setdefault(parent, set()).update(ids)
            parent = parent_of(parent)
    rows = []
    for control in framework.controls:
        if control.id in direct:
            rows.append(Row(control, "checked", sorted(direct[control.id])))
        elif control.id in via:
            rows.append(Row(control, "partly", sorted(via[control.id])))
        else:
            rows.append(Row(control, "unchecked"))
    return rows, sorted(unknown)


def unknown_references(policies) -> list[tuple[str, str]]:
    """``(policy id, reference)`` pairs that no catalog can place (unknown prefix or control)."""
    out = []
    for policy in policies:
        for reference in policy.frameworks:
            parsed = parse_reference(reference)
            if parsed is None or resolve(catalogs()[parsed[0]], parsed[1]) is None:
                out.append((policy.id, reference))
    return sorted(out)
