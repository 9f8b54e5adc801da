"""OPA bundles: the policy set and the inventory as a standard ``bundle.tar.gz``.

Layout (``opa run --server --bundle bundle.tar.gz`` serves it; any bundle server can too)::

    .manifest                      {"revision": ..., "roots": [...], "metadata": {"gavel": ...}}
    data.json                      {"gavel": {"inventory": {"models", "datasets"}, "params": {...}}}
    gavel/yaml/<policy>.rego       each YAML policy, compiled
    <package path>/<file>.rego     each Rego policy and library, as written
    gavel_eval/gavel_eval.rego     one decision per subject kind: data.gavel_eval.<kind>
    gavel/fmt/fmt.rego             Gavel's library (numbers in messages)
    <package path>/<x>_test.rego   the Rego unit tests: ``opa test -b bundle.tar.gz`` runs them

The archive is deterministic: the same inputs give the same bytes (sorted entries, zero
mtimes and owners), so its digest can be pinned and compared.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from typing import Any

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)


@dataclass
class Bundle:
    files: dict[str, bytes]  # path inside the archive -> content
    manifest: dict[str, Any]
    problems: list  # evidence that did not load (not in data.json)

    def tar_gz(self) -> bytes:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(self.files):
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(self.files[name]), 0, 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(self.files[name]))
        out = io.BytesIO()
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
            gz.write(raw.getvalue())
        return out.getvalue()


def module_files(policy_set) -> dict[str, str]:
    """Every Rego module of a run (with the ``gavel_eval`` wrapper), by its path in the bundle."""
    from engine.evaluate import opa_modules

    compiled = {name for p in policy_set.policies if p.language == "yaml" for name in p.modules}
    files: dict[str, str] = {}
    for name, text in opa_modules(policy_set).items():
        match = _PACKAGE.search(text)
        if name in compiled and match:
            files[match.group(1).replace(".", "/") + ".rego"] = text
        else:
            files[_path_for(text, name, files)] = text
    return files


def test_files(config, *, taken: dict) -> dict[str, str]:
    """The Rego unit tests (``*_test.rego``) beside the policies, so ``opa test -b bundle.tar.gz``
    runs them against the compiled policy set."""
    from engine.policy import pack_path

    folders = [pack_path(name) for name in config.packs] + [config.path(p) for p in config.policy_paths]
    files: dict[str, str] = {}
    for folder in folders:
        found = [folder] if folder.is_file() else sorted(folder.rglob("*_test.rego")) if folder.is_dir() else []
        for path in found:
            if path.name.endswith("_test.rego"):
                text = path.read_text(encoding="utf-8")
                files[_path_for(text, path.name, {**taken, **files})] = text
    return files


def _path_for(text: str, name: str, taken: dict) -> str:
    match = _PACKAGE.search(text)
    folder = match.group(1).replace(".", "/") if match else "modules"
    stem = re.sub(r"[^\w.-]", "_", name.rsplit("/", 1)[-1].removesuffix(".rego")) or "module"
    path = f"{folder}/{stem}.rego"
    index = 2
    while path in taken:
        path, index = f"{folder}/{stem}_{index}.rego", index + 1
    return path


def roots(texts: list[str]) -> list[str]:
    """The bundle's roots: every package (and ``gavel`` for the data), none nested in another."""
    paths = {"gavel"}
    for text in texts:
        match = _PACKAGE.search(text)
        if match:
            paths.add(match.group(1).replace(".", "/"))
    ordered = sorted(paths, key=lambda p: (p.count("/"), p))
    kept: list[str] = []
    for path in ordered:
        if not any(path == k or path.startswith(k + "/") for k in kept):
            kept.append(path)
    return sorted(kept)


def build_bundle(config, *, revision: str | None = None, now: str | None = None) -> Bundle:
    """The bundle of the policies and inventory ``config`` names."""
    from engine import __version__
    from engine.check import resolve_now
    from engine.context import inventory_data
    from engine.evaluate import check_safety, opa_modules
    from engine.inventory import build_inventory
    from engine.policy import load_policies

    now = resolve_now(now or config.now)
    policy_set = load_policies(config)
    check_safety(modules=opa_modules(policy_set))  # OPA would reject the bundle: refuse it here (exit 2)
    inv = build_inventory(config, now=now)
    modules = module_files(policy_set)
    modules.update(test_files(config, taken=modules))
    data = {"gavel": {"inventory": inventory_data(inv), "params": policy_set.params}}
    files = {path: text.encode("utf-8") for path, text in modules.items()}
    files["data.json"] = (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
    if revision is None:
        digest = hashlib.sha256()
        for path in sorted(files):
            digest.update(path.encode() + b"\0" + files[path] + b"\0")
        revision = "sha256-" + digest.hexdigest()[:16]
    manifest = {
        "revision": revision,
        "roots": roots(list(modules.values())),
        "metadata": {"gavel": {
            "version": __version__,
            "policies": [{"id": p.id, "sha256": p.sha256, "package": p.package} for p in policy_set.policies],
            "decisions": {kind: f"data.gavel_eval.{kind}" for kind in ("model", "dataset", "lineage", "budget")},
        }},
    }
    files[".manifest"] = (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode("utf-8")
    return Bundle(files, manifest, list(inv.problems))


def read_bundle(raw: bytes) -> dict[str, bytes]:
    """The files of a ``.tar.gz`` bundle (for tests and inspection)."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                out[member.name] = tar.extractfile(member).read()
    return out
