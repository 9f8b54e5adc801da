"""Make untrusted text (card fields, messages built from them, file names) inert in an output.

Evidence is written by many hands, and a report is read by terminals, CI runners and code
hosts that act on what they read: an ANSI or OSC escape rewrites a terminal, a line starting
``::`` is a GitHub Actions workflow command (``::stop-commands::`` silences Gavel's own
annotations), and Markdown in a PR comment loads images, adds links and notifies ``@team``.
Each renderer passes every untrusted string through the function for its context.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode characters that reorder or split lines where a reader
# does not expect it (bidi overrides and isolates, LINE/PARAGRAPH SEPARATOR, BOM).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _visible(match: re.Match) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(text, *, newlines: bool = False) -> str:
    """Plain text with every control character shown as an escape (``\\n``, ``\\e``, ``\\x07``);
    ``newlines=True`` keeps line feeds, for a format that encodes them itself (GitHub commands)."""
    if newlines:
        return "\n".join(_CONTROL.sub(_visible, part) for part in str(text).split("\n"))
    return _CONTROL.sub(_visible, str(text))


def command_safe(line: str) -> str:
    """A line no CI runner takes for a command: GitHub Actions (``::cmd::``, after leading blanks)
    and Azure Pipelines (``##vso[``) commands get a leading backslash."""
    stripped = line.lstrip()
    if stripped.startswith(("::", "##vso[", "##[")):
        return line[: len(line) - len(stripped)] + "\\" + stripped
    return line


# What GitHub and GitLab turn into actions or fetches in rendered Markdown: mentions (@user,
# @org/team), issue references (#12), and bare URLs (autolinks). A zero-width space after the
# trigger keeps the text readable and inert (the approach Renovate takes).
_MENTION = re.compile(r"(?<![\w`])([@#!])(?=[\w-])")
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|data)(:)|\b(www)(\.)")
_ZWSP = "\u200b"
# Markdown punctuation that opens links, images, emphasis, code and tables mid-line; backslash-
# escaped (CommonMark allows escaping any ASCII punctuation) so ``![x](https://...)`` renders as
# text (with ``[`` and ``]`` escaped, ``!`` and ``(`` open nothing). Line-start syntax (#, -, >)
# cannot occur: the text is one line, placed after our own prefix.
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def _inert_triggers(text: str) -> str:
    text = _AUTOLINK.sub(lambda m: (m.group(1) or m.group(3)) + _ZWSP + (m.group(2) or m.group(4)), text)
    return _MENTION.sub(lambda m: m.group(1) + _ZWSP, text)


def html_text(text) -> str:
    """Untrusted text inside an HTML element of a Markdown comment (``<summary>``, ``<b>``)."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return _inert_triggers(text)


def markdown_text(text) -> str:
    """Untrusted text in Markdown (a table cell, a list item): one line, no HTML, no link, image,
    emphasis, mention, issue reference or autolink; pipes escaped so a table keeps its columns."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    return _inert_triggers(text)


def code_span(text) -> str:
    """Untrusted text as inline code: nothing in it is interpreted (no mention, link or HTML);
    a backtick cannot close the span early, and a pipe cannot split a table row."""
    body = printable(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"
