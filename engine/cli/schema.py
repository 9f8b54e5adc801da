"""``gavel schema``: print the JSON Schema of a file format Gavel reads or writes."""

from __future__ import annotations

import json

import click


def report_schema() -> dict:
    """``schemas/report.schema.json``, generated from the ``Report`` record (pydantic)."""
    from engine.findings import Report, adapter

    schema = adapter(Report).json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gavel.dev/schemas/report.schema.json",
        **schema,
        "title": "Gavel report",
        "description": "A `gavel check` run: inputs and their digests, policies, findings, summary and gate verdict. "
        "Generated from engine/findings.py by `gavel schema report --generate`.",
    }


@click.command()
@click.argument("name", required=False)
@click.option("--generate", is_flag=True, help="Print the schema generated from the code (report only).")
def schema(name, generate):
    """Print the JSON Schema NAME (config, model-card, dataset-card, policy, input, report, ...).

    Without NAME, list the schemas.
    """
    from engine.resources import data_dir, schema_path

    if not name:
        for path in sorted(data_dir("schemas").glob("*.schema.json")):
            click.echo(path.name.removesuffix(".schema.json"))
        return
    if generate:
        if name != "report":
            raise click.UsageError("--generate applies to the report schema only")
        click.echo(json.dumps(report_schema(), indent=2))
        return
    path = schema_path(name)
    if not path.is_file():
        raise click.UsageError(f"no schema named {name!r}; run `gavel schema` for the list")
    click.echo(path.read_text(), nl=False)
