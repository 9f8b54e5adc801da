"""A worker for the durability tests: ``python spender.py PROJECT DATASET EPSILON COUNT [GO_FILE]``.

Waits for GO_FILE (so workers start together), then runs ``gavel budget spend`` COUNT times in
this process and prints one line per attempt, flushed as soon as the command returned:
``ok <id>`` (acknowledged), ``refused``, or ``error <exit code> <stderr>``.
"""

from __future__ import annotations

import json
import os
import sys
import time

from click.testing import CliRunner

from engine.cli import main


def run(project: str, dataset: str, epsilon: str, count: int, go: str | None) -> None:
    runner = CliRunner()
    if go:
        while not os.path.exists(go):
            time.sleep(0.001)
    for i in range(count):
        result = runner.invoke(main, ["budget", "spend", dataset, "--epsilon", epsilon, "--mechanism", "laplace",
                                      "--purpose", f"worker {os.getpid()} spend {i}", "--actor", "test",
                                      "--json", "-c", project])
        if result.exit_code == 0:
            line = f"ok {json.loads(result.stdout)['recorded']['id']}"
        elif result.exit_code == 1 and "Refused" in result.stderr:
            line = "refused"
        else:
            line = f"error {result.exit_code} {result.stderr.strip()!r}"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
