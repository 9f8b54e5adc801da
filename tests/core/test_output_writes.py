"""``-o FORMAT=PATH`` writes through devices, FIFOs and symlinks; only a regular file is replaced atomically.

The atomic write (temp file + rename) used to rename over whatever the path named: run as root,
``-o json=/dev/null`` left ``/dev/null`` a regular file, and a symlinked report path became a
plain file instead of updating the file it points to.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from engine.fsutil import atomic_write
from tests.conftest import ROOT, model_card

POLICY = "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: subject.owner, exists: true}\n"
CONFIG = 'evidence: [{path: "models/*", kind: model}]\npolicies: {paths: [policies]}\n'


@pytest.fixture
def repo(project):
    return project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY}, config=CONFIG)


def test_a_character_device_stays_a_device(gavel, repo, tmp_path):
    if os.geteuid() == 0:  # root can rename over a device: use a private twin of /dev/null
        device = tmp_path / "null"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    else:  # nobody else can rename over /dev/null, so it is safe to try the real one
        device = "/dev/null"
    result = gavel("check", repo, "-o", f"json={device}")
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_a_symlink_is_followed_not_replaced(gavel, repo, tmp_path):
    target = tmp_path / "reports/latest.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    assert gavel("check", repo, "-o", f"json={link}").exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["gate"]["passed"] is True


def test_a_symlink_to_a_new_file_creates_it(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to("made.json")
    atomic_write(link, "{}")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "{}"


def test_a_fifo_gets_the_report(gavel, repo, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there (a report fits the pipe buffer)
    try:
        result = gavel("check", repo, "-o", f"json={fifo}")
        os.set_blocking(reader, True)
        got = b"".join(iter(lambda: os.read(reader, 65536), b""))
    finally:
        os.close(reader)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(got)["gate"]["passed"] is True


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.mkdir(), "cannot write the report: is a directory"),
    (lambda p: p.symlink_to("missing/folder/r.json"), "cannot write the report: is a symlink into a missing folder (missing/folder/r.json)"),
    (os.mkfifo, "cannot write the report: is a FIFO that nobody reads"),
])
def test_unwritable_outputs_are_a_clean_exit_2(gavel, repo, tmp_path, make, message):
    path = tmp_path / "out"
    make(path)
    result = gavel("check", repo, "-o", f"json={path}")
    assert result.exit_code == 2
    assert result.stderr == f"Error: -o json={path}: {message}\n"


def test_dev_stdout_appends_to_a_redirected_file(repo, tmp_path):
    """``> file``: /dev/stdout is that file; the report goes after the text, nothing is replaced."""
    out = tmp_path / "both.txt"
    with out.open("wb") as handle:
        done = subprocess.run([sys.executable, "-m", "engine", "check", str(repo), "-o", "text",
                               "-o", "json=/dev/stdout"], stdout=handle, cwd=ROOT, timeout=120)
    assert done.returncode == 0
    text, _, report = out.read_text().partition("{\n")
    assert "Gate PASSED" in text and json.loads("{\n" + report)["gate"]["passed"] is True


def test_regular_files_are_still_replaced_atomically(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left behind
