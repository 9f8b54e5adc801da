"""OPA's own conformance cases through Gavel's embedded engine: how much of Rego does it speak?

    python benchmarks/rego_conformance.py PATH/TO/TestData/v1 [--show-failures N] [--only SUBSTRING]

PATH is OPA's topdown test cases as JSON, e.g. the copy the ``open-policy-agent/swift-opa``
repository carries under ``ComplianceSuite/Tests/RegoComplianceTests/TestData/v1`` (not
committed here). Every case is a case OPA passes. Each runs through ``EmbeddedEngine`` (the
interface ``gavel check`` uses, with Gavel's extension builtins and its recursion check): the
case's modules and data are loaded, and the query is wrapped in a comprehension collecting its
bindings. A case passes when the bindings equal ``want_result`` (as sets when
``sort_bindings``), when it is undefined where OPA's is, or when it errors (at load or at
evaluation) where OPA's does. Prints the pass rate overall and per folder, and the reasons for
failures, grouped (a missing builtin, a wrong result, an unexpected error).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.engines.embedded import EmbeddedEngine  # noqa: E402
from engine.errors import EngineError, GavelError  # noqa: E402

WRAPPER = "gavel_conformance"


def wrapper(query: str, names: list[str]) -> str:
    body = "; ".join(part.strip() for part in re.split(r"\n", query) if part.strip())
    binding = "{" + ", ".join(f"{json.dumps(n)}: {n}" for n in names) + "}"
    return f"package {WRAPPER}\n\nresults := [__b | {body}; __b := {binding}]\n"


def normal(value, sort: bool):
    """Bindings as comparable JSON: with ``sort_bindings``, arrays are compared as sorted."""
    if isinstance(value, dict):
        return {k: normal(v, sort) for k, v in value.items()}
    if isinstance(value, list):
        items = [normal(v, sort) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True)) if sort else items
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_set(results: list, sort: bool) -> list[str]:
    return sorted({json.dumps(normal(r, sort), sort_keys=True) for r in results})


def run_case(case: dict) -> tuple[bool, str]:
    want = case.get("want_result")
    wants_error = "want_error_code" in case or "want_error" in case
    names = sorted({k for r in want or [] for k in r})
    modules = {f"case_{i}.rego": text for i, text in enumerate(case.get("modules") or [])}
    modules[f"{WRAPPER}.rego"] = wrapper(case["query"], names)
    if "input_term" in case:
        document = None
        modules[f"{WRAPPER}_input.rego"] = f"package {WRAPPER}_input\n\nterm := {case['input_term']}\n"
    else:
        document = json.dumps(case.get("input", {}) if "input" in case else None)
    engine = EmbeddedEngine(deadline=10, max_memory_mb=1024)
    try:
        engine.load(modules, case.get("data") or {})
    except GavelError as exc:
        return (True, "error as expected") if wants_error else (False, f"load: {exc.message}")
    if document is None:  # the input is a Rego term: evaluate it first
        (term,) = engine.evaluate(f"data.{WRAPPER}_input.term", ["null"])
        if isinstance(term, EngineError):
            return (True, "error as expected") if wants_error else (False, f"input: {term}")
        document = json.dumps(term)
    (value,) = engine.evaluate(f"data.{WRAPPER}.results", [document])
    if isinstance(value, EngineError):
        return (True, "error as expected") if wants_error else (False, f"eval: {value}")
    if wants_error:
        return False, "no error where OPA gives one"
    sort = bool(case.get("sort_bindings"))
    if want is None:
        defined = bool(case.get("want_defined"))
        return (bool(value) == defined), "defined" if value else "undefined"
    ok = as_set(value, sort) == as_set(want, sort)
    return ok, "" if ok else f"result {json.dumps(value)[:160]} != want {json.dumps(want)[:160]}"


def reason_kind(reason: str) -> str:
    match = re.search(r"could not find function (\S+)", reason)
    if match:
        return f"missing builtin {match.group(1)}"
    if reason.startswith("result"):
        return "wrong result"
    if reason.startswith("no error"):
        return "no error where OPA errors"
    return reason.split(":", 1)[0] + " error"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--show-failures", type=int, default=0, help="print this many failing cases")
    parser.add_argument("--only", default="", help="only cases whose file path contains this")
    args = parser.parse_args()
    files = sorted(p for p in args.path.rglob("*.json") if args.only in str(p) and p.name != "index.json")
    per_dir: dict[str, Counter] = defaultdict(Counter)
    reasons: Counter = Counter()
    failures = []
    started = time.perf_counter()
    for file in files:
        for case in json.loads(file.read_text()).get("cases", []):
            ok, reason = run_case(case)
            folder = file.parent.name
            per_dir[folder]["pass" if ok else "fail"] += 1
            if not ok:
                reasons[reason_kind(reason)] += 1
                failures.append((file.relative_to(args.path), case["note"], reason))
    elapsed = time.perf_counter() - started
    total = sum(sum(c.values()) for c in per_dir.values())
    passed = sum(c["pass"] for c in per_dir.values())
    print(f"OPA conformance cases through Gavel's embedded engine: {passed}/{total} pass "
          f"({100 * passed / max(total, 1):.1f}%) in {elapsed:.0f} s, {len(files)} files")
    print("\nFailures by reason:")
    for reason, count in reasons.most_common(40):
        print(f"  {count:5d}  {reason}")
    print("\nFolders with failures (pass/total):")
    for folder, counts in sorted(per_dir.items()):
        if counts["fail"]:
            print(f"  {folder}: {counts['pass']}/{counts['pass'] + counts['fail']}")
    for file, note, reason in failures[: args.show_failures]:
        print(f"\n{file} :: {note}\n  {reason}")


if __name__ == "__main__":
    main()
