"""The decision cache: change one ingredient of a verdict at a time; exactly the decisions that
depend on it are recomputed, and every cached report is byte-identical to an uncached one."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from engine.check import run_check
from engine.config import load_config
from engine.decisions import FILE, FORMAT, READY_FILE, Dependencies, dependencies

NOW = "2026-11-26T00:00:00Z"

CONFIG = """\
evidence:
  - {path: models/*.yaml, kind: model}
  - {path: datasets/*.yaml, kind: dataset}
policies:
  paths: [policies]
  params:
    min-metrics: {minimum: 1}
"""

MODEL = """\
id: {id}
name: {id}
version: "1.0"
lifecycle_stage: production
owner: {{team: t}}
risk_level: {risk}
training_datasets: [{ds}]
last_review: "{review}"
metrics: {{performance: [{{name: auc, value: 0.9}}]}}
"""

DATASET = """\
id: {id}
owner: {{team: t}}
legal_basis: {basis}
"""

POLICIES = {
    # reads a card field only
    "policies/card.yaml": """\
        id: card-risk
        title: Models declare a low risk
        severity: high
        target: model
        assert: {field: subject.risk_level, in: [minimal, limited]}
        message: "{{ id }} is {{ subject.risk_level }} risk"
        """,
    # reads the time
    "policies/review.yaml": """\
        id: review-recent
        title: Models are reviewed within a year
        severity: medium
        target: model
        assert: {field: subject.last_review, max_age_days: 365}
        """,
    # looks up the datasets a model trains on
    "policies/lookup.rego": """\
        # METADATA
        # title: Training data has a legal basis
        # custom:
        #   id: lookup-basis
        #   severity: high
        #   target: [model]
        package test.lookup

        import rego.v1

        deny contains msg if {
            some ds in input.subject.training_datasets
            data.gavel.inventory.datasets[ds].legal_basis == "none"
            msg := sprintf("%s trains on %s, which has no legal basis", [input.id, ds])
        }
        """,
    # reads its parameter
    "policies/param.rego": """\
        # METADATA
        # title: Models report enough metrics
        # custom:
        #   id: min-metrics
        #   severity: low
        #   target: [model]
        package test.param

        import rego.v1

        deny contains msg if {
            count(input.subject.metrics.performance) < data.gavel.params["min-metrics"].minimum
            msg := sprintf("%s reports too few metrics", [input.id])
        }
        """,
    # judges datasets
    "policies/dataset.rego": """\
        # METADATA
        # title: Datasets have a legal basis
        # custom:
        #   id: dataset-basis
        #   severity: high
        #   target: [dataset]
        package test.dataset

        import rego.v1

        deny contains "no legal basis" if input.subject.legal_basis == "none"
        """,
}

MODELS = {"m1": ("high", "ds1", "2026-06-01"), "m2": ("minimal", "ds2", "2025-01-01"), "m3": ("limited", "ds1", "2026-10-01")}
DATASETS = {"ds1": "consent", "ds2": "none"}
MODEL_POLICIES = ["card-risk", "lookup-basis", "min-metrics", "review-recent"]


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GAVEL_CACHE_KEY", "test-secret")
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "gavel.yaml").write_text(CONFIG)
    for mid, (risk, ds, review) in MODELS.items():
        (root / "models" / f"{mid}.yaml").write_text(MODEL.format(id=mid, risk=risk, ds=ds, review=review))
    for did, basis in DATASETS.items():
        (root / "datasets" / f"{did}.yaml").write_text(DATASET.format(id=did, basis=basis))
    for name, text in POLICIES.items():
        path = root / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def check(root: Path, *, now: str = NOW, cache: bool = True, engine: str | None = None) -> tuple[str, set]:
    """The JSON report and the decisions computed (not reused) by one run."""
    settings = {"cache.enabled": cache, "history.enabled": False}
    if engine:
        settings["engine.name"] = engine
    config = load_config(root, settings=settings)
    stats: dict = {}
    report = run_check(config, now=now, stats=stats)
    return report.to_json(), set(stats["decisions"]["computed"])


def uncached(root: Path, **options) -> str:
    return check(root, cache=False, **options)[0]


def every(policies, ids, kind="model") -> set:
    return {(p, kind, i) for p in policies for i in ids}


def test_each_ingredient_recomputes_exactly_the_decisions_that_depend_on_it(repo):
    all_models = every(MODEL_POLICIES, MODELS) | every(["dataset-basis"], DATASETS, "dataset")
    report, computed = check(repo)
    assert computed == all_models
    assert report == uncached(repo)

    report, computed = check(repo)
    assert computed == set(), "an unchanged re-run reuses every decision"
    assert report == uncached(repo)

    # a card field: that model's decisions only (no policy reads data.gavel.inventory.models)
    path = repo / "models/m2.yaml"
    path.write_text(path.read_text().replace("risk_level: minimal", "risk_level: high"))
    report, computed = check(repo)
    assert computed == every(MODEL_POLICIES, ["m2"])
    assert report == uncached(repo)
    assert '"m2 is high risk"' in report

    # a dataset a policy looks up: that dataset's own decisions, and the lookup policy on every model
    path = repo / "datasets/ds1.yaml"
    path.write_text(path.read_text().replace("consent", "none"))
    report, computed = check(repo)
    assert computed == every(["lookup-basis"], MODELS) | every(["dataset-basis"], ["ds1"], "dataset")
    assert report == uncached(repo)
    assert "m1 trains on ds1, which has no legal basis" in report

    # a parameter: that policy only
    config = repo / "gavel.yaml"
    config.write_text(config.read_text().replace("minimum: 1", "minimum: 2"))
    report, computed = check(repo)
    assert computed == every(["min-metrics"], MODELS)
    assert report == uncached(repo)
    assert "m3 reports too few metrics" in report

    # a policy's text: that policy only
    path = repo / "policies/card.yaml"
    path.write_text(path.read_text().replace("[minimal, limited]", "[minimal, limited, high]"))
    report, computed = check(repo)
    assert computed == every(["card-risk"], MODELS)
    assert report == uncached(repo)

    # now: the policy that reads the time only
    later = "2027-03-01T00:00:00Z"
    report, computed = check(repo, now=later)
    assert computed == every(["review-recent"], MODELS)
    assert report == uncached(repo, now=later)


def test_a_new_engine_version_recomputes_everything(repo, monkeypatch):
    import engine.decisions as decisions

    check(repo)
    real = decisions.engine_identity
    monkeypatch.setattr(decisions, "engine_identity", lambda name: [*real(name), "regorus 99.0.0"])
    report, computed = check(repo)
    assert len(computed) == 14
    assert report == uncached(repo)


def test_an_opa_server_is_never_served_from_the_cache():
    """Its policies, data and version live outside this process: nothing to key on."""
    from engine.decisions import engine_identity

    assert engine_identity("opa") is None
    assert engine_identity("embedded")[0].startswith("gavel ")


def test_cache_off_in_config_and_by_flag(repo, gavel):
    check(repo)
    assert (repo / ".gavel/cache" / READY_FILE).exists()  # every decision is stored with its findings
    _, computed = check(repo, cache=False)
    assert len(computed) == 14
    result = gavel("check", repo, "--now", NOW, "--no-cache", "--no-history", "-v")
    assert "decisions: 0 reused from the cache, 14 computed" in result.stderr
    config = repo / "gavel.yaml"
    config.write_text(config.read_text() + "cache: {enabled: false}\n")
    result = gavel("check", repo, "--now", NOW, "--no-history", "-v")
    assert "decisions: 0 reused from the cache, 14 computed" in result.stderr


def test_through_gavel_a_rerun_reuses_and_writes_the_same_report(repo, gavel, tmp_path):
    first = gavel("check", repo, "--now", NOW, "--no-history", "-v", "-o", f"json={tmp_path}/a.json")
    second = gavel("check", repo, "--now", NOW, "--no-history", "-v", "-o", f"json={tmp_path}/b.json")
    assert "decisions: 0 reused from the cache, 14 computed" in first.stderr
    assert "decisions: 14 reused from the cache, 0 computed" in second.stderr
    assert first.exit_code == second.exit_code == 1
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def stored_decisions(root: Path) -> dict[str, dict]:
    """Every decision the caches hold, by subject and context: the decision cache's, and those the
    findings cache stores with the findings of its subjects."""
    from engine.decisions import READY_FILE, DecisionCache, ReadyFindings

    cache = root / ".gavel/cache"
    held = dict(DecisionCache(cache / FILE).entries)
    ready = ReadyFindings(cache / READY_FILE)
    held.update((subject, ready.by_context(subject)) for subject in ready.entries)
    return held


def decisions_alone(root: Path) -> None:
    """Put every decision the caches hold in the decision cache, and drop the findings cache (which
    would answer for every subject), so a run reads the decision cache alone."""
    from engine import cachefile
    from engine.decisions import READY_FILE

    held = stored_decisions(root)
    if held:
        cachefile.save_plain(root / ".gavel/cache" / FILE, str(FORMAT),
                             {"format": FORMAT, "subjects": dict(sorted(held.items()))})
    (root / ".gavel/cache" / READY_FILE).unlink(missing_ok=True)


def _flip_verdicts(path: Path) -> None:
    """What an attacker would plant: every cached verdict replaced by a pass."""
    import marshal

    mac, _, body = path.read_bytes().partition(b"\n")
    data = marshal.loads(body)
    flipped = 0
    for entry in data["subjects"].values():
        for context, value in entry.items():
            if value.get("deny"):
                entry[context] = {"deny": [], "applicable": True}
                flipped += 1
    assert flipped, "the repository's cache holds failures to flip"
    path.write_bytes(mac + b"\n" + marshal.dumps(data))


def test_a_tampered_cache_is_ignored(repo):
    check(repo)
    decisions_alone(repo)
    expected = uncached(repo)
    cache = repo / ".gavel/cache" / FILE
    _flip_verdicts(cache)
    report, computed = check(repo)
    assert len(computed) == 14, "an entry whose MAC does not verify is never used"
    assert report == expected


def test_a_cache_written_under_another_secret_is_ignored(repo, monkeypatch):
    """A planted file with a well-formed MAC made without our secret: every entry is rejected."""
    monkeypatch.setenv("GAVEL_CACHE_KEY", "the attacker's secret")
    check(repo)
    decisions_alone(repo)
    cache = repo / ".gavel/cache" / FILE
    _flip_verdicts(cache)
    mac_free = cache.read_bytes().partition(b"\n")[2]
    import hashlib
    import hmac

    cache.write_bytes(hmac.new(b"the attacker's secret", mac_free, hashlib.sha256).hexdigest().encode() + b"\n"
                      + mac_free)
    monkeypatch.setenv("GAVEL_CACHE_KEY", "test-secret")
    report, computed = check(repo)
    assert len(computed) == 14
    assert report == uncached(repo)


def test_a_corrupt_cache_means_a_cold_run(repo):
    check(repo)
    decisions_alone(repo)
    (repo / ".gavel/cache" / FILE).write_text("not json at all")
    report, computed = check(repo)
    assert len(computed) == 14
    assert report == uncached(repo)


@pytest.mark.parametrize("payload", [
    [],  # not the mapping we write
    {"format": 2, "subjects": {}},  # another format
    {"format": FORMAT, "subjects": []},
    {"format": FORMAT, "subjects": {"a": []}},
    "every subject: a verdict that is not an object",  # filled in below
])
def test_a_well_signed_cache_of_the_wrong_shape_is_an_empty_cache(repo, payload):
    """Bytes our key signed but that are not what this version writes (marshal decodes whatever it
    is given): nothing in them is used."""
    from engine import cachefile
    from engine.decisions import DecisionCache

    check(repo)
    decisions_alone(repo)
    expected = uncached(repo)
    path = repo / ".gavel/cache" / FILE
    if isinstance(payload, str):
        entries = DecisionCache(path).entries
        assert entries, "the first run wrote a cache"
        payload = {"format": FORMAT, "subjects": {subject: dict.fromkeys(entry, ["deny"])
                                                  for subject, entry in entries.items()}}
    cachefile.save_plain(path, str(FORMAT), payload)
    decisions_alone(repo)
    assert DecisionCache(path).entries == {}
    report, computed = check(repo)
    assert len(computed) == 14
    assert report == expected


def test_equal_decisions_are_stored_once(repo):
    """Equal rule values computed by a run are one object in the file (the next run maps each to its
    findings once), and the run after that reads back the same report."""

    check(repo)
    entries = stored_decisions(repo)
    values = [value for entry in entries.values() for value in entry.values()]
    texts = {json.dumps(value, sort_keys=True) for value in values}
    assert len(values) == 14 and len({id(value) for value in values}) == len(texts) < len(values)
    assert check(repo) == (uncached(repo), set())


@pytest.mark.parametrize(("text", "expected"), [
    ("x if input.subject.a == 1", Dependencies()),
    ('x if input["subject"].a == 1', Dependencies()),
    ("x if input.now > 1", Dependencies(now=True)),
    ('x if input["now"] > 1', Dependencies(now=True)),
    ("x if walk(input, [p, v])", Dependencies(now=True)),  # cannot follow: assume it reads now
    ("x if some k, v in input", Dependencies(now=True)),
    ('x if object.get(input, ["subject", "a"], null)', Dependencies()),
    ('x if object.get(input, ["now"], null)', Dependencies(now=True)),
    ('x := "input and data in a message" # input, data', Dependencies()),
    ("x if data.gavel.inventory.datasets[i]", Dependencies(inventory=("datasets",))),
    ("x if data.gavel.inventory[k]", Dependencies(inventory=("*",))),
    ('x if data.gavel.params["p"].n', Dependencies(params="own")),
    ('x if data.gavel.params["other"].n', Dependencies(params="all")),
    ("x if data.gavel.params[k]", Dependencies(params="all")),
    ("x if data.lib.helper", Dependencies(foreign=True)),
    ("x if data[k]", Dependencies(foreign=True)),
    ("x if data.pkg.own_rule", Dependencies()),  # the policy's own package
    ("x if time.now_ns() > 0", Dependencies(cacheable=False)),
    ("x if rand.intn(\"k\", 2) == 1", Dependencies(cacheable=False)),
    ('x if http.send({"url": u})', Dependencies(cacheable=False)),
])
def test_what_a_policy_reads(text, expected):
    assert dependencies(text, "p", "pkg") == expected


def test_plain_cache_files_refuse_what_they_cannot_hold(tmp_path, monkeypatch):
    """``save_plain`` writes nothing (and raises nothing) for data marshal refuses; ``load_plain``
    gives None for a payload that verifies but does not decode."""
    from engine import cachefile

    monkeypatch.setenv("GAVEL_CACHE_KEY", "test-secret")
    path = tmp_path / "c.bin"
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    cachefile.save_plain(path, "s", {"a": deep})
    assert not path.exists()
    cachefile.save_plain(path, "s", {"a": object()})
    assert not path.exists()
    cachefile.save_plain(path, "s", {"a": [1, "x", None]})
    assert cachefile.load_plain(path, "s") == {"a": [1, "x", None]}
    assert cachefile.load_plain(path, "other stamp") is None
    stamp = cachefile._plain("s")
    cachefile.write(path, stamp, b"\xff not marshal")
    assert cachefile.load_plain(path, "s") is None


def test_the_decision_cache_keeps_only_what_the_findings_cache_does_not_hold(repo):
    """Each decision is written once: with the findings of its subject when they are stored
    (``ReadyFindings``), else in the decision cache; a later run finds it either way."""
    from engine.decisions import DecisionCache

    check(repo)
    assert DecisionCache(repo / ".gavel/cache" / FILE).entries == {}
    assert sum(map(len, stored_decisions(repo).values())) == 14
    config = repo / "gavel.yaml"  # one policy's parameter: its decisions only are computed again
    config.write_text(config.read_text().replace("minimum: 1", "minimum: 2"))
    report, computed = check(repo)
    assert computed and len(computed) < 14 and report == uncached(repo)
