"""Prometheus: compliance status in the text exposition format (0.0.4).

For node_exporter's textfile collector (``-o prometheus=/var/lib/node_exporter/gavel.prom``) or a
Pushgateway (``gavel check --pushgateway URL``); a Grafana dashboard for these metrics is in
``examples/grafana/gavel-dashboard.json``. Metrics (all gauges; the run's ``project`` is a label
only when a Pushgateway job needs one):

  gavel_findings{status, severity, policy, kind}   findings of one policy on one subject kind
  gavel_gate_passed                                 1 when the gate passed, else 0
  gavel_subjects{kind}                              subjects judged
  gavel_privacy_epsilon_remaining{dataset}          epsilon left in the budget's current period
  gavel_privacy_epsilon_budget{dataset}             the period's epsilon budget
  gavel_privacy_budget_exceeded{dataset}            1 when the period's budget is exceeded
  gavel_evidence_age_days{kind, id, field}          days from an evidence date (a model's
                                                    ``last_review``, a dataset's
                                                    ``quality.last_checked``) to the run's ``now``
  gavel_run_timestamp_seconds                       the run's ``now`` (Unix time)
  gavel_run_duration_seconds                        wall time of the process so far (the only
                                                    line that changes between identical runs;
                                                    left out when not known)

Label values are escaped as the format requires (backslash, double quote, newline), so a card
field cannot forge a metric line.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from engine.findings import Report

_HELP = {
    "gavel_findings": "Findings by status, severity, policy and subject kind.",
    "gavel_gate_passed": "1 when the compliance gate passed, 0 when it failed.",
    "gavel_subjects": "Subjects judged, by kind.",
    "gavel_privacy_epsilon_remaining": "Differential-privacy epsilon left in the budget's current period.",
    "gavel_privacy_epsilon_budget": "Differential-privacy epsilon budget of the current period.",
    "gavel_privacy_budget_exceeded": "1 when the dataset's privacy budget is exceeded in the current period.",
    "gavel_evidence_age_days": "Days from an evidence item's own date to the run's evaluation time.",
    "gavel_run_timestamp_seconds": "The run's evaluation time (now), as Unix time.",
    "gavel_run_duration_seconds": "Wall time of the gavel process until the metrics were rendered.",
}


def render(report: Report, *, duration: float | None = None, **_options) -> str:
    families: dict[str, list[tuple[dict[str, str], float]]] = {name: [] for name in _HELP}
    counts = Counter((f.status, f.severity, f.policy, f.subject.kind) for f in report.findings)
    for (status, severity, policy, kind), n in sorted(counts.items()):
        families["gavel_findings"].append(({"status": status, "severity": severity, "policy": policy, "kind": kind}, n))
    families["gavel_gate_passed"].append(({}, 1 if report.gate.passed else 0))
    subjects = Counter(kind for kind, _ in {(f.subject.kind, f.subject.id) for f in report.findings})
    for kind, n in sorted(subjects.items()):
        families["gavel_subjects"].append(({"kind": kind}, n))
    for dataset, budget in sorted((report.extra.get("budgets") or {}).items()):
        labels = {"dataset": dataset}
        families["gavel_privacy_epsilon_remaining"].append((labels, budget["remaining"]["epsilon"]))
        families["gavel_privacy_epsilon_budget"].append((labels, budget["epsilon_budget"]))
        families["gavel_privacy_budget_exceeded"].append((labels, 1 if budget["exceeded"] else 0))
    now = _parse_time(report.run.now)
    for key, dates in sorted((report.extra.get("evidence_dates") or {}).items()):
        kind, _, subject = key.partition(":")
        for field, value in sorted(dates.items()):
            when = _parse_date(value)
            if when is not None and now is not None:
                age = (now.date() - when).days
                families["gavel_evidence_age_days"].append(({"kind": kind, "id": subject, "field": field}, age))
    if now is not None:
        families["gavel_run_timestamp_seconds"].append(({}, int(now.timestamp())))
    if duration is not None:
        families["gavel_run_duration_seconds"].append(({}, round(duration, 3)))
    lines: list[str] = []
    for name, samples in families.items():
        if not samples:
            continue
        lines.append(f"# HELP {name} {_HELP[name]}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{_labels(labels)} {_number(value)}" for labels, value in samples)
    return "\n".join(lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{_escape(str(value))}"' for key, value in labels.items()) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _parse_date(value) -> date | None:
    if isinstance(value, date):
        return value if not isinstance(value, datetime) else value.date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def push(text: str, url: str, *, job: str = "gavel", timeout: float = 10.0) -> None:
    """PUT the metrics to a Prometheus Pushgateway (``<url>/metrics/job/<job>``), replacing the job's group.

    Raises :class:`~engine.errors.UsageError` (exit 2) naming the URL when the push fails.
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    from engine.errors import UsageError

    target = url.rstrip("/") + "/metrics/job/" + urllib.parse.quote(job, safe="")
    if urllib.parse.urlsplit(target).scheme not in ("http", "https"):
        raise UsageError(f"--pushgateway: not an http(s) URL: {url!r}")
    request = urllib.request.Request(target, data=text.encode("utf-8"), method="PUT",
                                     headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            response.read()
    except urllib.error.HTTPError as exc:
        raise UsageError(f"--pushgateway {url}: the Pushgateway answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UsageError(f"--pushgateway {url}: cannot push the metrics ({reason})") from None
