"""Constructs whose result differs between the embedded engine (regorus) and a real OPA.

``gavel policy lint`` warns on each (code ``portability``), so a policy judges a subject the same
way on ``gavel check`` and on an OPA fleet; docs/opa.md lists the differences, measured by the
real-OPA oracle in tests/oracle. Scanned line by line, comments skipped; regex escapes are
looked for anywhere (YAML patterns are strings).
"""

from __future__ import annotations

import re

# (pattern, message); the pattern runs on one line without its comment.
CHECKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<!\\)\\[sSdDwWbB]"),
     r"regex class \s \S \d \w \b is Unicode-aware on regorus, ASCII-only on OPA: spell it out "
     "([ \\t\\n\\r\\f\\v], [0-9], [A-Za-z0-9_], (^|[^A-Za-z0-9_]))"),
    (re.compile(r"sprintf\([^)]*%[-+# 0-9.]*[gef]"),
     "sprintf %g, %e and %f print numbers differently on regorus and OPA (and %v of 1e-8): "
     "format numbers with data.gavel.fmt.number / fmt.value and %s"),
    (re.compile(r"(?<![\w.])(?:upper|lower)\s*\("),
     "upper()/lower() differ on special letters (ß, İ): compare with a (?i) regex instead"),
    (re.compile(r"time\.parse_rfc3339_ns\s*\((?!\s*input\.now\s*\))"),  # Gavel writes input.now itself
     "time.parse_rfc3339_ns accepts a space for T on regorus only: check the format with a regex first"),
    (re.compile(r"[=!]=\s*-?[0-9]+\.[0-9]+(?![0-9])|-?[0-9]+\.[0-9]+\s*[=!]="),
     "float equality: regorus computes in doubles (0.1 + 0.2 != 0.3), OPA in exact decimals: compare within a tolerance"),
]


def divergences(text: str, *, rego: bool) -> list[tuple[int, str]]:
    """``(line, message)`` for each divergent construct in a policy file's text."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0] if rego else re.sub(r"^\s*#.*$", "", line)
        for pattern, message in CHECKS:
            if pattern.search(code) and not (not rego and "sprintf" in message):
                out.append((number, message))
    return out


def problems(shown: str, text: str, *, rego: bool) -> list:
    """The divergences as ``policy lint`` warnings."""
    from engine.policy.lint import Problem

    return [Problem(shown, line, "warning", "portability", message) for line, message in divergences(text, rego=rego)]
