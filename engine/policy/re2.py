"""Regular expressions that mean the same on regorus and on OPA.

OPA uses Go's RE2, whose ``\\d \\w \\s \\b`` are ASCII-only; regorus uses Rust's ``regex``, where
they are Unicode-aware: a no-break space is ``\\s`` on regorus only, ``é`` is ``\\w`` there only.
``ascii`` spells each such class out in ASCII, so a compiled YAML policy gives one verdict on
both engines. ``\\b`` next to a literal word character becomes a start/end-or-non-word-character
test (the same truth value for a match; RE2 has no lookaround); elsewhere it is left as is
(``gavel policy lint`` reports such divergences).
"""

from __future__ import annotations

WORD = "0-9A-Za-z_"
SPACE = "\\t\\n\\f\\r "
OUTSIDE = {"d": "[0-9]", "D": "[^0-9]", "w": f"[{WORD}]", "W": f"[^{WORD}]", "s": f"[{SPACE}]", "S": f"[^{SPACE}]"}
INSIDE = {"d": "0-9", "w": WORD, "s": SPACE}  # \D \W \S inside [...] cannot be spelled out: kept
NOT_WORD = f"[^{WORD}]"


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def ascii(pattern: str) -> str:
    """``pattern`` with Perl classes and word boundaries spelled out in ASCII (RE2 semantics)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if in_class and nxt in INSIDE:
                out.append(INSIDE[nxt])
            elif not in_class and nxt in OUTSIDE:
                out.append(OUTSIDE[nxt])
            elif not in_class and nxt == "b" and i + 2 < n and _is_word(pattern[i + 2]) and not _prev_is_word(out):
                out.append(f"(?:^|{NOT_WORD})")
            elif not in_class and nxt == "b" and _prev_is_word(out) and not (i + 2 < n and _is_word(pattern[i + 2])):
                out.append(f"(?:{NOT_WORD}|$)")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]" and not _class_just_opened(out):
                in_class = False
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a literal ] right after [ or [^
                out.append("]")
                i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _prev_is_word(out: list[str]) -> bool:
    """The pattern so far ends with a literal word character (not an escape or a class)."""
    if not out or len(out[-1]) != 1 or not _is_word(out[-1]):
        return False
    return not (len(out) >= 2 and out[-2].endswith("\\"))


def _class_just_opened(out: list[str]) -> bool:
    return bool(out) and out[-1] in ("[", "^") and (out[-1] == "[" or (len(out) >= 2 and out[-2] == "["))
