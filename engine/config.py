"""The project config, ``gavel.yaml``: where evidence, policies and sources are, and the gate.

Every option can also be set from the command line, either by a named flag or with
``--set key.path=value`` (a YAML value), which is applied before validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine import schemas
from engine.errors import ConfigError, EvidenceError
from engine.evidence.loader import Document, parse, read_text

CONFIG_NAMES = ("gavel.yaml", "gavel.yml")


@dataclass
class EvidenceSource:
    path: list[str]
    kind: str
    format: str = "gavel"
    exclude: list[str] = field(default_factory=list)


@dataclass
class Config:
    """A validated ``gavel.yaml`` with CLI overrides applied. Paths resolve against ``root``."""

    root: Path
    file: str | None = None
    evidence: list[EvidenceSource] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)
    policy_paths: list[str] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    disable: list[str] = field(default_factory=list)
    allow_builtins: list[str] = field(default_factory=list)  # I/O builtins the policy set may call
    lineage: dict[str, Any] = field(default_factory=dict)
    privacy: dict[str, Any] = field(default_factory=dict)
    waivers: str | None = None
    fail_on: str = "low"
    fail_on_warn: bool = False
    soft_fail: bool = False
    baseline: str | None = None
    outputs: list[str] = field(default_factory=list)
    engine: str = "embedded"
    opa_url: str | None = None
    opa_token: str | None = None
    timeout: float = 10.0
    workers: int = 0
    history: bool = False
    history_path: str = ".gavel/history.db"
    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    now: str | None = None
    cache: bool = True
    cache_path: str = ".gavel/cache"
    document: Document | None = None  # the parsed gavel.yaml, for line numbers in later checks

    def path(self, relative: str) -> Path:
        return (self.root / relative).resolve()

    def engine_options(self) -> dict[str, Any]:
        """What the Rego engine named by ``engine`` is constructed with."""
        if self.engine == "opa":
            return {"url": self.opa_url, "token": self.opa_token, "timeout": self.timeout}
        return {}


def find_config(target: Path) -> Path | None:
    """``target`` itself if it is a file, else ``gavel.yaml`` inside it."""
    if target.is_file():
        return target
    for name in CONFIG_NAMES:
        if (target / name).is_file():
            return target / name
    return None


def load_config(target: str | Path = ".", *, overrides: list[str] = (), settings: dict[str, Any] | None = None) -> Config:
    """Read and validate the config at ``target`` (a directory or a file), then apply ``--set`` overrides.

    A directory without ``gavel.yaml`` gives the defaults: evidence under ``models/`` and
    ``datasets/``, policies under ``policies/``.
    """
    target = Path(target)
    if not target.exists():
        raise ConfigError(f"no such file or directory: {target}")
    file = find_config(target)
    root = (file.parent if file else target).resolve()
    if file is None:
        doc = Document("<defaults>", "", _defaults(root))
    else:
        display = str(file)
        try:
            doc = parse(read_text(file, display), display)
        except EvidenceError as exc:
            raise ConfigError(exc.message, file=exc.file, line=exc.line) from None
        if doc.data is None:
            doc.data = {}
        if not isinstance(doc.data, dict):
            raise ConfigError("the config must be a mapping", file=display, line=1)
    for item in overrides:
        _apply_override(doc.data, item)
    for key, value in (settings or {}).items():
        _set(doc.data, key, value)
    schemas.check("config", doc, error=ConfigError)
    return _from_dict(doc.data, root=root, file=str(file) if file else None, doc=doc)


def _defaults(root: Path) -> dict:
    data: dict[str, Any] = {"evidence": [{"path": "models/**/*.y*ml", "kind": "model"},
                                         {"path": "models/**/*.json", "kind": "model"},
                                         {"path": "datasets/**/*.y*ml", "kind": "dataset"},
                                         {"path": "datasets/**/*.json", "kind": "dataset"}]}
    if (root / "policies").is_dir():
        data["policies"] = {"paths": ["policies"]}
    return data


def _apply_override(data: dict, item: str) -> None:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    _set(data, key, value)


def _set(data: dict, key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: '{part}' is not a section")
    node[last] = value


def _listify(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _from_dict(data: dict, *, root: Path, file: str | None, doc: Document) -> Config:
    pol = data.get("policies", {})
    gate = data.get("gate", {})
    eng = data.get("engine", {})
    hist = data.get("history", {})
    lim = data.get("limits", {})
    return Config(
        root=root,
        file=file,
        evidence=[
            EvidenceSource(_listify(e["path"]), e["kind"], e.get("format", "gavel"), _listify(e.get("exclude")))
            for e in data.get("evidence", [])
        ],
        packs=list(pol.get("packs", [])),
        policy_paths=list(pol.get("paths", [])),
        params=dict(pol.get("params", {})),
        disable=list(pol.get("disable", [])),
        allow_builtins=list(pol.get("allow_builtins", [])),
        lineage=dict(data.get("lineage", {})),
        privacy=dict(data.get("privacy", {})),
        waivers=data.get("waivers"),
        fail_on=gate.get("fail_on", "low"),
        fail_on_warn=gate.get("fail_on_warn", False),
        soft_fail=gate.get("soft_fail", False),
        baseline=gate.get("baseline"),
        outputs=list(data.get("outputs", [])),
        engine=eng.get("name", "embedded"),
        opa_url=eng.get("opa_url"),
        opa_token=eng.get("opa_token"),
        timeout=float(eng.get("timeout", 10.0)),
        workers=int(eng.get("workers", 0)),
        history=bool(hist.get("enabled", False)),
        history_path=hist.get("path", ".gavel/history.db"),
        max_bytes=int(lim.get("max_bytes", 5 * 1024 * 1024)),
        max_depth=int(lim.get("max_depth", 64)),
        now=data.get("now"),
        cache=bool(data.get("cache", {}).get("enabled", True)),
        cache_path=data.get("cache", {}).get("path", ".gavel/cache"),
        document=doc,
    )
