"""The warm-path cache (engine.privacy.cache): same output, invalidated by appends, never trusted blindly."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.privacy.cache import FILE
from engine.privacy.ledger import read_ledger
from tests.privacy.chained import append, chain, head

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-26T00:00:00Z"


def _entry(n: int, dataset: str, epsilon: float, day: int, **extra) -> str:
    return json.dumps({"id": f"sp-{n}", "time": f"2026-11-{day:02d}T00:00:00Z", "dataset": dataset,
                       "epsilon": epsilon, "delta": 1e-7 if n % 2 else 0, "mechanism": "laplace",
                       "purpose": "test", "actor": "tester", **extra})


@pytest.fixture
def proj(tmp_path):
    root = tmp_path / "proj"
    (root / "datasets").mkdir(parents=True)
    (root / "privacy").mkdir()
    (root / "gavel.yaml").write_text(textwrap.dedent(f"""\
        evidence:
          - {{path: datasets/*.yaml, kind: dataset}}
        now: "{NOW}"
        """))
    (root / "datasets" / "sales.yaml").write_text(textwrap.dedent("""\
        id: sales
        owner: team
        privacy_budget: {epsilon_budget: 5.0, delta_budget: 1.0e-5, period: {kind: calendar, unit: month}}
        """))
    (root / "datasets" / "events.yaml").write_text(textwrap.dedent("""\
        id: events
        owner: team
        privacy_budget: {epsilon_budget: 3.0, delta_budget: 1.0e-5, composition: advanced, slack: 1.0e-6}
        """))
    lines = [_entry(n, "sales" if n % 3 else "events", 0.25, 1 + n) for n in range(1, 10)]
    (root / "privacy" / "ledger.jsonl").write_text(chain(*lines))
    return root


def cache_file(root: Path) -> Path:
    return root / ".gavel" / "cache" / FILE


def load_cache(root: Path):
    """The cache's payload (cache files are authenticated: engine.cachefile)."""
    from engine import cachefile
    from engine.privacy.cache import _stamp

    return cachefile.load(cache_file(root), _stamp())


def store_cache(root: Path, data) -> None:
    """Write a cache as Gavel itself would (with this machine's key): tests the value checks."""
    from engine import cachefile
    from engine.privacy.cache import _stamp

    cachefile.save(cache_file(root), _stamp(), data)


def status(gavel, root: Path, *extra: str):
    result = gavel("budget", "status", "--json", *extra, "-c", root)
    assert result.exit_code in (0, 1), result.stderr
    return result


def test_warm_run_is_byte_identical(gavel, proj):
    cold = status(gavel, proj, "--set", "cache.enabled=false")
    assert not cache_file(proj).exists()
    first = status(gavel, proj)  # fills the cache
    assert cache_file(proj).exists()
    saved = load_cache(proj)
    assert saved["ledgers"]["privacy/ledger.jsonl"]["lines"] == 9 and saved["results"]
    warm = status(gavel, proj)
    assert cold.stdout == first.stdout == warm.stdout
    for dataset in ("sales", "events"):
        assert status(gavel, proj, dataset).stdout == status(gavel, proj, dataset, "--set",
                                                               "cache.enabled=false").stdout


def test_spend_appends_and_status_follows(gavel, proj):
    before = json.loads(status(gavel, proj).stdout)
    result = gavel("budget", "spend", "sales", "--epsilon", "1.5", "--mechanism", "laplace", "--purpose", "p",
                   "--actor", "a", "--now", "2026-11-20T00:00:00Z", "-c", proj)
    assert result.exit_code == 0, result.stderr
    after = status(gavel, proj)
    assert after.stdout == status(gavel, proj, "--set", "cache.enabled=false").stdout
    doc = json.loads(after.stdout)
    assert doc["ledger"]["entries"] == before["ledger"]["entries"] + 1
    sales = {b["dataset"]: b for b in doc["budgets"]}["sales"]
    old = {b["dataset"]: b for b in before["budgets"]}["sales"]
    assert sales["spend_count"] == old["spend_count"] + 1
    assert sales["spent"]["epsilon"] == pytest.approx(old["spent"]["epsilon"] + 1.5)
    assert load_cache(proj)["ledgers"]["privacy/ledger.jsonl"]["lines"] == 10


def test_appended_lines_are_validated(gavel, proj):
    status(gavel, proj)
    ledger = proj / "privacy" / "ledger.jsonl"
    with ledger.open("a") as out:
        out.write('{"id": "sp-x", "time": "2026-11-25T00:00:00Z", "dataset": "sales", "epsilon": -1, '
                  '"mechanism": "laplace"}\n')
    append(ledger, _entry(1, "sales", 0.5, 25))  # a duplicate id
    result = status(gavel, proj)
    assert result.exit_code == 1
    assert "ledger.jsonl:10:" in result.stderr and "ledger.jsonl:11: duplicate spend id 'sp-1'" in result.stderr
    assert result.stdout == status(gavel, proj, "--set", "cache.enabled=false").stdout
    assert result.stderr == status(gavel, proj, "--set", "cache.enabled=false").stderr


def test_rewritten_ledger_is_not_trusted(gavel, proj):
    status(gavel, proj)
    ledger = proj / "privacy" / "ledger.jsonl"
    lines = ledger.read_text().splitlines()
    lines[2] = lines[2].replace('"epsilon": 0.25', '"epsilon": 0')  # the cached prefix no longer matches
    ledger.write_text("\n".join(lines) + "\n")
    append(ledger, _entry(20, "sales", 0.25, 25))
    result = status(gavel, proj)
    assert result.exit_code == 1 and "ledger.jsonl:3:" in result.stderr
    assert result.stdout == status(gavel, proj, "--set", "cache.enabled=false").stdout


def test_bad_lines_stay_reported_when_warm(gavel, proj):
    ledger = proj / "privacy" / "ledger.jsonl"
    before = head(ledger)
    ledger.write_text(ledger.read_text() + "not json\n\n" + chain(_entry(30, "sales", 0.25, 25), prev=before))
    cold = status(gavel, proj)
    warm = status(gavel, proj)
    assert warm.exit_code == 1 and "ledger.jsonl:10: invalid JSON" in warm.stderr
    assert (cold.stdout, cold.stderr) == (warm.stdout, warm.stderr)


@pytest.mark.parametrize("garbage", ["{not json", "[]", '{"stamp": 3}', "", "\x00\xff"])
def test_corrupt_cache_is_ignored(gavel, proj, garbage):
    expected = status(gavel, proj).stdout
    cache_file(proj).write_text(garbage)
    assert status(gavel, proj).stdout == expected
    assert load_cache(proj)["results"]  # rewritten


def test_wrong_cached_values_of_the_right_stamp_are_ignored(gavel, proj):
    expected = status(gavel, proj).stdout
    saved = load_cache(proj)
    saved["ledgers"]["privacy/ledger.jsonl"] = {"size": "x"}
    saved["results"] = {key: ["a", 1, 2] for key in saved["results"]}
    store_cache(proj, saved)
    assert status(gavel, proj).stdout == expected


def test_stale_cache_is_ignored(gavel, proj, monkeypatch):
    expected = status(gavel, proj).stdout
    saved = load_cache(proj)
    saved["results"] = {key: [99.0, 0.5, True, 0.0, 0.0] for key in saved["results"]}
    store_cache(proj, saved)
    monkeypatch.setenv("GAVEL_CACHE_SALT", "another version")
    assert status(gavel, proj).stdout == expected


def test_disabled_cache_writes_nothing(gavel, proj):
    status(gavel, proj, "--set", "cache.enabled=false")
    status(gavel, proj, "sales", "--set", "cache.enabled=false")
    assert not (proj / ".gavel").exists()


def test_read_ledger_trusts_only_a_matching_prefix(proj, tmp_path):
    from engine.privacy.cache import PrivacyCache

    class Config:
        cache, cache_path = True, ".gavel/cache"

        @staticmethod
        def path(relative):
            return proj / relative

    path = proj / "privacy" / "ledger.jsonl"
    cache = PrivacyCache.open(Config)
    cold = read_ledger(path, "l")
    first = read_ledger(path, "l", cache)
    warm = read_ledger(path, "l", cache)
    for ledger in (first, warm):
        assert [e.data for e in ledger.entries] == [e.data for e in cold.entries]
        assert ledger.sha256 == cold.sha256 and ledger.problems == cold.problems
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b'"epsilon": 0.25', b'"epsilon": 1e999', 1))
    assert read_ledger(path, "l", cache).problems == read_ledger(path, "l").problems != []


def test_warm_run_does_not_import_diffprivlib(proj):
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from engine.cli import main
        for _ in range(2):
            result = CliRunner().invoke(main, ["budget", "status", "-c", {str(proj)!r}])
            assert result.exit_code == 0, result.output
        print("diffprivlib" in sys.modules, "sklearn" in sys.modules)
        """)
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert cold.stdout.split() == ["True", "True"]  # the first run filled the cache
    warm = subprocess.run([sys.executable, "-c", code.replace("range(2)", "range(1)")], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    assert warm.stdout.split() == ["False", "False"]
    check = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from engine.cli import main
        result = CliRunner().invoke(main, ["check", {str(proj)!r}, "--pack", "privacy"])
        assert result.exit_code in (0, 1), result.output
        print("diffprivlib" in sys.modules)
        """)
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False"]


def test_status_after_a_spend_needs_no_diffprivlib(gavel, proj):
    """`spend` stores diffprivlib's result for the period it extended (it never reads the cache)."""
    status(gavel, proj)
    result = gavel("budget", "spend", "sales", "--epsilon", "0.5", "--mechanism", "laplace", "--purpose", "p",
                   "--actor", "a", "--now", NOW, "-c", proj)
    assert result.exit_code == 0, result.stderr
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from engine.cli import main
        result = CliRunner().invoke(main, ["budget", "status", "--json", "-c", {str(proj)!r}])
        assert result.exit_code == 0, result.output
        print("diffprivlib" in sys.modules)
        print(result.stdout, end="")
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    flag, _, stdout = out.stdout.partition("\n")
    assert flag == "False"
    assert stdout == status(gavel, proj, "--set", "cache.enabled=false").stdout
    assert json.loads(stdout)["ledger"]["entries"] == 10


def test_a_forged_mark_cannot_crash_the_read(proj):
    """A cache claiming an entry-less line is valid (with the right digest) falls back to a full parse."""
    from engine.privacy.cache import PrivacyCache

    class Config:
        cache, cache_path = True, ".gavel/cache"

        @staticmethod
        def path(relative):
            return proj / relative

    path = proj / "privacy" / "ledger.jsonl"
    path.write_bytes(path.read_bytes() + b'{"no": "id"}\n')
    cache = PrivacyCache.open(Config)
    first = read_ledger(path, "l", cache)
    assert [p.line for p in first.problems] == [10]
    cache.ledgers["l"]["bad"] = []
    assert read_ledger(path, "l", cache).problems == first.problems
