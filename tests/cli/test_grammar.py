"""One CLI grammar (issue 13.7): a walk over every command's --help, and the shared behaviours."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.conftest import EXAMPLES, NOW

# Commands that read a project, and those that print a machine-readable document.
READS_PROJECT = {"check", "explain", "frameworks", "budget spend", "budget status", "budget verify", "bundle build",
                 "opa push", "policy list", "policy show", "lineage downstream", "lineage upstream", "lineage path",
                 "lineage show", "lineage export", "history list", "history show", "history diff", "history verify"}
MACHINE_OUTPUT = {"check", "explain", "frameworks", "budget spend", "budget status", "policy list", "policy show",
                  "policy lint", "lineage downstream", "lineage upstream", "lineage path", "lineage show",
                  "lineage export", "history list", "history show", "history diff", "report convert", "test"}
# Where a config is read but --set is not offered yet (the history commands: see the report).
NO_SET_YET = {"history list", "history show", "history diff", "history verify"}


def _leaves():
    ctx = click.Context(main)

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                yield from walk(cmd.get_command(ctx, name), [*path, name])
        else:
            yield " ".join(path), cmd

    return dict(walk(main, []))


LEAVES = _leaves()


def _help(name: str) -> str:
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_walk_covers_every_command():
    assert set(LEAVES) >= READS_PROJECT | MACHINE_OUTPUT
    assert len(LEAVES) >= 25


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_command_speaks_the_grammar(name):
    text = _help(name)
    assert "-q, --quiet" in text and "-v, --verbose" in text and "--color / --no-color" in text, name
    assert "--json" not in text.replace("json=", "")  # old spellings are hidden aliases only
    assert "-c, --config" not in text
    if name in READS_PROJECT:
        assert "-p, --project PATH" in text, name
        if name not in NO_SET_YET:
            assert "--set KEY=VALUE" in text, name
    if name in MACHINE_OUTPUT:
        assert "-o, --output FORMAT[=PATH]" in text, name
        line = text[text.index("-o, --output"):].split("\n  -", 1)[0]
        assert "json" in line, name
    for param in LEAVES[name].params:
        if isinstance(param, click.Option) and not param.hidden and "--output" in param.opts:
            assert param.metavar == "FORMAT[=PATH]", name


def test_project_spellings_agree(gavel, tmp_path):
    a = gavel("check", EXAMPLES, "--now", NOW, "-o", "json")
    b = gavel("check", "-p", EXAMPLES, "--now", NOW, "-o", "json")
    c = gavel("check", "--config", EXAMPLES, "--now", NOW, "-o", "json")  # the hidden old alias
    assert a.exit_code == b.exit_code == c.exit_code == 1
    assert a.stdout == b.stdout == c.stdout
    both = gavel("check", EXAMPLES, "-p", tmp_path)
    assert both.exit_code == 2 and "two projects given" in both.output


def test_budget_status_reads_the_project_not_a_dataset(gavel):
    result = gavel("budget", "status", "-p", EXAMPLES, "--now", NOW, "-o", "json")
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert "unknown dataset" not in result.output and doc
    legacy = gavel("budget", "status", "-c", EXAMPLES, "--now", NOW, "--json")
    assert legacy.stdout == result.stdout


def test_output_to_a_file_and_unknown_formats(gavel, tmp_path):
    out = tmp_path / "fw.json"
    result = gavel("frameworks", "-p", EXAMPLES, "-o", f"json={out}")
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())
    bad = gavel("frameworks", "-p", EXAMPLES, "-o", "jsn")
    assert bad.exit_code == 2 and "Did you mean json?" in bad.output


def test_lineage_export_takes_format_and_path(gavel, tmp_path):
    dot = tmp_path / "g.dot"
    assert gavel("lineage", "export", "-p", EXAMPLES, "-o", f"dot={dot}", "--level", "table").exit_code == 0
    assert dot.read_text().startswith("digraph")
    legacy = tmp_path / "old.dot"  # the older spelling: -o FILE, format from --format or the suffix
    assert gavel("lineage", "export", "-c", EXAMPLES, "-o", str(legacy), "--level", "table").exit_code == 0
    assert legacy.read_text() == dot.read_text()
    assert json.loads(gavel("lineage", "export", "-p", EXAMPLES, "-o", "json").stdout)


def test_all_outputs_to_files_gives_one_summary_line(gavel, tmp_path):
    args = ["check", EXAMPLES, "--now", NOW, "-o", f"json={tmp_path / 'r.json'}", "-o", f"sarif={tmp_path / 'r.sarif'}"]
    result = gavel(*args)
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("gavel: gate failed: ") and "r.json" in line and "r.sarif" in line
    quiet = gavel(*args, "-q")
    assert quiet.exit_code == 1 and quiet.stderr == "" and quiet.stdout == ""


def test_colour_follows_no_color_flag_and_terminal(gavel):
    args = ["check", EXAMPLES, "--now", NOW]
    assert "\x1b[" not in gavel(*args, color=True).stdout  # not a terminal: no colour
    assert "\x1b[31m" in gavel(*args, "--color", color=True).stdout
    assert "\x1b[" not in gavel(*args, env={"NO_COLOR": "1"}, color=True).stdout
    assert "\x1b[31m" in gavel(*args, "--color", env={"NO_COLOR": "1"}, color=True).stdout  # the flag wins


class _Terminal:
    def __init__(self, tty: bool):
        self.tty, self.parts = tty, []

    def isatty(self):
        return self.tty

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_progress_only_on_a_terminal_and_only_for_slow_runs(tty):
    import time

    from engine.cli.options import progress

    slow, quick = _Terminal(tty), _Terminal(tty)
    with progress("gavel: checking", delay=0.05, interval=0.02, stream=slow):
        time.sleep(0.3)
    with progress("gavel: checking", delay=0.5, stream=quick):
        pass
    assert quick.parts == []
    if tty:
        assert any("gavel: checking" in p for p in slow.parts) and slow.parts[-1] == "\r\x1b[K"
    else:
        assert slow.parts == []


def test_an_output_path_that_cannot_be_written_is_exit_2_naming_it(gavel, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for args in (["check", EXAMPLES, "-o", f"json={blocker}/r.json"], ["frameworks", "-p", EXAMPLES, "-o", f"json={blocker}/f.json"]):
        result = gavel(*args)
        assert result.exit_code == 2, result.output
        assert f"{blocker}/" in result.stderr and "internal error" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_exit_2_writes_no_output_file(gavel, tmp_path):
    out = tmp_path / "r.json"
    result = gavel("budget", "status", "no-such-dataset", "-p", EXAMPLES, "-o", f"json={out}")
    assert result.exit_code == 2 and not out.exists()
