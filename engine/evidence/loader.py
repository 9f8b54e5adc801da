"""Safe reading of untrusted YAML and JSON files, with line numbers for error messages.

Evidence is untrusted: a 1 KB YAML alias bomb loads in a millisecond but expands to gigabytes
of JSON on its way to the Rego engine. Files are refused when they use aliases, nest too deep
or are too large. Line numbers are only computed when an error needs one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import EvidenceError

try:  # libyaml is several times faster; fall back to the pure-Python loader.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _SafeLoader


MERGE_TAG = "tag:yaml.org,2002:merge"


class Refused(yaml.constructor.ConstructorError):
    """A value YAML allows but Gavel refuses (a duplicate key, a non-string key, ``.nan``, ...)."""


class _Loader(_SafeLoader):
    """Safe loader for data that must become JSON (the Rego input), refusing what JSON cannot hold.

    Dates stay ISO strings (JSON and Rego have no date type). Refused, each with its line:
    duplicate keys (the second value would silently replace the first: a second ``dpia:`` block
    must not flip a verdict), keys that are not strings (``on:`` is the boolean true in YAML 1.1),
    ``.nan`` / ``.inf``, numbers too large for a float, and the ``!!binary`` / ``!!set`` types.
    """

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        explicit = sum(1 for key_node, _ in node.value if key_node.tag != MERGE_TAG)
        self.flatten_mapping(node)  # merged pairs first, then the explicit ones, which win
        first_explicit = len(node.value) - explicit
        mapping: dict = {}
        lines: dict[str, int] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise Refused(None, None, _key_problem(key, key_node), key_node.start_mark)
            if index >= first_explicit:
                line = key_node.start_mark.line + 1
                if key in lines:
                    raise Refused(None, None, duplicate_message(key, lines[key], line), key_node.start_mark)
                lines[key] = line
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise Refused(None, None, f"{node.value!r} is not a finite number (JSON has no NaN or infinity)",
                          node.start_mark)
        return value

    def construct_yaml_int(self, node):
        try:
            value = super().construct_yaml_int(node)
            float(value)
        except (ValueError, OverflowError):
            raise Refused(None, None, f"number {_clip(node.value)} is too large", node.start_mark) from None
        return value

    def construct_timestamp_as_text(self, node):
        return self.construct_scalar(node)

    def refuse_type(self, node):
        raise Refused(None, None, f"YAML type {node.tag.replace('tag:yaml.org,2002:', '!!')} is not supported "
                      "(Gavel's files hold JSON data: strings, numbers, booleans, lists and mappings)",
                      node.start_mark)


_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_timestamp_as_text)
for _tag in ("binary", "set"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.refuse_type)


def _key_problem(key: Any, node) -> str:
    if isinstance(key, bool):
        return (f"key {node.value} is read as the boolean {str(key).lower()} (YAML 1.1 reads yes/no/on/off as "
                f"booleans): quote it, \"{node.value}\"")
    if key is None:
        return f"key {node.value or '(empty)'} is null: keys must be strings"
    if isinstance(key, int | float):
        return f"key {node.value} is a number: quote it, \"{node.value}\" (keys must be strings)"
    return "a key must be a string, not a list or a mapping"


def duplicate_message(key: str, first: int | None, again: int | None) -> str:
    where = f" (first on line {first}, again on line {again})" if first and again else ""
    return f"duplicate key '{_clip(key)}'{where}: the second value would silently replace the first"


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _JSONRefused(ValueError):
    """Raised from inside ``json.loads`` hooks; the caller turns it into an ``EvidenceError``."""

    def __init__(self, message: str, key: str | None = None, number: str | None = None):
        super().__init__(message)
        self.key = key
        self.number = number


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _JSONRefused(duplicate_message(duplicate, None, None), key=duplicate)
    return out


def _refuse_constant(name: str):
    raise _JSONRefused(f"{name} is not a finite number (JSON has no NaN or infinity)")


_TOO_LARGE = "a number too large for a float (it would read as infinity)"


def _finite_float(text: str) -> float:
    # Checked as it is decoded: a regular expression over the text cannot tell a large exponent
    # from a long mantissa (1 followed by 300 zeros, then e10) or from a string such as "#8e0152".
    value = float(text)
    if value in (math.inf, -math.inf):
        raise _JSONRefused(_TOO_LARGE, number=text)
    return value


def _float_sized_int(text: str) -> int:
    value = int(text)  # more than 4,300 digits: ValueError, reported by _parse_json
    if len(text) > 308:  # shorter ones always fit a float
        try:
            float(value)
        except OverflowError:
            raise _JSONRefused(f"number {_clip(text)} is too large", number=text) from None
    return value


#: The one JSON decoder for untrusted files: duplicate keys, NaN/Infinity and numbers that
#: overflow a float refused.
json_decoder = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_refuse_constant,
                                parse_float=_finite_float, parse_int=_float_sized_int)

# Text that may decode to a value JSON data must not hold, which the decoder's hooks do not see:
# an escaped UTF-16 surrogate (half of a pair, or alone). Only when this matches is every decoded
# value walked in Python.
_SUSPECT_JSON = re.compile(r"\\[uU][dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    allow_aliases: bool = False


DEFAULT_LIMITS = Limits()


@dataclass
class Document:
    """A parsed file: its data, its text, and a lazy map from field paths to lines."""

    path: str  # as shown to users (relative to the project root)
    text: str
    data: Any
    _nodes: Any = field(default=None, repr=False)

    def key_line(self, key: str) -> int | None:
        """Line of a top-level ``key`` by a cheap text scan (no re-parse); None if not found."""
        match = re.search(rf'^(?:{re.escape(key)}|\s*"{re.escape(key)}")\s*:', self.text, re.MULTILINE)
        return self.text.count("\n", 0, match.start()) + 1 if match else None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The 1-based line of the field at ``loc`` (or of its nearest existing parent)."""
        if self._nodes is None:
            try:
                # libyaml's composer: no Python recursion, so deep nesting cannot overflow the stack
                self._nodes = yaml.compose(self.text, Loader=_SafeLoader) or False
            except (yaml.YAMLError, RecursionError):
                self._nodes = False
        node = self._nodes
        if not node:
            return None
        line = node.start_mark.line + 1
        for key in loc:
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(key):
                        child = k if v is None else v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                child = node.value[key]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line


def read_text(path: str | Path, display: str, limits: Limits = DEFAULT_LIMITS) -> str:
    """The text of a regular file, refused when it is not one (FIFO, directory, dangling symlink), too
    large, or not UTF-8 (a byte-order mark is dropped)."""
    from engine.fsutil import read_regular

    try:
        raw = read_regular(path, limits.max_bytes)
    except OSError as exc:
        raise EvidenceError(_os_message(exc), file=display) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise EvidenceError(f"not UTF-8 text (byte {exc.start})", file=display, line=line) from exc


def _os_message(exc: OSError) -> str:
    from engine.fsutil import FileKindError

    if isinstance(exc, FileKindError):
        return exc.strerror
    return f"cannot read file: {exc.strerror or exc}"


def parse(text: str, display: str, *, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse YAML or JSON text (by ``fmt`` or the file suffix) under ``limits``.

    Whatever the format, the data is JSON data (it becomes a Rego input): a duplicate key, a
    non-string key, NaN or infinity, a number too large for a float, a lone UTF-16 surrogate or
    nesting past ``limits.max_depth`` is an ``EvidenceError`` naming the file and line.
    """
    fmt = fmt or ("json" if display.endswith(".json") else "yaml")
    data = _parse_json(text, display, limits) if fmt == "json" else _parse_yaml(text, display, limits)
    doc = Document(display, text, data)
    _check_values(doc, limits.max_depth, suspect=fmt == "json" and _SUSPECT_JSON.search(text) is not None)
    return doc


def load_json(text: str, display: str, *, limits: Limits = DEFAULT_LIMITS, line: int = 1) -> Any:
    """The data of one JSON text (e.g. one line of a JSON Lines file starting on ``line``), checked
    like :func:`parse`; errors carry lines counted from ``line``."""
    try:
        return parse(text, display, fmt="json", limits=limits).data
    except EvidenceError as exc:
        raise EvidenceError(exc.message, file=display, line=(exc.line or 1) + line - 1) from None


def _parse_json(text: str, display: str, limits: Limits) -> Any:
    try:
        return json_decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise EvidenceError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=display, line=exc.lineno) from exc
    except _JSONRefused as exc:
        if exc.number is not None:
            raise EvidenceError(str(exc), file=display, line=_number_line(text, exc.number)) from None
        first, again = _duplicate_lines(text, exc.key) if exc.key is not None else (None, None)
        if exc.key is None:  # NaN or Infinity
            raise EvidenceError(str(exc), file=display, line=_first_line(text, _JSON_CONSTANT)) from None
        raise EvidenceError(duplicate_message(exc.key, first, again), file=display, line=again) from None
    except RecursionError:
        raise EvidenceError(f"nesting deeper than {limits.max_depth} levels", file=display,
                            line=_json_depth_line(text, limits.max_depth)) from None
    except ValueError as exc:  # int() refusing a number of more than 4300 digits
        match = re.search(r"\d{4300,}", text)
        line = text.count("\n", 0, match.start()) + 1 if match else None
        raise EvidenceError(f"number {_clip(match.group()) if match else ''} is too large ({exc})".replace("  ", " "),
                            file=display, line=line) from None


def _parse_yaml(text: str, display: str, limits: Limits) -> Any:
    if not limits.allow_aliases and "*" in text:
        _refuse_aliases(text, display)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a *safe* loader
    except Refused as exc:
        raise EvidenceError(exc.problem, file=display, line=exc.problem_mark.line + 1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise EvidenceError(f"invalid YAML: {exc.problem or exc.context}", file=display, line=line) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, most control characters)
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        char = ord(exc.character) if isinstance(exc.character, str) else exc.character
        code = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        raise EvidenceError(f"invalid YAML: unacceptable character {code}: {exc.reason}", file=display,
                            line=line) from None
    except yaml.YAMLError as exc:
        raise EvidenceError(f"invalid YAML: {' '.join(str(exc).split())}", file=display) from exc
    except RecursionError as exc:
        raise EvidenceError(f"nesting deeper than {limits.max_depth} levels", file=display) from exc


def _duplicate_lines(text: str, key: str) -> tuple[int | None, int | None]:
    """Lines of the first repeated ``key`` in one JSON object (JSON is YAML: libyaml composes it)."""
    try:
        root = yaml.compose(text, Loader=_SafeLoader)
    except (yaml.YAMLError, RecursionError):
        root = None
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.value == key:
                    if key in seen:
                        return seen[key], key_node.start_mark.line + 1
                    seen[key] = key_node.start_mark.line + 1
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    found = [m.start() for m in re.finditer(rf'"{re.escape(key)}"\s*:', text)][:2]
    lines = [text.count("\n", 0, at) + 1 for at in found]
    return (lines[0], lines[1]) if len(lines) == 2 else (None, None)


_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_JSON_CONSTANT = re.compile(_JSON_STRING + "|(NaN|-?Infinity)")


def _first_line(text: str, pattern: re.Pattern) -> int | None:
    """The line of the first match of ``pattern`` whose group 1 matched (strings are group 0 only)."""
    for match in pattern.finditer(text):
        if match.group(1):
            return text.count("\n", 0, match.start(1)) + 1
    return None


def _number_line(text: str, number: str) -> int | None:
    """The line of the first occurrence of the number token ``number`` outside a string."""
    pattern = re.compile(_JSON_STRING + f"|(?<![\\w.+-])({re.escape(number)})(?![\\w.])")
    return _first_line(text, pattern)


def _surrogate_line(text: str) -> int | None:
    """The line of the first JSON string that decodes to a lone surrogate."""
    for match in re.finditer(_JSON_STRING, text):
        if "\\" in match.group() and _SURROGATE.search(json.loads(match.group())):
            return text.count("\n", 0, match.start()) + 1
    return None


def _json_depth_line(text: str, max_depth: int) -> int | None:
    """The line where JSON ``text`` first nests deeper than ``max_depth`` (strings skipped)."""
    depth = 0
    for match in re.finditer(_JSON_STRING + r"|[\[\]{}]", text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return text.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth -= 1
    return None


def read_document(path: Path, display: str, *, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Document:
    return parse(read_text(path, display, limits), display, fmt=fmt, limits=limits)


def _refuse_aliases(text: str, display: str) -> None:
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                raise EvidenceError(
                    f"YAML alias '*{event.anchor}' refused: aliases can expand a small file into gigabytes",
                    file=display,
                    line=line,
                )
    except yaml.YAMLError:
        return  # the real parse reports the syntax error with its line


def _within_depth(data: Any, max_depth: int) -> bool:
    """Whether ``data`` nests at most ``max_depth`` containers deep (level by level: no locations,
    several times faster than the walk that finds where it is too deep)."""
    level, depth = [data], 1
    while level:
        if depth > max_depth:
            return False
        below: list = []
        for value in level:
            children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
            below += [child for child in children if isinstance(child, dict | list)]
        level, depth = below, depth + 1
    return True


def _check_values(doc: Document, max_depth: int, *, suspect: bool) -> None:
    """Refuse nesting past ``max_depth``; when ``suspect`` (JSON text that may hold them), also
    lone surrogates, which the JSON parser lets through, and numbers too large for a float."""
    if not suspect and _within_depth(doc.data, max_depth):
        return
    stack: list[tuple[Any, int, tuple]] = [(doc.data, 1, ())]
    while stack:
        value, depth, loc = stack.pop()
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            if suspect:
                _check_scalar(doc, value, loc)
            continue
        if depth > max_depth:
            raise EvidenceError(f"nesting deeper than {max_depth} levels", file=doc.path, line=doc.line_of(loc))
        for k, v in items:
            if isinstance(v, dict | list):
                stack.append((v, depth + 1, loc + (k,)))
            elif suspect:
                if isinstance(k, str):
                    _check_scalar(doc, k, loc + (k,))
                _check_scalar(doc, v, loc + (k,))


def _check_scalar(doc: Document, value: Any, loc: tuple) -> None:
    problem = None
    if isinstance(value, float) and not math.isfinite(value):
        problem = _TOO_LARGE
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            problem = f"number {_clip(str(value))} is too large"
    elif isinstance(value, str) and _SURROGATE.search(value):
        problem = "a lone UTF-16 surrogate (\\ud800-\\udfff) is not text"
    if problem:
        line = doc.line_of(loc)
        if line is None and isinstance(value, str):  # libyaml refuses the escape too: find it in the text
            line = _surrogate_line(doc.text)
        raise EvidenceError(problem, file=doc.path, line=line)
