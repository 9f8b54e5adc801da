"""Policy unit tests: ``*_test.yaml`` cases and Rego ``test_*`` rules (``gavel test``).

A YAML case builds one input document and runs the policy through exactly the path ``gavel
check`` takes (``load_paths`` → ``prepare`` → ``Prepared.evaluate`` on an ``engine.context``
subject), so a test exercises what runs in production. The file format is
``schemas/policy-test.schema.json``::

    policy: high-risk-dpia-approved
    cases:
      - name: approved DPIA passes
        subject: {id: m1, risk_level: high, dpia: {status: approved, approver: dpo@x}}
        expect: pass

Rego ``test_*`` rules in ``*_test.rego`` run on the embedded engine with the policies of their
folder loaded beside them, the way ``opa test`` runs them; ``todo_`` rules are skipped.

Outcomes: ``passed``, ``failed`` (the policy did not do what the case expects), ``error`` (the
test could not run: a broken test file, a policy that does not load) and ``skipped``.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import GavelError, UsageError

DEFAULT_NOW = "2026-01-01T00:00:00Z"
YAML_SUFFIXES = ("_test.yaml", "_test.yml")
REGO_SUFFIX = "_test.rego"
_TEST_RULE = re.compile(r"^((?:todo_)?test_\w+)\b\s*(\(?)", re.MULTILINE)


@dataclass
class TestResult:
    """One test's outcome."""

    id: str  # "file::name", what --run matches
    file: str
    name: str
    language: str  # yaml or rego
    status: str  # passed, failed, error, skipped
    line: int | None = None
    policy: str | None = None
    expected: str | None = None
    actual: str | None = None
    message: str = ""  # why it failed or errored
    findings: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class FileCoverage:
    file: str
    covered: list[int]
    not_covered: list[int]

    @property
    def percent(self) -> float:
        total = len(self.covered) + len(self.not_covered)
        return 100.0 if total == 0 else 100.0 * len(self.covered) / total


@dataclass
class Coverage:
    files: list[FileCoverage]

    @property
    def percent(self) -> float:
        covered = sum(len(f.covered) for f in self.files)
        total = covered + sum(len(f.not_covered) for f in self.files)
        return 100.0 if total == 0 else 100.0 * covered / total


@dataclass
class TestRun:
    results: list[TestResult]
    coverage: Coverage | None = None
    threshold: float | None = None
    duration: float = 0.0

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        for result in self.results:
            out[result.status] += 1
        return out

    @property
    def coverage_ok(self) -> bool:
        return self.coverage is None or self.threshold is None or self.coverage.percent + 1e-9 >= self.threshold

    @property
    def exit_code(self) -> int:
        """0 every test passed, 1 a test failed (or coverage is under the threshold), 2 a test could not run."""
        counts = self.counts()
        if counts["error"]:
            return 2
        if counts["failed"] or not self.coverage_ok:
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "summary": {**self.counts(), "total": len(self.results)},
            "tests": [{k: v for k, v in asdict(r).items() if k != "duration"} for r in self.results],
            "coverage": None,
        }
        if self.coverage is not None:
            out["coverage"] = {
                "percent": round(self.coverage.percent, 2),
                "threshold": self.threshold,
                "passed": self.coverage_ok,
                "files": [
                    {"file": f.file, "percent": round(f.percent, 2), "covered": f.covered, "not_covered": f.not_covered}
                    for f in self.coverage.files
                ],
            }
        return out


# -- discovery ------------------------------------------------------------------------------
def discover(paths: list[Path]) -> list[Path]:
    """Test files under ``paths`` (files or folders), sorted, without duplicates."""
    found: set[Path] = set()
    for path in paths:
        if path.is_file():
            if not path.name.endswith((*YAML_SUFFIXES, REGO_SUFFIX)):
                raise UsageError(f"{path}: not a test file (expected *_test.yaml or *_test.rego)")
            found.add(path.resolve())
        elif path.is_dir():
            for suffix in (*YAML_SUFFIXES, REGO_SUFFIX):
                found.update(p.resolve() for p in path.rglob(f"*{suffix}") if p.is_file())
        else:
            raise UsageError(f"no such test file or folder: {path}")
    return sorted(found)


def display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


# -- the runner -----------------------------------------------------------------------------
def run_tests(paths: list[Path], *, run: str | None = None, coverage: bool = False,
              threshold: float | None = None, root: Path | None = None) -> TestRun:
    """Run every test under ``paths``; ``run`` is a regular expression over test ids."""
    started = time.perf_counter()
    root = (root or Path.cwd()).resolve()
    try:
        pattern = re.compile(run) if run else None
    except re.error as exc:
        raise UsageError(f"--run: invalid regular expression {run!r}: {exc}") from None
    files = discover(paths)
    if not files:
        raise UsageError(f"no test files (*_test.yaml, *_test.rego) under {', '.join(map(str, paths))}")
    runner = _Runner(root=root, pattern=pattern, coverage=coverage)
    rego_dirs: dict[Path, list[Path]] = {}
    for file in files:
        if file.name.endswith(REGO_SUFFIX):
            rego_dirs.setdefault(file.parent, []).append(file)
        else:
            runner.yaml_file(file)
    for folder, tests in sorted(rego_dirs.items()):
        runner.rego_folder(folder, tests)
    if pattern is not None and not runner.results:
        raise UsageError(f"no test matches --run {run!r}")
    result = TestRun(runner.results, runner.coverage() if coverage else None, threshold)
    result.duration = time.perf_counter() - started
    return result


class _Runner:
    """Runs test files one by one; caches loaded policy sets and prepared engines between cases."""

    def __init__(self, *, root: Path, pattern: re.Pattern | None, coverage: bool):
        self.root, self.pattern, self.coverage_enabled = root, pattern, coverage
        self.results: list[TestResult] = []
        self._policy_sets: dict[tuple, Any] = {}
        self._prepared: dict[tuple, Any] = {}
        self._engines: list[tuple[Any, set[str]]] = []  # (regorus engine, modules to cover)

    def selected(self, test_id: str) -> bool:
        return self.pattern is None or bool(self.pattern.search(test_id))

    def add_error(self, file: str, language: str, exc: BaseException, line: int | None = None) -> None:
        """A whole file could not run: one ``error`` result (always shown, whatever ``--run`` says)."""
        message = str(exc) if isinstance(exc, GavelError) else f"{type(exc).__name__}: {exc}"
        self.results.append(TestResult(f"{file}::<load>", file, "<load>", language, "error", line, message=message))

    # -- YAML cases ---------------------------------------------------------------------------
    def yaml_file(self, path: Path) -> None:
        from engine import schemas
        from engine.evidence.loader import parse, read_text

        shown = display(path, self.root)
        try:
            doc = parse(read_text(path, shown), shown)
            if not isinstance(doc.data, dict):
                raise UsageError("a test file must be a mapping with 'cases'", file=shown, line=1)
            schemas.check("policy-test", doc, error=UsageError)
        except GavelError as exc:
            self.add_error(shown, "yaml", exc)
            return
        spec = doc.data
        for index, case in enumerate(spec["cases"]):
            test_id = f"{shown}::{case['name']}"
            if not self.selected(test_id):
                continue
            line = doc.line_of(["cases", index])
            result = TestResult(test_id, shown, case["name"], "yaml", "error", line,
                                policy=case.get("policy") or spec.get("policy"), expected=case["expect"])
            started = time.perf_counter()
            try:
                self.yaml_case(path, shown, spec, case, line, result)
            except GavelError as exc:
                result.status, result.message = "error", str(exc)
            result.duration = time.perf_counter() - started
            self.results.append(result)

    def policy_set(self, path: Path, spec: dict, params: dict):
        from engine.policy import load_paths, policy_files

        files: list[Path] = []
        for folder in [path.parent, *(path.parent / p for p in spec.get("policies", []))]:
            for file in policy_files(folder):
                if file.resolve() not in files:
                    files.append(file.resolve())
        key = (tuple(files), json.dumps(params, sort_keys=True))
        if key not in self._policy_sets:
            self._policy_sets[key] = load_paths([(f, None) for f in files], params=params, root=self.root)
        return key, self._policy_sets[key]

    def yaml_case(self, path: Path, shown: str, spec: dict, case: dict, line: int | None, result: TestResult) -> None:
        from engine.check import resolve_now
        from engine.evaluate import prepare

        pid = result.policy
        params = {pid: case["params"]} if case.get("params") else {}
        key, policy_set = self.policy_set(path, spec, params)
        policy = policy_set.get(pid)
        if policy is None:
            from difflib import get_close_matches

            ids = [p.id for p in policy_set.policies]
            close = get_close_matches(pid, ids, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; loaded: {', '.join(ids) or 'none'}"
            raise UsageError(f"no policy '{pid}' is loaded for this test{hint}", file=shown, line=line)
        subject = self.subject(path, shown, case, policy, line, resolve_now)
        if not policy.applies_to(subject.kind):
            raise UsageError(f"policy '{pid}' does not target kind '{subject.kind}' (it targets "
                             f"{', '.join(policy.target)})", file=shown, line=line)
        data = {"inventory": {"models": {}, "datasets": {}, **(case.get("data") or {})}}
        pkey = (key, json.dumps(data, sort_keys=True))
        prepared = self._prepared.get(pkey)
        if prepared is None:
            # coverage is reported on each policy's own module, so YAML policies are not inlined
            prepared = prepare(policy_set, data=data, engine="embedded", workers=1,
                               inline_yaml=not self.coverage_enabled)
            self._prepared[pkey] = prepared
            if self.coverage_enabled:
                native = prepared.engine.native  # the regorus Engine behind EmbeddedEngine
                native.set_enable_coverage(True)
                self._engines.append((native, _covered_modules(policy_set)))
        findings = [f for f in prepared.evaluate([subject]) if f.policy == pid]
        result.findings = [{"status": f.status, "message": f.message, "evidence": f.evidence} for f in findings]
        result.actual = outcome(f.status for f in findings)
        problems = []
        if result.actual != case["expect"]:
            problems.append(f"expected {case['expect']}, got {result.actual}")
        if case.get("message"):
            try:
                wanted = re.compile(case["message"])
            except re.error as exc:
                raise UsageError(f"'message' is not a valid regular expression: {exc}", file=shown,
                                 line=line) from None
            if not any(wanted.search(f.message) for f in findings):
                problems.append(f"no finding message matches /{case['message']}/")
        result.status = "failed" if problems else "passed"
        result.message = "; ".join(problems)

    def subject(self, path: Path, shown: str, case: dict, policy, line, resolve_now):
        from engine.context import EMPTY_LINEAGE, EMPTY_PRIVACY, Subject, subject_of
        from engine.findings import Source
        from engine.inventory import Record

        kind = policy.target[0]
        source = Source(file=shown, line=line)
        if "evidence" in case:
            from engine.evidence import read_card
            from engine.evidence.gavel import adapt
            from engine.evidence.loader import DEFAULT_LIMITS, parse, read_text

            card_path = (path.parent / case["evidence"]).resolve()
            card_shown = display(card_path, self.root)
            text = read_text(card_path, card_shown)
            declared = parse(text, card_shown).data
            if isinstance(declared, dict) and declared.get("kind") in ("model", "dataset"):
                kind = declared["kind"]
            if kind not in ("model", "dataset"):
                raise UsageError(f"evidence cards are models or datasets; policy '{policy.id}' targets {kind}",
                                 file=shown, line=line)
            record = read_card(text, card_shown, kind, adapt, DEFAULT_LIMITS)
            return subject_of(record, now=resolve_now(case.get("now") or DEFAULT_NOW))
        if "subject" in case:
            card = case["subject"]
            record = Record(kind, str(card.get("id", "test")), card, source)
            return subject_of(record, now=resolve_now(case.get("now") or DEFAULT_NOW))
        given = case["input"]
        subject = given.get("subject") or {}
        doc = {
            "kind": given.get("kind", kind),
            "id": str(given.get("id", subject.get("id", "test") if isinstance(subject, dict) else "test")),
            "source": None,
            "subject": {},
            "lineage": copy.deepcopy(EMPTY_LINEAGE),
            "privacy": copy.deepcopy(EMPTY_PRIVACY),
            "now": DEFAULT_NOW,
        }
        doc = merge(doc, given)
        doc["now"] = resolve_now(case.get("now") or doc["now"])
        return Subject(doc["kind"], doc["id"], source, doc)

    # -- Rego test rules ----------------------------------------------------------------------
    def rego_folder(self, folder: Path, tests: list[Path]) -> None:
        import regorus

        from engine.engines.embedded import add_module, prepare_engine
        from engine.policy import load_paths
        from engine.policy.rego import check_builtins, parse_module, user_functions
        from engine.policy.regoast import check_recursion, parse_modules

        shown_tests = [(t, display(t, self.root)) for t in tests]
        try:
            policy_set = load_paths([(folder, None)], root=self.root)
        except GavelError as exc:
            for _, shown in shown_tests:
                self.add_error(shown, "rego", exc)
            return
        native = regorus.Engine()
        prepare_engine(native)  # the extension builtins and I/O refusals, as in `gavel check`
        if self.coverage_enabled:
            native.set_enable_coverage(True)
        try:
            from engine.evaluate import library_modules

            for name, text in {**library_modules(), **policy_set.modules()}.items():
                add_module(native, name, text)
            native.add_data_json(json.dumps({"gavel": {"inventory": {"models": {}, "datasets": {}},
                                                       "params": policy_set.params}}))
        except GavelError as exc:
            for _, shown in shown_tests:
                self.add_error(shown, "rego", exc)
            return
        texts = {}
        for path, shown in shown_tests:
            try:
                from engine.evidence.loader import read_text

                text = read_text(path, shown)
                module = parse_module(text, shown)
                defined = user_functions([text, *policy_set.modules().values()])
                check_builtins(module, text, shown, defined, policy_set.allow_builtins)
                check_recursion(parse_modules({**policy_set.modules(), shown: text}))
                add_module(native, shown, text)
            except GavelError as exc:
                self.add_error(shown, "rego", exc)
                continue
            texts[shown] = (text, module.package)
        if self.coverage_enabled:
            self._engines.append((native, _covered_modules(policy_set)))
        for shown, (text, package) in texts.items():
            self.rego_rules(native, shown, text, package)

    def rego_rules(self, native, shown: str, text: str, package: str) -> None:
        from engine.engines.embedded import message_of
        from engine.policy.rego import _strip

        code = _strip(text)
        names: dict[str, int] = {}
        lines: dict[str, int] = {}
        for match in _TEST_RULE.finditer(code):
            name, paren = match.groups()
            if paren:  # a function, not a test
                continue
            names[name] = names.get(name, 0) + 1
            lines.setdefault(name, code.count("\n", 0, match.start()) + 1)
        for name in names:
            test_id = f"{shown}::data.{package}.{name}"
            if not self.selected(test_id):
                continue
            result = TestResult(test_id, shown, f"data.{package}.{name}", "rego", "passed", lines[name])
            started = time.perf_counter()
            if name.startswith("todo_"):
                result.status, result.message = "skipped", "todo"
            elif names[name] > 1:
                result.status = "error"
                result.message = (f"test rule '{name}' is defined {names[name]} times; its bodies would be OR-ed "
                                  "together, so give each test its own name")
            else:
                try:
                    value = json.loads(native.eval_rule_as_json(f"data.{package}.{name}"))
                except BaseException as exc:  # noqa: BLE001 - a Rust panic is no Exception
                    if isinstance(exc, KeyboardInterrupt | SystemExit):
                        raise
                    result.status, result.message = "error", message_of(exc)
                else:
                    if value is not True:
                        shown_value = "undefined" if value == "<undefined>" else json.dumps(value)
                        result.status, result.message = "failed", f"result: {shown_value} (want true)"
            result.duration = time.perf_counter() - started
            self.results.append(result)

    # -- coverage -----------------------------------------------------------------------------
    def coverage(self) -> Coverage:
        covered: dict[str, set[int]] = {}
        missed: dict[str, set[int]] = {}
        for native, wanted in self._engines:
            report = json.loads(native.get_coverage_report_as_json())
            for entry in report.get("files", []):
                if entry["path"] not in wanted:
                    continue
                covered.setdefault(entry["path"], set()).update(entry.get("covered", []))
                missed.setdefault(entry["path"], set()).update(entry.get("not_covered", []))
        files = [FileCoverage(name, sorted(covered[name]), sorted(missed[name] - covered[name])) for name in sorted(covered)]
        return Coverage(files)


def _covered_modules(policy_set) -> set[str]:
    """The modules coverage is about: the policies and their libraries (not generated helpers, not tests)."""
    names = set(policy_set.libraries)
    for policy in policy_set.policies:
        names.update(policy.modules)
    return names


def outcome(statuses) -> str:
    """One policy's result on one subject from its findings' statuses: the worst wins."""
    found = set(statuses)
    for status in ("error", "fail", "warn", "skip"):
        if status in found:
            return status
    return "pass"


def merge(base: dict, over: dict) -> dict:
    """``over`` merged into ``base``, recursively for mappings (lists and scalars replace)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


# -- rendering ------------------------------------------------------------------------------
_MARK = {"passed": ".", "failed": "F", "error": "E", "skipped": "s"}


def render_text(run: TestRun, *, verbose: bool = False) -> str:
    lines: list[str] = []
    by_file: dict[str, list[TestResult]] = {}
    for result in run.results:
        by_file.setdefault(result.file, []).append(result)
    for file, results in by_file.items():
        if verbose:
            for r in results:
                lines.append(f"{r.id} {r.status.upper()}")
        else:
            lines.append(f"{file} {''.join(_MARK[r.status] for r in results)}")
    bad = [r for r in run.results if r.status in ("failed", "error")]
    if bad:
        lines += ["", "=" * 30 + " FAILURES " + "=" * 30]
        for r in bad:
            lines.append(f"___ {r.id} ___")
            where = f"{r.file}:{r.line}: " if r.line and not r.message.startswith(r.file + ":") else ""
            label = "ERROR" if r.status == "error" else "FAILED"
            lines.append(f"{label} {where}{r.message}")
            if r.policy and r.status == "failed":
                lines.append(f"  policy: {r.policy}")
            for f in r.findings:
                lines.append(f"  finding: {f['status']:<5} {f['message']}".rstrip())
                failed = (f.get("evidence") or {}).get("failed") if isinstance(f.get("evidence"), dict) else None
                for cond in failed or []:
                    actual = json.dumps(cond.get("actual"))
                    lines.append(f"    - {cond.get('condition')}: actual {actual[:100]}")
            lines.append("")
    if run.coverage is not None:
        lines += ["", "Coverage (Rego lines of the policies under test):"]
        for f in run.coverage.files:
            missing = _ranges(f.not_covered)
            lines.append(f"  {f.percent:6.1f}%  {f.file}" + (f"  (not covered: {missing})" if missing else ""))
        total = f"  total {run.coverage.percent:.1f}%"
        if run.threshold is not None:
            total += f" (threshold {run.threshold:g}%: {'ok' if run.coverage_ok else 'BELOW'})"
        lines.append(total)
    counts = run.counts()
    parts = [f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped") if counts[k]]
    lines.append(f"{'=' * 10} {', '.join(parts) or 'no tests'} in {run.duration:.2f}s {'=' * 10}")
    return "\n".join(lines) + "\n"


def _ranges(numbers: list[int]) -> str:
    out, start, prev = [], None, None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = n
    if start is not None:
        out.append(f"{start}-{prev}" if prev != start else str(start))
    return ", ".join(out)


def render_json(run: TestRun) -> str:
    return json.dumps(run.to_dict(), indent=2, sort_keys=True) + "\n"


def render_junit(run: TestRun) -> str:
    """JUnit XML: one ``testsuite`` per test file, as CI systems expect."""
    import xml.etree.ElementTree as ET

    suites = ET.Element("testsuites", name="gavel test")
    by_file: dict[str, list[TestResult]] = {}
    for result in run.results:
        by_file.setdefault(result.file, []).append(result)
    for file, results in by_file.items():
        counts = {s: sum(1 for r in results if r.status == s) for s in ("failed", "error", "skipped")}
        suite = ET.SubElement(suites, "testsuite", name=file, tests=str(len(results)), failures=str(counts["failed"]),
                              errors=str(counts["error"]), skipped=str(counts["skipped"]))
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=file, name=r.name, file=file)
            if r.line:
                case.set("line", str(r.line))
            if r.status in ("failed", "error"):
                element = ET.SubElement(case, "failure" if r.status == "failed" else "error", message=r.message)
                element.text = "\n".join([r.message, *(f"{f['status']}: {f['message']}" for f in r.findings)])
            elif r.status == "skipped":
                ET.SubElement(case, "skipped", message=r.message)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit}
