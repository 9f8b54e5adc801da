"""The warm evidence stage's shortcuts agree with what they replace.

``matching.matches`` (scandir, str paths) against the old ``glob`` + ``Path`` expand; ``parts``
against ``PurePosixPath.parts``; ``format_for`` on a str against ``Path.suffix``; confinement told
of symlinks against ``inside``; the one-read digest against ``read_text``; the marshal cache against
old and planted files.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import string
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.evidence import _quick_sha256, _sha256, format_for
from engine.evidence.loader import read_text
from engine.evidence.matching import _sorted, matches, parts
from engine.fsutil import Confinement, inside
from tests.conftest import model_card


def glob_expand(root: Path, patterns: list[str], exclude: list[str] = ()) -> list[Path]:
    """The expand this replaced (engine/evidence/__init__.py before matching.py): the oracle."""
    found: set[Path] = set()
    for pattern in patterns:
        everything = set(pattern.rstrip("/").rpartition("/")[2]) == {"*"}
        for name in glob.glob(pattern, root_dir=root, recursive=True):
            path = root / name
            if everything and path.is_dir():
                continue
            found.add(path)
    for pattern in exclude:
        for name in glob.glob(pattern, root_dir=root, recursive=True):
            found.discard(root / name)
    return sorted(found, key=lambda path: path.parts)


# -- file trees and patterns -------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "models", "x.yaml", "y.yml", "z.json", ".hidden", ".h.yaml", "card.md",
                         "MLmodel", "a b", "[x].yaml", "ab.yaml", "deep"])
# (path parts, what: file / dir / link to a file / link to a folder / dangling link / link to an ancestor)
ENTRIES = st.lists(st.tuples(st.lists(NAMES, min_size=1, max_size=4),
                             st.sampled_from(["file", "file", "file", "dir", "lfile", "ldir", "dangling", "loop"])),
                   max_size=25)
STEP = st.sampled_from(["a", "b", "models", "deep", ".hidden", "**", "*", "[ab]", "x*"])
LAST = st.sampled_from(["*", "*.yaml", "*.y*ml", "?.yaml", ".*", "[!a]*", "*.md", "[x].yaml", "**", "x.yaml",
                        "*/", "a?b.yaml", "M*"])
ODD = st.sampled_from(["./models/*.yaml", "models//*.yaml", "../*", "models/../a/*", "**/**/*.yaml", "*/*.yaml",
                       "models/*/", "", "/nonexistent/*", "a/**", "models/**/a/*.y*ml"])
PATTERN = st.one_of(st.builds(lambda steps, last: "/".join([*steps, last]), st.lists(STEP, max_size=3), LAST), ODD)


def build(root: Path, entries) -> None:
    root.mkdir(parents=True, exist_ok=True)
    loops = 0
    for names, what in entries:
        path = root.joinpath(*names)
        if what == "loop" and loops:
            continue  # two loops make ** (glob's too) walk 2**40 paths before ELOOP stops it
        loops += what == "loop"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(path):
                continue
            if what == "file":
                path.write_text("x")
            elif what == "dir":
                path.mkdir()
            elif what == "lfile":
                (root / "target.yaml").write_text("t")
                path.symlink_to(root / "target.yaml")
            elif what == "ldir":
                (root / "real").mkdir(exist_ok=True)
                (root / "real" / "r.yaml").write_text("r")
                path.symlink_to(root / "real")
            elif what == "dangling":
                path.symlink_to(root / "missing")
            else:
                path.symlink_to(path.parent)  # a folder that contains itself: ** goes round until ELOOP
        except OSError:  # a name already used as a file on the way
            continue


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=ENTRIES, patterns=st.lists(PATTERN, min_size=1, max_size=3), exclude=st.lists(PATTERN, max_size=2))
def test_matches_agree_with_glob(tmp_path_factory, entries, patterns, exclude):
    root = tmp_path_factory.mktemp("tree")
    build(root, entries)
    got = matches(root, patterns, exclude)
    assert [Path(m.path) for m in got] == glob_expand(root, patterns, exclude)
    assert [m.path for m in got] == [str(p) for p in glob_expand(root, patterns, exclude)]  # the very strings
    for match in got:
        assert match.link is None or match.link == os.path.islink(match.path), match


FIXED_TREE = [(["a b", "x.yaml"], "file"), (["a", "x.yaml"], "file"), (["a-b", "x.yaml"], "file"),
              (["models", "deep", "x.yaml"], "file"), (["models", "linked"], "ldir"), (["models", "loop"], "loop"),
              (["models", ".hidden", "x.yaml"], "file"), (["models", "deep", "l.yaml"], "lfile"),
              (["models", "deep", "gone.yaml"], "dangling"), (["models", "a.yaml"], "dir"), (["models", "m.yaml"], "file")]


@pytest.mark.parametrize("patterns", [["**/*.yaml"], ["models/**/*.y*ml"], ["*/x.yaml", "a*/*.yaml"], ["models/*"],
                                      ["models/**/.*"], ["models/.*/*.yaml"], ["**/deep/*.yaml"]])
def test_matches_agree_with_glob_on_links_loops_and_order(tmp_path, patterns):
    """Symlinked folders followed by ``**`` (a loop: until the system says ELOOP), names that sort
    before "/" ("a b", "a-b" against "a"), hidden folders, a folder named like a card."""
    build(tmp_path, FIXED_TREE)
    got = matches(tmp_path, patterns)
    assert [m.path for m in got] == [str(p) for p in glob_expand(tmp_path, patterns)]
    assert got


def test_matches_cover_the_usual_patterns_without_glob(tmp_path, monkeypatch):
    """The patterns of the default config and the 10,000-card benchmark never reach glob."""
    from engine.evidence import matching

    (tmp_path / "models" / "team").mkdir(parents=True)
    for name in ("models/a.yaml", "models/team/b.yml", "models/.c.yaml", "models/team/d.json"):
        (tmp_path / name).write_text("x")
    monkeypatch.setattr(matching.glob, "glob", lambda *a, **k: pytest.fail("glob used"))
    got = matching.matches(tmp_path, ["models/**/*.y*ml", "models/*.yaml", "models/**/*.json"])
    assert [os.path.relpath(m.path, tmp_path) for m in got] == ["models/a.yaml", "models/team/b.yml",
                                                                "models/team/d.json"]
    assert all(m.link is False for m in got)


def test_a_relative_root_gives_what_path_gives(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.yaml").write_text("x")
    monkeypatch.chdir(tmp_path)
    for root in (Path("."), Path("models/..")):
        assert [m.path for m in matches(root, ["models/*.yaml"])] == [str(p) for p in glob_expand(root, ["models/*.yaml"])]


@given(st.lists(st.sampled_from(["", "/", "//", "a", "b", ".", "..", "é", "-", " "]), max_size=8))
def test_parts_is_path_parts(pieces):
    text = str(PurePosixPath("".join(pieces)))
    assert parts(text) == PurePosixPath(text).parts


@given(st.lists(st.lists(st.text(alphabet="ab -.!/~é", min_size=1, max_size=3), min_size=1, max_size=4), max_size=12),
       st.sampled_from(["/", "", "//"]))
def test_sorted_is_the_order_of_path_parts(names, anchor):
    paths = list({str(PurePosixPath(anchor + "/".join(name))) for name in names})
    assert _sorted(paths) == sorted(paths, key=lambda path: PurePosixPath(path).parts)


@given(st.text(alphabet=string.ascii_letters + ".MDmd-_İ ", max_size=8), st.sampled_from(["gavel", "mlflow"]))
def test_format_for_a_str_is_format_for_a_path(name, declared):
    path = PurePosixPath("/p/models", name) if name not in ("", ".", "..") else PurePosixPath("/p/models")

    def by_path(path: PurePosixPath) -> str:  # the Path version this replaced
        if declared == "gavel":
            if path.suffix.lower() == ".md":
                return "huggingface"
            if path.name == "MLmodel":
                return "mlflow"
        return declared

    assert format_for(str(path), declared) == by_path(path)
    assert format_for(Path(path), declared) == by_path(path)


# -- confinement, told whether a path is a symlink ---------------------------------------------------

def test_confinement_told_of_links_agrees_with_inside(tmp_path):
    root, away = tmp_path / "project", tmp_path / "away"
    (root / "models").mkdir(parents=True)
    away.mkdir()
    (away / "secret.yaml").write_text("x")
    (root / "models" / "a.yaml").write_text("x")
    (root / "models" / "out.yaml").symlink_to(away / "secret.yaml")
    (root / "models" / "in.yaml").symlink_to(root / "models" / "a.yaml")
    (root / "models" / "dangling.yaml").symlink_to(away / "missing.yaml")
    (root / "linked").symlink_to(away)
    (root / "linked-in").symlink_to(root / "models")
    paths = [str(root / "models" / name) for name in ("a.yaml", "out.yaml", "in.yaml", "dangling.yaml")]
    paths += [str(root / "linked" / "secret.yaml"), str(root / "linked-in" / "a.yaml")]
    confinement = Confinement(root)
    assert [confinement.holds(p, os.path.islink(p)) for p in paths] == [inside(root, p) for p in paths]
    assert [confinement.holds(p) for p in paths] == [inside(root, p) for p in paths]
    assert [inside(root, p) for p in paths] == [True, False, True, False, False, True]


def test_a_symlink_out_found_by_scandir_is_still_refused(gavel, project, tmp_path):
    root = project({"models/a.yaml": model_card("a"), "policies/p.yaml": POLICY}, config=CONFIG)
    (tmp_path / "away.yaml").write_text(model_card("b"))
    (root / "models" / "b.yaml").symlink_to(tmp_path / "away.yaml")
    result = gavel("check", root, "-o", "json")
    errors = [f["message"] for f in json.loads(result.stdout)["findings"] if f["status"] == "error"]
    where = os.path.realpath(tmp_path / "away.yaml")
    assert errors == [f"models/b.yaml is outside the project (it leads to {where}): not read "
                      "(Gavel reads the project's own files only, unless run with --allow-outside)"]


# -- the one-read digest -----------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [b"id: a\n", "id: é\n".encode(), b"\xef\xbb\xbfid: a\n", b"", b"\xef\xbb\xbf",
                                 b"\xef\xbb\xbf\xef\xbb\xbfx"])
def test_quick_digest_is_the_digest_of_the_text(tmp_path, raw):
    path = tmp_path / "card.yaml"
    path.write_bytes(raw)
    assert _quick_sha256(str(path), 1000) == _sha256(read_text(path, "card.yaml"))


def test_quick_digest_declines_what_read_text_must_judge(tmp_path):
    """None sends the file down the full read, which reports the problem (never a cache hit)."""
    (tmp_path / "big.yaml").write_bytes(b"x" * 101)
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "missing")
    os.mkfifo(tmp_path / "fifo.yaml")  # must not block
    for name in ("big.yaml", "folder.yaml", "dangling.yaml", "fifo.yaml", "missing.yaml"):
        assert _quick_sha256(str(tmp_path / name), 100) is None, name
    assert _quick_sha256(str(tmp_path / "big.yaml"), 101) == hashlib.sha256(b"x" * 101).hexdigest()
    if os.path.exists("/proc/self/status"):  # a regular file whose st_size (0) is not its length
        assert _quick_sha256("/proc/self/status", 10_000) is None


# -- the marshal cache -------------------------------------------------------------------------------

CONFIG = "evidence:\n  - {path: 'models/*', kind: model}\npolicies:\n  paths: [policies]\n"
POLICY = "id: p\ntitle: T\nseverity: high\ntarget: model\nassert: {field: subject.risk_level, equals: minimal}\n"


def _old_stamp() -> str:
    """The stamp of the format-1 cache (evidence.json, JSON)."""
    from engine import __version__
    from engine.resources import schema_path

    digest = hashlib.sha256(__version__.encode())
    for name in ("model-card", "dataset-card"):
        digest.update(schema_path(name).read_bytes())
    digest.update(os.environ.get("GAVEL_CACHE_SALT", "").encode())
    return digest.hexdigest()[:16]


def test_an_old_or_json_cache_signed_with_the_real_key_is_ignored(project, monkeypatch):
    """A format-1 file (evidence.json), or JSON under the new name, is not read, even authenticated."""
    from engine import cachefile
    from engine.check import run_check
    from engine.config import load_config
    from engine.evidence import cache as evidence_cache

    root = project({"models/a.yaml": model_card("a", risk="high"), "policies/p.yaml": POLICY}, config=CONFIG)
    sha = _sha256(read_text(root / "models/a.yaml", "a"))
    forged = {"entries": {f"model:gavel:{sha}": ["a", 1, {"id": "a", "risk_level": "minimal"}]}}
    cachefile.save(root / ".gavel/cache/evidence.json", _old_stamp(), forged)
    cachefile.save(root / ".gavel/cache/evidence.bin", evidence_cache._stamp(), forged)
    assert cachefile.load(root / ".gavel/cache/evidence.json", _old_stamp()) == forged  # genuine, old format
    assert [f.status for f in run_check(load_config(root), now="2026-11-26").findings] == ["fail"]
    saved = cachefile.load_plain(root / ".gavel/cache/evidence.bin", evidence_cache._stamp())
    assert saved["entries"][f"model:gavel:{sha}"][2]["risk_level"] == "high"  # rewritten from the card


def test_a_cached_run_is_the_uncached_run(project):
    from engine.check import run_check
    from engine.config import load_config

    cards = {f"models/m{i}.yaml": model_card(f"m{i}", risk=["minimal", "high"][i % 2]) for i in range(6)}
    root = project({**cards, "models/bad.yaml": "id: [", "policies/p.yaml": POLICY}, config=CONFIG)
    cold = run_check(load_config(root, overrides=["cache.enabled=false"]), now="2026-11-26").to_json()
    first = run_check(load_config(root), now="2026-11-26").to_json()
    assert (root / ".gavel/cache/evidence.bin").exists()
    warm = run_check(load_config(root), now="2026-11-26").to_json()
    assert cold == first == warm


def test_saved_entries_share_their_strings():
    """Equal strings are written once (marshal back-references): the file is smaller, reads faster."""
    import marshal

    from engine.evidence.cache import _shared

    cards = [{"id": f"m{i}", "owner": {"team": "t" + "x" * 20}, "tags": ["a" + "b" * 20, ("c" * 30,)]}
             for i in range(50)]
    copies = [json.loads(json.dumps(card)) for card in cards]  # every key a separate object, as parsed
    for card in copies:
        card["tags"][1] = tuple(card["tags"][1])
    shared = _shared(copies, {})
    assert shared == cards and type(shared[0]["tags"][1]) is tuple
    assert shared[0]["owner"]["team"] is shared[1]["owner"]["team"]
    assert len(marshal.dumps(shared)) < len(marshal.dumps(copies)) / 2
