"""JSON: the full report, validated by ``schemas/report.schema.json``; the input to ``report convert``."""

from engine.findings import Report


def render(report: Report, **_options) -> list[str]:
    return report.json_pieces()
