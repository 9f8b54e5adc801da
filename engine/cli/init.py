"""``gavel init [DIR]``: scaffold a governance repo that passes ``gavel check`` out of the box.

The project files go to DIR; the CI files and the pre-commit config go where CI and pre-commit
look for them, the repository root (git's top level above DIR, else DIR itself), with the job
running in DIR. The pre-commit hook watches every path the generated gavel.yaml reads.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from importlib import resources
from pathlib import Path, PurePosixPath

import click

#: template (under engine/templates/init) → file written under DIR. Templates have no leading
#: dots so that they ship in the wheel like any other package file.
FILES = {
    "gavel.yaml": "gavel.yaml",
    "waivers.yaml": "waivers.yaml",
    "gitignore": ".gitignore",
    "models/example-credit-model.yaml": "models/example-credit-model.yaml",
    "datasets/example.loan_applications.yaml": "datasets/example.loan_applications.yaml",
}
#: template → file written at the repository root.
ROOT_FILES = {
    "github/workflows/gavel.yml": ".github/workflows/gavel.yml",
    "gitlab-ci.yml": ".gitlab-ci.yml",
    "github/gavel-sharded.yml": ".github/gavel-sharded.yml",  # a CI matrix for large audits (inactive)
    "gitlab/gavel-sharded.yml": ".gitlab/gavel-sharded.yml",
    "pre-commit-config.yaml": ".pre-commit-config.yaml",
}
CI = {"github": [".github/workflows/gavel.yml", ".github/gavel-sharded.yml"],
      "gitlab": [".gitlab-ci.yml", ".gitlab/gavel-sharded.yml"]}


def plan(directory: Path, ci: str = "all") -> dict[Path, str]:
    """``{destination path: template}`` for the chosen CI systems (all, github, gitlab or none)."""

    root = _existing_root(directory)
    skip = {dest for system, dests in CI.items() if ci not in ("all", system) for dest in dests}
    out = {directory / dest: template for template, dest in FILES.items()}
    out.update({root / dest: template for template, dest in ROOT_FILES.items() if dest not in skip})
    return out


def _existing_root(directory: Path) -> Path:
    """The repository root for a scaffold in ``directory`` (which may not exist yet)."""
    from engine.report.paths import repository_root

    probe = directory.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    top = repository_root(probe)
    return top if top is not None else directory.absolute()


def install_spec() -> str:
    """What the scaffolded CI installs: this very distribution and version, read from the package
    metadata at run time (so a renamed or re-versioned release can never scaffold a stale pin)."""
    from importlib import metadata

    from engine import DISTRIBUTION, __version__

    try:
        meta = metadata.metadata(DISTRIBUTION)
        return f"{meta['Name']}=={meta['Version']}"
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return f"{DISTRIBUTION}=={__version__}"


def _template(name: str) -> str:
    return (resources.files("engine") / "templates" / "init" / name).read_text(encoding="utf-8")


def watched_paths(config_text: str) -> list[str]:
    """Every path a gavel.yaml reads (evidence, waivers, lineage, privacy, policies), as path
    prefixes relative to its folder: a glob is cut at its first wildcard."""
    import yaml

    data = yaml.safe_load(config_text) or {}
    found = {"gavel.yaml", "gavel.yml", "policies/"}
    for item in data.get("evidence") or []:
        for path in [item.get("path")] if isinstance(item.get("path"), str) else item.get("path") or []:
            found.add(path)
    for key in ("waivers",):
        if isinstance(data.get(key), str):
            found.add(data[key])
    lineage = data.get("lineage") or {}
    for source in lineage.get("sources") or [] if isinstance(lineage, dict) else []:
        paths = source.get("path") or source.get("paths") or []
        found.update([paths] if isinstance(paths, str) else paths)
    privacy = data.get("privacy") or {}
    if isinstance(privacy, dict) and isinstance(privacy.get("ledger"), str):
        found.add(privacy["ledger"])
    for path in (data.get("policies") or {}).get("paths") or []:
        found.add(path.rstrip("/") + "/")
    prefixes = set()
    for path in found:
        cut = re.split(r"[*?\[]", path, maxsplit=1)[0]
        if cut == path:  # a plain file or folder
            prefixes.add(path)
        else:  # a glob: the folder before its first wildcard ("" when the glob starts with one)
            prefixes.add(cut[: cut.rfind("/") + 1])
    return [""] if "" in prefixes else sorted(prefixes)


def files_regex(subdir: str, config_text: str) -> str:
    """The pre-commit ``files:`` pattern: any change under a path gavel.yaml reads."""
    prefix = re.escape(subdir + "/") if subdir else ""
    alternatives = "|".join(re.escape(p) for p in watched_paths(config_text))
    return f"^{prefix}({alternatives})"


def render(template: str, *, today: str, install: str | None = None, subdir: str = "", config_text: str = "") -> str:
    import shlex

    workdir = subdir or "."
    text = _template(template)
    values = {
        "today": today,
        "install": shlex.quote(install or install_spec()),
        "dir": shlex.quote(workdir),
        "dir_prefix": f"{subdir}/" if subdir else "",
        "files": files_regex(subdir, config_text),
    }
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def scaffold(directory: Path, *, today: str | None = None, ci: str = "all", install: str | None = None,
             force: bool = False, skip_existing: bool = False) -> list[Path]:
    """Write the scaffold; by default refuse (UsageError) if any file already exists, writing
    nothing. ``force`` overwrites; ``skip_existing`` keeps what exists and writes the rest."""
    from engine.errors import UsageError

    today = today or dt.date.today().isoformat()
    if install is not None and (not install.strip() or any(ord(c) < 32 or c == "\x7f" for c in install)):
        raise UsageError(f"--install expects a pip requirement, wheel path or git URL, got {install!r}")
    if force and skip_existing:
        raise UsageError("--force and --skip-existing contradict each other: pick one")
    files = plan(directory, ci)
    root = _existing_root(directory)
    subdir = PurePosixPath(os.path.relpath(directory.absolute(), root)).as_posix()
    subdir = "" if subdir == "." else subdir
    if subdir.startswith(".."):
        raise UsageError(f"{directory} is outside the repository at {root}")
    # lexists: a dangling symlink is "there" too (writing through it would land somewhere else).
    existing = [dest for dest in files if os.path.lexists(dest)]
    for dest in existing:
        if dest.is_dir() or (dest.is_symlink() and force):
            raise UsageError(f"refusing to write {dest}: it is a {'folder' if dest.is_dir() else 'symbolic link'}")
    if existing and not force and not skip_existing:
        names = ", ".join(str(dest) for dest in existing)
        raise UsageError(f"refusing to overwrite existing file(s): {names} (--force overwrites, --skip-existing "
                         "keeps them and writes the rest)")
    config_text = render("gavel.yaml", today=today)
    rendered = {dest: render(template, today=today, install=install, subdir=subdir, config_text=config_text)
                for dest, template in files.items() if not (skip_existing and dest in existing)}
    from engine.fsutil import atomic_write

    for dest, text in rendered.items():
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if force:
                atomic_write(dest, text)
            else:
                with dest.open("x", encoding="utf-8") as handle:  # "x": never clobber a file that appeared meanwhile
                    handle.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write {dest}: {exc.strerror or exc}") from None
    return list(rendered)


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ci", type=click.Choice(["all", "github", "gitlab", "none"]), default="all", show_default=True,
              help="Which CI job(s) to scaffold.")
@click.option("--install", metavar="SPEC",
              help="What CI installs instead of this release (a pinned wheel URL, git+https://...@TAG, ...).")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.option("--skip-existing", is_flag=True, help="Keep files that exist; write the others.")
def init(directory: Path, ci: str, install: str | None, force: bool, skip_existing: bool):
    """Scaffold a governance repo in DIRECTORY (default: the current folder).

    Writes gavel.yaml (the built-in packs enabled), an example model card and dataset card, a
    waivers file and a .gitignore for Gavel's caches; and, at the repository root (git's top
    level, else DIRECTORY), a GitHub Actions workflow and a GitLab CI job that run the gate in
    DIRECTORY and keep SARIF and JUnit reports, and a pre-commit config. The result passes
    `gavel check` as is. Existing files are never overwritten unless --force; with any of them
    present, nothing is written (exit 2) unless --force or --skip-existing.

    \b
    Examples:
      gavel init governance && gavel check -p governance
      gavel init . --ci gitlab
      gavel init . --install "git+https://github.com/gavel-governance/gavel@v0.1.0"
    """
    written = scaffold(directory, ci=ci, install=install, force=force, skip_existing=skip_existing)
    for dest in written:
        click.echo(f"  created {dest}")
    click.echo(f"\nNext: edit the example cards, then run `gavel check -p {directory}` "
               "(and `gavel frameworks` to see what the packs cover).")
