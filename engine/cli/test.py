"""``gavel test``: run policy unit tests (``*_test.yaml`` cases and Rego ``test_*`` rules)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=False))
@click.option("-o", "--output", "outputs", multiple=True, metavar="FORMAT[=PATH]",
              help="Output: text (default), json, junit; =PATH writes a file (repeatable).")
@click.option("--run", "run", metavar="REGEX", help="Only run tests whose id (FILE::NAME) matches.")
@click.option("--coverage", is_flag=True, help="Report which Rego lines of the policies the tests ran.")
@click.option("--threshold", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="With --coverage: fail (exit 1) when coverage is below PERCENT.")
@click.option("-v", "--verbose", is_flag=True, help="One line per test.")
def test(paths, outputs, run, coverage, threshold, verbose):
    """Run the policy tests under PATHS (files or folders; default: the built-in policies).

    \b
    Test files sit beside the policies they test:
      *_test.yaml   cases: a subject (inline, an input document, or an evidence file) and the
                    expected result (pass, fail, warn, skip, error), optionally a message regex;
                    schema: schemas/policy-test.schema.json
      *_test.rego   test_* rules, run like `opa test` (with input as / with data.x as); todo_ skipped

    \b
    Examples:
      gavel test examples/policies
      gavel test policies/ --run dpia -v
      gavel test . --coverage --threshold 80 -o junit=out/policy-tests.xml

    Exit codes: 0 every test passed, 1 a test failed (or coverage is under --threshold),
    2 a test could not run (a broken test file, a policy that does not load).
    """
    from engine.cli.options import parse_output
    from engine.errors import UsageError
    from engine.testing import RENDERERS, run_tests

    if threshold is not None and not coverage:
        raise UsageError("--threshold needs --coverage")
    specs = [parse_output(spec) for spec in (outputs or ["text"])]
    for fmt, _ in specs:
        if fmt not in RENDERERS:
            raise UsageError(f"unknown test output '{fmt}'. Choose from: {', '.join(RENDERERS)}")
    if paths:
        targets = [Path(p) for p in paths]
    else:
        from engine.resources import policies_dir

        targets = [policies_dir()]
    result = run_tests(targets, run=run, coverage=coverage, threshold=threshold)
    for fmt, path in specs:
        text = RENDERERS[fmt](result, verbose=verbose) if fmt == "text" else RENDERERS[fmt](result)
        if path in (None, "-"):
            click.echo(text, nl=False)
        else:
            from engine.fsutil import atomic_write

            atomic_write(Path(path), text)
    sys.exit(result.exit_code)
