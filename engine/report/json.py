"""JSON: the full report, validated by ``schemas/report.schema.json``; the input to ``report convert``."""

from engine.findings import Report


def render(report: Report, **_options) -> str:
    return report.to_json()
