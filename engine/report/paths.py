"""Paths in reports are relative to the repository root, so a governance project in a subfolder
of a monorepo anchors correctly on GitHub and GitLab (docs/reports.md, "Paths").

Findings keep paths relative to the project root (``config.root``); the report records the
project's place in the repository once, as ``extra["path_prefix"]`` (``examples`` when the
project is ``<repo>/examples``), and every renderer joins the two. The JSON report keeps both
parts apart, so ``report convert`` renders a saved report the same way.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (a folder, or a file in a worktree
    or submodule): git's top level, found without running git."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def path_prefix(project_root: Path, explicit: str | None = None) -> str:
    """The project folder's path from the repository root (``""`` when they are the same):
    ``explicit`` (``--path-prefix``) when given, else from the git top level, else ``""``."""
    if explicit is not None:
        return PurePosixPath(explicit.replace("\\", "/")).as_posix().strip("/").removeprefix(".").strip("/")
    top = repository_root(project_root)
    if top is None:
        return ""
    relative = project_root.resolve().relative_to(top).as_posix()
    return "" if relative == "." else relative


def repo_path(report, file: str | None) -> str | None:
    """``file`` (relative to the project root) relative to the repository root; None for no file."""
    if not file or file == ".":
        return None
    prefix = report.extra.get("path_prefix") or ""
    return f"{prefix}/{file}" if prefix else file


def where(report, source) -> str | None:
    """``path:line`` (or ``path``) of a Source, relative to the repository root; None without a file."""
    path = repo_path(report, source.file if source else None)
    if path is None:
        return None
    return f"{path}:{source.line}" if source.line else path
