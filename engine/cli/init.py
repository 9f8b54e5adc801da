"""``gavel init [DIR]``: scaffold a governance repo that passes ``gavel check`` out of the box."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import click

#: template (under engine/templates/init) → file written under DIR. Templates have no leading
#: dots so that they ship in the wheel like any other package file.
FILES = {
    "gavel.yaml": "gavel.yaml",
    "waivers.yaml": "waivers.yaml",
    "models/example-credit-model.yaml": "models/example-credit-model.yaml",
    "datasets/example.loan_applications.yaml": "datasets/example.loan_applications.yaml",
    "github/workflows/gavel.yml": ".github/workflows/gavel.yml",
    "gitlab-ci.yml": ".gitlab-ci.yml",
    "pre-commit-config.yaml": ".pre-commit-config.yaml",
}
CI = {"github": [".github/workflows/gavel.yml"], "gitlab": [".gitlab-ci.yml"]}


def plan(ci: str = "all") -> dict[str, str]:
    """``{destination: template}`` for the chosen CI systems (all, github, gitlab or none)."""
    skip = {dest for system, dests in CI.items() if ci not in ("all", system) for dest in dests}
    return {dest: template for template, dest in FILES.items() if dest not in skip}


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


def render(template: str, *, today: str, install: str | None = None) -> str:
    import shlex

    text = (resources.files("engine") / "templates" / "init" / template).read_text(encoding="utf-8")
    return text.replace("{{today}}", today).replace("{{install}}", shlex.quote(install or install_spec()))


def scaffold(directory: Path, *, today: str | None = None, ci: str = "all", install: str | None = None) -> list[str]:
    """Write the scaffold under ``directory``; refuse (UsageError) if any file already exists."""
    from engine.errors import UsageError

    today = today or dt.date.today().isoformat()
    if install is not None and (not install.strip() or any(ord(c) < 32 or c == "\x7f" for c in install)):
        raise UsageError(f"--install expects a pip requirement, wheel path or git URL, got {install!r}")
    files = plan(ci)
    existing = [dest for dest in files if (directory / dest).exists()]
    if existing:
        names = ", ".join(str(directory / dest) for dest in existing)
        raise UsageError(f"refusing to overwrite existing file(s): {names} (move them away or pick another DIR)")
    rendered = {dest: render(template, today=today, install=install) for dest, template in files.items()}
    for dest, text in rendered.items():
        path = directory / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # "x": never clobber a file that appeared meanwhile
            handle.write(text)
    return list(rendered)


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ci", type=click.Choice(["all", "github", "gitlab", "none"]), default="all", show_default=True,
              help="Which CI job(s) to scaffold.")
@click.option("--install", metavar="SPEC",
              help="What CI installs instead of this release (a pinned wheel URL, git+https://...@TAG, ...).")
def init(directory: Path, ci: str, install: str | None):
    """Scaffold a governance repo in DIRECTORY (default: the current folder).

    Writes gavel.yaml (the built-in packs enabled), an example model card and dataset card, a
    waivers file, a GitHub Actions workflow and a GitLab CI job that run the gate and keep
    SARIF and JUnit reports, and a pre-commit config. The result passes `gavel check` as is.
    Existing files are never overwritten: if any exists, nothing is written (exit 2).

    \b
    Examples:
      gavel init governance && gavel check governance
      gavel init . --ci gitlab
      gavel init . --install "git+https://github.com/gavel-governance/gavel@v0.1.0"
    """
    written = scaffold(directory, ci=ci, install=install)
    for dest in written:
        click.echo(f"  created {directory / dest}")
    click.echo(f"\nNext: edit the example cards, then run `gavel check {directory}` "
               "(and `gavel frameworks` to see what the packs cover).")
