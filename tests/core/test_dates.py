"""Date-age operators count calendar days (UTC), the same in compiled YAML and hand-written Rego,
checked against Python's ``date`` arithmetic; failed ``any``/``not`` conditions show their values."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.evaluate import prepare
from engine.policy import load_paths, pack_path
from tests.conftest import model_card
from tests.core.helpers import judge, statuses, yaml_policy_set

POLICY = """\
id: recent
title: Reviewed recently
severity: high
target: model
assert: {{field: subject.last_review, {op}: {days}}}
"""


def verdict(op: str, days: int, value, now: str) -> str:
    (finding,) = judge(yaml_policy_set(POLICY.format(op=op, days=days)), [{"id": "m", "last_review": value}], now=now)
    return finding.status


def test_exactly_n_days_before_is_within_n_whatever_the_time_of_now():
    for now in ("2026-11-26T00:00:00Z", "2026-11-26T15:30:00Z", "2026-11-26T23:59:59.999Z"):
        assert verdict("max_age_days", 365, "2025-11-26", now) == "pass", now
        assert verdict("max_age_days", 365, "2025-11-25", now) == "fail", now
        assert verdict("min_age_days", 365, "2025-11-26", now) == "pass", now
        assert verdict("min_age_days", 365, "2025-11-27", now) == "fail", now


def test_timestamps_count_by_their_utc_day():
    # 23:30 at UTC-5 is 04:30 the next day in UTC: 0 days before now's day, not 1.
    assert verdict("max_age_days", 0, "2026-11-25T23:30:00-05:00", "2026-11-26T08:00:00Z") == "pass"
    assert verdict("max_age_days", 0, "2026-11-25T23:30:00Z", "2026-11-26T08:00:00Z") == "fail"


def test_a_space_for_t_is_not_a_date():
    # regorus parses "2026-11-26 10:00:00Z" as RFC 3339, OPA does not: never accept it.
    assert verdict("max_age_days", 30, "2026-11-26 10:00:00Z", "2026-11-26T12:00:00Z") == "fail"


zones = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))])
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31))


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(now=instants, zone=zones, back=st.integers(-3, 800), limit=st.integers(0, 800), as_date=st.booleans())
def test_max_age_days_agrees_with_python_calendar_days(now, zone, back, limit, as_date):
    now_utc = now.replace(tzinfo=UTC)
    then = (now_utc - timedelta(days=back, hours=back % 24)).astimezone(zone)
    value = then.date().isoformat() if as_date else rfc3339(then)
    then_day = then.date() if as_date else then.astimezone(UTC).date()
    expected = "pass" if (now_utc.date() - then_day).days <= limit else "fail"
    assert verdict("max_age_days", limit, value, rfc3339(now_utc)) == expected


@settings(max_examples=40, deadline=None)
@given(now=instants, back=st.integers(0, 400))
def test_hand_written_rego_counts_days_like_the_yaml_operator(now, back):
    """iso-data-quality's own ``recent`` rule against the YAML operator, both at 180 days."""
    policy_set = _quality_pack()
    now_utc = rfc3339(now.replace(tzinfo=UTC))
    day = (now.date() - timedelta(days=back)).isoformat()
    doc = json.dumps({"subject": {"quality": {"last_checked": day}}, "now": now_utc})
    (value,) = _quality_engine(policy_set).evaluate("data.gavel.packs.iso_42001.data_quality.recent", [doc])
    rego_recent = value is True
    assert rego_recent == (verdict("max_age_days", 180, day, now_utc) == "pass") == (back <= 180)


_CACHE: dict = {}


def _quality_pack():
    if "set" not in _CACHE:
        _CACHE["set"] = load_paths([(pack_path("iso-42001"), "iso-42001")])
    return _CACHE["set"]


def _quality_engine(policy_set):
    if "engine" not in _CACHE:
        _CACHE["engine"] = prepare(policy_set, data={"inventory": {"models": {}, "datasets": {}}}, workers=1,
                                   options={"isolate": False}).engine
    return _CACHE["engine"]


def test_undefined_recent_is_read_as_false():
    # a guard for the test above: an unparsable date leaves ``recent`` undefined (not true)
    policy_set = _quality_pack()
    doc = json.dumps({"subject": {"quality": {"last_checked": "yesterday"}}, "now": "2026-11-26T00:00:00Z"})
    (value,) = _quality_engine(policy_set).evaluate("data.gavel.packs.iso_42001.data_quality.recent", [doc])
    assert value is not True


ANY_POLICY = """\
id: reviewed
title: Reviewed
severity: high
target: model
assert:
  any:
    - {field: subject.dpia.status, equals: approved}
    - {field: subject.risk_level, in: [minimal]}
"""


def test_failed_any_reports_expected_and_actual(gavel, project):
    root = project({"models/m.yaml": model_card(extra="dpia: {status: not_started}\n"), "policies/p.yaml": ANY_POLICY},
                   config="evidence:\n  - {path: models/*.yaml, kind: model}\npolicies:\n  paths: [policies]\n")
    result = gavel("check", root, "-o", "json", "--now", "2026-11-26T00:00:00Z")
    (finding,) = [f for f in json.loads(result.stdout)["findings"] if f["policy"] == "reviewed"]
    (failed,) = finding["evidence"]["failed"]
    assert failed["operator"] == "any"
    assert failed["expected"] == ['subject.dpia.status equals "approved"', 'subject.risk_level in ["minimal"]']
    assert failed["actual"] == {"subject.dpia.status": "not_started", "subject.risk_level": "high"}


def test_failed_not_reports_the_field_values():
    text = ("id: p\ntitle: T\nseverity: high\ntarget: model\n"
            "assert: {not: {field: subject.risk_level, equals: high}}\n")
    (finding,) = judge(yaml_policy_set(text), [{"id": "m", "risk_level": "high"}])
    assert statuses([finding]) == ["fail"]
    (failed,) = finding.evidence["failed"]
    assert failed["expected"] == 'not subject.risk_level equals "high"'
    assert failed["actual"] == {"subject.risk_level": "high"}


def test_python_oracle_sanity():
    assert (date(2026, 11, 26) - date(2025, 11, 26)).days == 365
