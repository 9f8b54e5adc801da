"""Column-level lineage from SQL files, through sqlglot.

Each file is split into statements on the tokenizer's semicolons, so one statement that does not
parse is reported (with its line) and the others still count. Each statement's query is qualified
against the schema known so far (config, dataset cards, earlier ``CREATE`` statements) and its
qualified scopes are walked here, once, for every output column: the same edges as
``sqlglot.lineage.lineage(None, ...)`` gives (tests/lineage/test_sql_equivalence.py proves it), at a
fraction of the cost, since no node trees or copies are built.

The result of a file is plain JSON (:class:`FileResult`), so it can be cached by content hash.
"""

from __future__ import annotations

import hashlib
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope, find_all_in_scope
from sqlglot.schema import MappingSchema
from sqlglot.tokens import TokenType

# Transformation kinds, weakest protection first. Along a path the strongest wins (a hash anywhere
# masks the value); across alternative paths the weakest wins (one plain copy is enough to leak).
DIRECT, EXPRESSION, AGGREGATE, MASKED = 0, 1, 2, 3
KINDS = ("direct", "expression", "aggregate", "masked")
FILTER, JOIN = "filter", "join"

DEFAULT_MASKING = frozenset(
    {
        "md5", "md5_hex", "md5_binary", "md5_number_lower64", "md5_number_upper64", "sha", "sha1",
        "sha1_hex", "sha1_binary", "sha2", "sha2_hex", "sha2_binary", "sha256", "sha512", "hash",
        "hash_md5", "hash_sha256", "farm_fingerprint", "hmac", "mask", "mask_hash", "mask_first_n",
        "mask_last_n", "mask_show_first_n", "mask_show_last_n", "redact", "tokenize", "anonymize",
        "pseudonymize", "encrypt", "aes_encrypt", "s_h_a2_digest", "m_d5_digest", "s_h_a1_digest",
        "standard_hash",
    }
)

#: Bump when the shape or meaning of a cached FileResult changes.
ANALYSIS_VERSION = "3"  # 3: deps hold how names resolved, and every table whose columns were read


@dataclass
class FileResult:
    """What one SQL file contributes. Plain data, cached as JSON by content hash.

    ``edges``: ``[level, src_table, src_column, dst_table, dst_column, kind, line]`` where level
    is ``c`` (column to column), ``i`` (column to table: a filter or join key), ``t`` (table to
    table; ``kind`` is ``columns`` when column edges describe it, ``opaque`` when they do not),
    ``n`` (a table node) or ``r`` (``src_table`` was renamed to ``dst_table``: its node and edges move).
    ``tables``: schema contributions ``[name, [columns], temporary]`` in statement order.
    ``deps``: the schema this result was computed against, ``{table: fingerprint}``.

    Every statement is counted once in ``counts``: ``analysed`` (turned into edges or schema),
    ``classified`` (no lineage by nature, by statement kind in ``classified``: DROP, GRANT, a plain
    SELECT, ...) or ``reported`` (a syntax error in ``problems``, or a statement whose lineage Gavel
    cannot tell in ``unresolved`` with ``kind`` and the ``tables`` it names).
    """

    statements: int = 0
    edges: list[list] = field(default_factory=list)
    tables: list[list] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)  # {"line", "message"}: error findings
    unresolved: list[dict] = field(default_factory=list)  # {"line", "message"[, "kind", "tables"]}
    deps: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"analysed": 0, "classified": 0, "reported": 0})
    classified: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "statements": self.statements,
            "edges": self.edges,
            "tables": self.tables,
            "problems": self.problems,
            "unresolved": self.unresolved,
            "deps": self.deps,
            "counts": self.counts,
            "classified": self.classified,
        }

    @classmethod
    def from_json(cls, data: dict) -> FileResult:
        return cls(**data)


def fingerprint(columns: list[str] | None) -> str:
    if columns is None:
        return "-"
    return hashlib.blake2b(",".join(columns).encode(), digest_size=8).hexdigest()


def analysis_dialect(dialect):
    """The dialect qualification runs under: the user's, but case-insensitive.

    Node ids are lowercase whatever the dialect, so identifier case carries no information here;
    and sqlglot's case checks run in pure Python for every identifier, a tenth of the time.
    """
    base = sqlglot.Dialect.get_or_raise(dialect)
    return type(base)(normalization_strategy="case_insensitive")


class _Schema(MappingSchema):
    """A MappingSchema that remembers column lists per table (sqlglot normalises and copies the
    table expression on every lookup)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._names: dict[tuple, list[str]] = {}
        self._keys: dict[str, set[tuple]] = {}

    def add_table(self, table, *args, **kwargs):
        name = table.name if isinstance(table, exp.Table) else str(table).rsplit(".", 1)[-1]
        for key in self._keys.pop(name.lower(), ()):
            self._names.pop(key, None)
        # sqlglot's own lookup cache is keyed by the table expression as written (alias included),
        # and add_table only evicts the alias-free key: a table whose columns change would keep
        # its old columns under ``t AS s``. Evict everything (a re-find is cheap).
        self._find_cache.clear()
        return super().add_table(table, *args, **kwargs)

    def column_names(self, table, only_visible=False, dialect=None, normalize=None):
        if not isinstance(table, exp.Table) or dialect is not None or normalize is not None:
            return super().column_names(table, only_visible, dialect, normalize)
        name = table.name.lower()
        key = (name, table.text("db").lower(), table.text("catalog").lower(), only_visible)
        found = self._names.get(key)
        if found is None:
            found = super().column_names(table, only_visible)
            self._names[key] = found
            self._keys.setdefault(name, set()).add(key)
        return list(found)


class Catalog:
    """Known tables and their columns (lowercase), and the sqlglot schema built from them."""

    def __init__(self, dialect: str | None):
        self.dialect = analysis_dialect(dialect)
        self.tables: dict[str, list[str]] = {}
        self.types: dict[str, dict[str, str]] = {}
        self.fps: dict[str, str] = {}
        self._schema: _Schema | None = None  # built on first use: a warm run never needs it
        self._suffix: dict[str, set[str]] = {}
        self._depth = 1
        # tables added since the schema was built, by their last name part: they join sqlglot's schema
        # only when a query names them (each addition rebuilds sqlglot's lookup trie and drops its caches)
        self._pending: dict[str, set[str]] = {}
        self.skipped: list[str] = []  # names sqlglot's schema refused (none known: a safety net)

    @property
    def schema(self) -> _Schema:
        if self._schema is None:
            # sqlglot's schema wants one nesting depth for every table: a shorter name (``customers``
            # beside ``raw.orders``) is padded with a placeholder qualifier, which sqlglot's lookup by
            # suffix still finds; a deeper table added later rebuilds the schema at the new depth
            self._depth = max((_depth(name) for name in self.tables), default=1)
            self._pending = {}
            mapping: dict = {}
            for name, columns in self.tables.items():
                parts = self._padded(name)
                node = mapping
                for part in parts[:-1]:
                    node = node.setdefault(part, {})
                types = self.types.get(name) or {}
                node[parts[-1]] = {c: types.get(c) or "unknown" for c in columns}
            try:
                self._schema = _Schema(mapping, dialect=self.dialect)
            except SqlglotError:  # a name sqlglot refuses: add one by one, keep the rest
                self._schema = _Schema(dialect=self.dialect)
                for name, columns in self.tables.items():
                    self._add_to_schema(name, columns, self.types.get(name))
        return self._schema

    def _padded(self, name: str) -> list[str]:
        parts = name.split(".")
        if len(parts) > 3:  # dots inside a catalog name
            parts = [".".join(parts[:-2]), *parts[-2:]]
        return [*[_PAD] * (self._depth - len(parts)), *parts]

    def _add_to_schema(self, name: str, columns: list[str], types: dict | None) -> None:
        mapping = {c: (types or {}).get(c) or "unknown" for c in columns}
        try:
            self._schema.add_table(_table_expr(".".join(self._padded(name))), mapping, dialect=self.dialect,
                                   match_depth=True)
        except SqlglotError:
            self.skipped.append(name)

    def ready(self, names: set[str]) -> None:
        """Put the pending tables whose last name part is in ``names`` (a query's tables) into the schema."""
        if not self._pending or self._schema is None:
            return
        for part in names:
            for name in sorted(self._pending.pop(part, ())):
                if _depth(name) > self._depth:
                    self._schema = None  # rebuilt at the new depth on next use, with every table
                    return
                self._add_to_schema(name, self.tables[name], self.types.get(name))

    def add(self, name: str, columns: list[str], types: dict[str, str] | None = None) -> None:
        name = name.lower()
        cols = list(dict.fromkeys(c.lower() for c in columns))
        if not cols:
            return
        self.tables[name] = cols
        self.fps[name] = fingerprint(cols)
        parts = name.split(".")
        for i in range(1, len(parts)):
            self._suffix.setdefault(".".join(parts[i:]), set()).add(name)
        if types:
            self.types[name] = types
        if self._schema is not None:
            self._pending.setdefault(parts[-1], set()).add(name)

    def columns(self, name: str) -> list[str] | None:
        return self.tables.get(name)

    def resolve(self, name: str) -> str:
        """A unique fully qualified name for an unqualified one (``customers`` -> ``raw.customers``),
        and the known name for one qualified further (``db.raw.customers`` -> ``raw.customers``)."""
        if name in self.tables:
            return name
        full = self._suffix.get(name)
        if full and len(full) == 1:
            return next(iter(full))
        parts = name.split(".")
        for i in range(1, len(parts) - 1):
            shorter = ".".join(parts[i:])
            if shorter in self.tables:
                return shorter
        return name

    def suffixed(self, name: str) -> list[str]:
        """The known tables whose names end with ``.name`` (what :meth:`resolve` chooses from)."""
        return sorted(self._suffix.get(name, ()))

    def fingerprint(self, name: str) -> str:
        """What a result that read ``name`` depends on: its columns; for :data:`RESOLVES` keys (how
        an unknown name resolved), the tables it could be short for."""
        if name.startswith(RESOLVES):
            return ",".join(self.suffixed(name[len(RESOLVES):]))
        return self.fps.get(name, "-")


_PAD = "_gavel_any"
#: ``deps`` keys for how a name no table has resolved (``Analyzer._resolved_name``); no table name
#: holds a NUL character.
RESOLVES = "\0resolves:"


def _depth(name: str) -> int:
    return min(name.count(".") + 1, 3)


def _table_expr(name: str) -> exp.Table:
    parts = name.split(".")
    return exp.Table(
        this=exp.to_identifier(parts[-1]),
        db=exp.to_identifier(parts[-2]) if len(parts) > 1 else None,
        catalog=exp.to_identifier(".".join(parts[:-2])) if len(parts) > 2 else None,
    )


def table_name(table: exp.Table) -> str:
    return ".".join(p.name for p in table.parts).lower()


# ---------------------------------------------------------------------------------------------
# Statement splitting
# ---------------------------------------------------------------------------------------------


@dataclass
class Statement:
    line: int
    expression: exp.Expr | None
    error: str | None = None
    #: set for the header of a procedural block (``CREATE PROCEDURE p AS`` before ``BEGIN``): the
    #: statements of the block are statements of their own, the header has no lineage by nature
    header: str | None = None
    start: int = 0  # character offset of the statement in the text
    words: tuple[str, ...] = ()  # its first two tokens, upper case (for procedural statements)
    end: int = 0  # character offset of its last character


# Words after BEGIN that make it a transaction, not a block; words after END that end a block too.
_TRANSACTION_WORDS = frozenset({"TRANSACTION", "TRAN", "WORK", "DISTRIBUTED", "ISOLATION", "DEFERRED",
                                "IMMEDIATE", "EXCLUSIVE"})
_MARKS = frozenset({TokenType.SEMICOLON, TokenType.CASE, TokenType.END, TokenType.BEGIN, TokenType.COMMAND,
                    TokenType.THEN, TokenType.ELSE})
_COMMAND_WORDS = frozenset({TokenType.END, TokenType.BEGIN, TokenType.COMMAND})
_BLOCK_WORDS = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR", "TRY", "CATCH", "CASE"})
_BLOCK_OPENERS = frozenset({"AS", "IS", "THEN", "ELSE", "DO", "LOOP"})  # the words a block follows


def _chunks(tokens: list) -> list[tuple[int, int, bool]]:
    """``(start, end, header)`` token ranges of the statements: split on ``;`` and around the
    ``BEGIN ... END`` blocks of procedures and scripts, whose statements are statements too.

    ``CASE ... END`` is an expression, and ``BEGIN;`` / ``BEGIN TRANSACTION`` start a transaction.
    """
    out: list[tuple[int, int, bool]] = []
    semicolon, case, end, begin = TokenType.SEMICOLON, TokenType.CASE, TokenType.END, TokenType.BEGIN
    command, then, else_ = TokenType.COMMAND, TokenType.THEN, TokenType.ELSE
    n = len(tokens)
    start, cases, skip_to = 0, 0, 0
    # only these tokens can end a statement: the others are passed over in one comprehension
    for i in [i for i, t in enumerate(tokens) if t.token_type in _MARKS]:
        if i < skip_to:
            continue
        kind = tokens[i].token_type
        if kind is semicolon:
            out.append((start, i, False))
            start = i + 1
        elif kind is case:
            cases += 1
        elif kind is then and not cases and tokens[start].text.upper() in ("IF", "ELSIF", "ELSEIF"):
            out.append((start, i + 1, True))  # IF <condition> THEN (procedural): the header of a block
            start = i + 1
        elif kind is else_ and not cases and i == start:
            out.append((start, i + 1, True))
            start = i + 1
        elif kind is end and cases:
            cases -= 1
        elif kind is end:
            out.append((start, i, False))
            j = i + 1
            if j < n and tokens[j].text.upper() in _BLOCK_WORDS and tokens[j].line == tokens[i].line:
                j += 1  # END IF, END LOOP, END TRY (an IF on the next line starts a statement)
            if j < n and tokens[j].token_type is semicolon:
                j += 1
            if j < n and tokens[j].token_type is else_:  # END ELSE [BEGIN]: the other branch
                out.append((j, j + 1, True))
                j += 1
            start = skip_to = j
        elif (kind is begin or kind is command and tokens[i].text.upper() == "BEGIN") and _opens_block(tokens, start, i):
            out.append((start, i, True))
            j = i + 1
            if j < n and tokens[j].text.upper() in ("TRY", "CATCH"):  # BEGIN TRY (T-SQL)
                j += 1
            start = skip_to = j
    out.append((start, n, False))
    return [piece for s, e, h in out if e > s for piece in _split_condition(tokens, s, e, h)]


_STATEMENT_STARTS = frozenset({TokenType.INSERT, TokenType.UPDATE, TokenType.DELETE, TokenType.MERGE,
                               TokenType.TRUNCATE, TokenType.SELECT, TokenType.WITH, TokenType.CREATE,
                               TokenType.DROP, TokenType.EXECUTE})


def _split_condition(tokens: list, start: int, end: int, header: bool) -> list[tuple[int, int, bool]]:
    """``IF <condition> <statement>`` without BEGIN (T-SQL): the condition is a header, the statement
    a statement of its own. The first statement word outside parentheses ends the condition."""
    if header or tokens[start].text.upper() not in ("IF", "WHILE", "ELSE"):
        return [(start, end, header)]
    depth = 0
    for i in range(start + 1, end):
        kind = tokens[i].token_type
        if kind is TokenType.L_PAREN:
            depth += 1
        elif kind is TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and kind in _STATEMENT_STARTS:
            return [(start, i, True), *_split_condition(tokens, i, end, False)]
    return [(start, end, header)]


def _opens_block(tokens: list, start: int, i: int) -> bool:
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    if following is None or following.token_type is TokenType.SEMICOLON:
        return False
    if following.text.upper() in _TRANSACTION_WORDS:
        return False
    if i == start or tokens[start].text.upper() in ("IF", "WHILE", "ELSE", "ELSEIF", "ELSIF"):
        return True  # IF <condition> BEGIN (T-SQL): the condition is the block's header
    previous = tokens[i - 1]
    if previous.token_type is TokenType.R_PAREN:  # CREATE PROCEDURE ds.p() BEGIN (BigQuery)
        return tokens[start].token_type is TokenType.CREATE
    return previous.text.upper() in _BLOCK_OPENERS


def _header_kind(tokens: list) -> str:
    words = [t.text.upper() for t in tokens[:4] if t.token_type is not TokenType.STRING]
    if words and words[0] in ("CREATE", "ALTER", "REPLACE"):
        rest = [w for w in words[1:] if w not in ("OR", "REPLACE", "ALTER")]
        return f"{words[0]} {rest[0]}" if rest else words[0]
    return words[0] if words else "BEGIN"


def _expand_commands(tokens: list, text: str, dialect, depth: int = 0) -> list:
    """Some dialects' tokenizers read what follows a command word (T-SQL's ``END`` after ``;``) as one
    raw string up to the next ``;``: ``END ELSE BEGIN INSERT ...`` hides an INSERT. Such a string is
    tokenized again, in place, so the statements in it count."""
    string, n = TokenType.STRING, len(tokens)
    # only END and BEGIN (command tokens included) can be followed by such a string: look at those
    if not any(i + 1 < n and tokens[i + 1].token_type is string and tokens[i].text.upper() in ("END", "BEGIN")
               for i in [i for i, t in enumerate(tokens) if t.token_type in _COMMAND_WORDS]):
        return tokens
    out: list = []
    position = 0
    for i, token in enumerate(tokens):
        previous = tokens[i - 1] if i else None
        if (token.token_type is TokenType.STRING and previous is not None and depth < 8
                and previous.text.upper() in ("END", "BEGIN")):
            found = text.find(token.text, position)
            if found >= 0 and text[found - 1:found] not in ("'", '"', "$"):
                try:
                    inner = dialect.tokenize(token.text)
                except TokenError:
                    inner = None
                if inner:
                    lines = text.count("\n", 0, found)
                    for t in inner:
                        t.line += lines
                        t.start += found
                        t.end += found
                    out.extend(_expand_commands(inner, text, dialect, depth + 1))
                    position = found + len(token.text)
                    continue
        out.append(token)
        position = max(position, token.end + 1)
    return out


def split(text: str, dialect) -> list[Statement]:
    """Parse ``text`` one statement at a time; a statement that does not parse carries its error."""
    try:
        tokens = _expand_commands(dialect.tokenize(text), text, dialect)
    except TokenError:
        return _split_naive(text, dialect)
    out = []
    for start, end, header in _chunks(tokens):
        chunk = tokens[start:end]
        line, offset = chunk[0].line, chunk[0].start
        if header:
            out.append(Statement(line, None, header=_header_kind(chunk), start=offset))
            continue
        words = tuple(t.text.upper() for t in chunk[:2])
        try:
            parsed = dialect.parser(error_level=ErrorLevel.RAISE).parse(chunk, text)
        except ParseError as exc:
            err = exc.errors[0] if exc.errors else {}
            out.append(Statement(err.get("line") or line, None, _parse_message(exc), start=offset, words=words,
                                 end=chunk[-1].end))
            continue
        except (SqlglotError, RecursionError, ValueError) as exc:
            out.append(Statement(line, None, f"cannot parse statement: {exc}", start=offset, words=words))
            continue
        for expression in parsed:
            if expression is not None:
                out.append(Statement(line, expression, start=offset, words=words))
    return out


def _split_naive(text: str, dialect) -> list[Statement]:
    """When the whole file does not tokenize (an unterminated string), split on ``;`` line ends."""
    out: list[Statement] = []
    start_line, buf = 1, []
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if not buf and not line.strip():
            start_line = number + 1
            continue
        buf.append(line)
        if line.rstrip().endswith(";") or number == len(lines):
            chunk = "\n".join(buf)
            buf = []
            try:
                tokens = dialect.tokenize(chunk)
            except TokenError as exc:
                out.append(Statement(start_line, None, f"cannot tokenize statement: {exc}"))
            else:
                for st in split_tokens(tokens, chunk, dialect):
                    st.line += start_line - 1
                    out.append(st)
            start_line = number + 1
    return out


def split_tokens(tokens, text, dialect) -> list[Statement]:
    try:
        parsed = dialect.parser(error_level=ErrorLevel.RAISE).parse(tokens, text)
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        return [Statement(err.get("line") or 1, None, _parse_message(exc))]
    except (SqlglotError, RecursionError, ValueError) as exc:
        return [Statement(1, None, f"cannot parse statement: {exc}")]
    line = tokens[0].line if tokens else 1
    return [Statement(line, e) for e in parsed if e is not None]


_TOKEN_REPR = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: \[.*?\]>")


def _parse_message(exc: ParseError) -> str:
    if exc.errors:
        err = exc.errors[0]
        desc = _TOKEN_REPR.sub(lambda m: repr(m.group(1)), err.get("description") or "syntax error")
        hint = err.get("highlight")
        where = f" near '{hint}'" if hint else ""
        return f"SQL syntax error{where}: {desc}"
    return f"SQL syntax error: {str(exc).splitlines()[0]}"


# ---------------------------------------------------------------------------------------------
# The walk of qualified scopes
# ---------------------------------------------------------------------------------------------

_TRANSPARENT = (exp.Alias, exp.Paren, exp.Cast, exp.TryCast)
_MASK_CLASSES = tuple(
    getattr(exp, n) for n in ("MD5", "MD5Digest", "SHA", "SHA2", "SHA2Digest", "SHA1Digest") if hasattr(exp, n)
)


class Walker:
    """Traces output columns of one qualified query back to table columns.

    ``trace(scope, column)`` mirrors ``sqlglot.lineage.to_node``: the same select is chosen, the
    same sources are followed (derived tables, CTEs, set operations, scalar subqueries, stars), so
    the leaves are the same; in addition each leaf carries the transformation kind.
    """

    def __init__(self, masking: frozenset[str] = DEFAULT_MASKING):
        self.masking = masking
        self.memo: dict[tuple, dict] = {}
        self.unresolved: list[str] = []
        self.stars: set[str] = set()  # tables read through an unexpanded star
        self._select_maps: dict[int, dict] = {}
        self._subquery_maps: dict[int, dict] = {}
        self._names: dict[int, str] = {}

    # -- value lineage --------------------------------------------------------------------------

    def trace(self, scope: Scope, column: str | int) -> dict[tuple[str, str], int]:
        key = (id(scope), column)
        found = self.memo.get(key)
        if found is not None:
            return found
        self.memo[key] = {}  # a recursive reference (WITH RECURSIVE) ends here
        out: dict[tuple[str, str], int] = {}
        expression = scope.expression
        if isinstance(expression, exp.Subquery):
            # a parenthesised query (CREATE VIEW v AS (SELECT ...)): sqlglot keeps the inner query
            # among the derived tables of the Subquery scope, or its subqueries
            for inner in scope.subquery_scopes or scope.derived_table_scopes:
                out = self.trace(inner, column)
                break
        elif isinstance(expression, exp.SetOperation):
            index = column if isinstance(column, int) else self._set_index(expression, column)
            if index >= 0:
                for branch in scope.set_operation_scopes:
                    _merge(out, self.trace(branch, index), DIRECT)
        elif isinstance(expression, exp.UDTF):
            # UNNEST, LATERAL VIEW explode, FLATTEN: the rows come from the columns it expands
            for inner in expression.find_all(exp.Column):
                self._trace_column(scope, inner, EXPRESSION, out)
        else:
            select = self._select(scope, column)
            if select is not None:
                self._trace_expression(scope, select, out)
        self.memo[key] = out
        return out

    def _set_index(self, expression, column: str) -> int:
        for i, select in enumerate(expression.selects):
            if select.alias_or_name == column or select.is_star:
                return i
        return -1

    def _select(self, scope: Scope, column: str | int):
        selectable = scope.expression
        if not isinstance(selectable, exp.Selectable):
            return None
        selects = selectable.selects
        if isinstance(column, int):
            return selects[column] if column < len(selects) else None
        by_name = self._select_maps.get(id(scope))
        if by_name is None:
            by_name = {}
            for select in selects:
                by_name.setdefault(select.alias_or_name, select)
            self._select_maps[id(scope)] = by_name
        select = by_name.get(column)
        if select is None:
            return exp.Star() if selectable.is_star else selectable
        return select

    def _trace_expression(self, scope: Scope, select, out: dict) -> None:
        subqueries = self._subquery_maps.get(id(scope))
        if subqueries is None:
            subqueries = {id(s.expression): s for s in scope.subquery_scopes}
            self._subquery_maps[id(scope)] = subqueries
        for subquery in find_all_in_scope(select, *exp.UNWRAPPED_QUERIES):
            sub_scope = subqueries.get(id(subquery))
            if sub_scope is None:
                continue
            kind = self.kind(subquery, select)
            for name in subquery.named_selects:
                _merge(out, self.trace(sub_scope, name), kind)
        if isinstance(select, exp.Star):
            for name, source in scope.sources.items():
                self._star_source(source, name)
        for column in find_all_in_scope(select, exp.Column):
            self._trace_column(scope, column, self.kind(column, select), out)

    def _trace_column(self, scope: Scope, column: exp.Column, kind: int, out: dict) -> None:
        table = column.table
        source = scope.sources.get(table)
        if source is None and not table:
            named = [(k, v) for k, v in scope.sources.items() if k]
            if len(named) == 1:
                table, source = named[0]
        outer = scope.parent
        while source is None and table and outer is not None:  # a correlated reference
            source = outer.sources.get(table)
            outer = outer.parent
        if isinstance(source, Scope):
            _merge(out, self.trace(source, column.name), kind)
        elif isinstance(source, exp.Table):
            name = self._names.get(id(source))
            if name is None:
                name = self._names[id(source)] = table_name(source)
            key = (name, column.name.lower())
            if key[1] == "*":
                self.stars.add(key[0])
            else:
                previous = out.get(key)
                if previous is None or kind < previous:
                    out[key] = kind
        else:
            self.unresolved.append(f"column {column.sql()} has no known source")

    def _star_source(self, source, name: str) -> None:
        if isinstance(source, exp.Table):
            self.stars.add(table_name(source))
        elif isinstance(source, Scope):
            self.stars.update(self.tables(source))
        self.unresolved.append(f"'*' over '{name}' not expanded (unknown columns)")

    def kind(self, node: exp.Expr, stop: exp.Expr) -> int:
        """How the value of ``node`` reaches the projection ``stop`` (an ancestor of ``node``)."""
        if node is stop:
            return DIRECT
        kind = DIRECT
        current = node.parent
        while current is not None:
            if isinstance(current, exp.Func):
                if isinstance(current, _MASK_CLASSES) or _func_name(current) in self.masking:
                    return MASKED
                if isinstance(current, exp.AggFunc):
                    kind = max(kind, AGGREGATE)
                elif not isinstance(current, _TRANSPARENT):
                    kind = max(kind, EXPRESSION)
            elif not isinstance(current, _TRANSPARENT):
                kind = max(kind, EXPRESSION)
            if current is stop:
                break
            current = current.parent
        return kind

    # -- tables and indirect lineage --------------------------------------------------------------

    def used_scopes(self, root: Scope) -> list[Scope]:
        """The scopes a query really reads: unused CTEs are not among them."""
        seen: dict[int, Scope] = {}
        stack = [root]
        while stack:
            scope = stack.pop()
            if id(scope) in seen:
                continue
            seen[id(scope)] = scope
            stack.extend(scope.subquery_scopes)
            stack.extend(scope.set_operation_scopes)
            stack.extend(scope.udtf_scopes)
            if isinstance(scope.expression, exp.Select):
                for _, source in scope.selected_sources.values():
                    if isinstance(source, Scope):
                        stack.append(source)
            elif isinstance(scope.expression, exp.Subquery):
                stack.extend(scope.derived_table_scopes)
        return list(seen.values())

    def tables(self, root: Scope) -> set[str]:
        out: set[str] = set()
        for scope in self.used_scopes(root):
            if isinstance(scope.expression, exp.Select):
                # every table the scope references, the right side of SEMI/ANTI joins included
                for name, _ in scope.references:
                    source = scope.sources.get(name)
                    if isinstance(source, exp.Table):
                        out.add(table_name(source))
        return out

    def indirect(self, root: Scope) -> dict[tuple[str, str], str]:
        """Columns that decide which rows arrive (WHERE, HAVING, QUALIFY) or how they pair (JOIN)."""
        out: dict[tuple[str, str], str] = {}
        for scope in self.used_scopes(root):
            expression = scope.expression
            if not isinstance(expression, exp.Select):
                continue
            parts: list[tuple[exp.Expr, str]] = []
            for arg in ("where", "having", "qualify"):
                node = expression.args.get(arg)
                if node is not None:
                    parts.append((node, FILTER))
            for join in expression.args.get("joins") or ():
                for arg in ("on", "using"):
                    node = join.args.get(arg)
                    if node is not None:
                        parts.extend((n, JOIN) for n in (node if isinstance(node, list) else [node]))
            for node, kind in parts:
                found: dict = {}
                self._trace_expression(scope, node, found)
                for key in found:
                    if key not in out or (out[key] == FILTER and kind == JOIN):
                        out[key] = kind
        return out


def _func_name(func: exp.Func) -> str:
    if isinstance(func, exp.Anonymous):
        return str(func.name).lower()
    return func.sql_name().lower()


def _merge(out: dict, found: dict, kind: int) -> None:
    for key, sub in found.items():
        value = sub if sub > kind else kind
        previous = out.get(key)
        if previous is None or value < previous:
            out[key] = value


# ---------------------------------------------------------------------------------------------
# Statements to edges
# ---------------------------------------------------------------------------------------------


@dataclass
class Options:
    dialect: str | None = None
    db: str | None = None
    catalog: str | None = None
    masking: frozenset[str] = DEFAULT_MASKING
    strip_catalog: bool = False


class NotAnalysed(Exception):
    """A statement whose lineage Gavel cannot tell: it is reported (never dropped silently)."""

    def __init__(self, reason: str, tables: list[str] | tuple = ()):
        super().__init__(reason)
        self.reason = reason
        self.tables = sorted(set(tables))


ANALYSED, CLASSIFIED = "analysed", "classified"

#: Statements with no lineage by nature: they move no data from one table to another.
_NO_LINEAGE = tuple(
    getattr(exp, name)
    for name in ("Drop", "TruncateTable", "Grant", "Revoke", "Set", "Transaction", "Commit", "Rollback",
                 "Describe", "Show", "Analyze", "Comment", "Pragma", "Execute", "Cache", "Uncache", "Refresh",
                 "EndStatement", "Declare", "Kill", "Summarize", "Return", "Undrop", "Put", "Get")
    if hasattr(exp, name)
)
#: The same for statements sqlglot keeps as a raw ``Command``, by their first word. (A procedure
#: called by CALL or EXEC is analysed where it is defined.)
_NO_LINEAGE_COMMANDS = frozenset({
    "GRANT", "REVOKE", "VACUUM", "CALL", "EXEC", "EXECUTE", "DECLARE", "ANALYZE", "OPTIMIZE", "MSCK",
    "REFRESH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "SET", "UNSET", "RESET", "COMMIT", "ROLLBACK",
    "START", "PRINT", "RAISE", "RAISERROR", "RETURN", "GO", "LOCK", "UNLOCK", "KILL", "CHECKPOINT",
    "CLUSTER", "REINDEX", "COMMENT", "LIST", "LS", "PUT", "GET", "REMOVE", "RM", "UNDROP", "DROP",
    "TRUNCATE", "COLLECT", "DBCC", "DENY", "USE", "CACHE", "UNCACHE", "FSCK", "ADD", "BT", "ET",
    "COPY GRANTS", "NOTIFY", "LISTEN", "DISCARD", "DEALLOCATE", "PREPARE", "CLOSE", "FETCH", "OPEN",
    "ABORT", "SECURITY", "WAITFOR", "BACKUP", "UPDATE STATISTICS", "LOCK TABLES",
    "UNLOCK TABLES",
})
#: Procedural statements of routine bodies sqlglot does not parse, with no lineage by nature: they
#: return, signal, declare or assign variables, or steer the flow.
_PROCEDURAL = frozenset({"RETURN", "RAISE", "LET", "DECLARE", "EXIT", "CONTINUE", "BREAK", "NULL", "GET", "OPEN",
                         "CLOSE", "FETCH", "ASSERT", "LEAVE", "ITERATE", "SIGNAL", "RESIGNAL", "PRINT", "ELSE",
                         "ELSIF", "ELSEIF", "LOOP", "END", "EXCEPTION", "WHEN"})
#: Dialects where ``SELECT ... INTO x`` in a routine body assigns variables (PL/pgSQL, Snowflake Scripting,
#: PL/SQL, MySQL); T-SQL's ``SELECT ... INTO t`` creates a table even there.
_INTO_VARIABLE = frozenset({"postgres", "snowflake", "oracle", "mysql", "redshift", "bigquery"})
_ROUTINE_LANGUAGES = frozenset({"", "SQL", "PLPGSQL", "PLSQL", "TSQL", "SQLSCRIPT"})
_UNLOAD = re.compile(r"^\s*\(\s*'((?:[^']|'')*)'\s*\)\s*TO\s*'((?:[^']|'')*)'", re.IGNORECASE | re.DOTALL)
_EXCHANGE = re.compile(r"^\s*TABLE\s+([\w.\"`\[\]]+)\s+EXCHANGE\s+PARTITION\s+.*?\bWITH\s+TABLE\s+([\w.\"`\[\]]+)",
                       re.IGNORECASE | re.DOTALL)
_CLONE = re.compile(r"^\s*(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.`\"]+)\s+"
                    r"(?:DEEP\s+|SHALLOW\s+)?CLONE\s+([\w.`\"]+)", re.IGNORECASE)
_NAME = r"([\w.`\"\[\]$-]+)"
_TASK = re.compile(r"^\s*(?:OR\s+REPLACE\s+)?(?:TASK|PIPE)\b.*?\bAS\b\s+(.*)$", re.IGNORECASE | re.DOTALL)
_STREAM = re.compile(rf"^\s*(?:OR\s+REPLACE\s+)?STREAM\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}.*?\bON\s+(?:TABLE|VIEW)\s+{_NAME}",
                     re.IGNORECASE | re.DOTALL)
_LOAD_INFILE = re.compile(rf"^\s*LOAD\s+DATA\s+(?:LOW_PRIORITY\s+|CONCURRENT\s+)?(?:LOCAL\s+)?INFILE\s+'((?:[^']|'')*)'"
                          rf"\s+(?:REPLACE\s+|IGNORE\s+)?INTO\s+TABLE\s+{_NAME}", re.IGNORECASE)
_INSERT_EXEC = re.compile(rf"^\s*INSERT\s+(?:INTO\s+)?{_NAME}\s*(?:\([^)]*\))?\s*EXEC(?:UTE)?\b", re.IGNORECASE)
_ATTACH = re.compile(rf"^\s*TABLE\s+(?:ONLY\s+)?{_NAME}\s+ATTACH\s+PARTITION\s+{_NAME}", re.IGNORECASE)
_APPEND = re.compile(rf"^\s*TABLE\s+{_NAME}\s+APPEND\s+FROM\s+{_NAME}", re.IGNORECASE)
_MOVES_DATA = re.compile(r"\b(APPEND|EXCHANGE|SWAP|RENAME|ATTACH|MOVE|REPLACE\s+PARTITION)\b", re.IGNORECASE)
_LITERAL = re.compile(r"'((?:[^']|'')*)'\s*;?", re.DOTALL)
_NAMED_TABLE = re.compile(r"\b(?:FROM|INTO|JOIN|TABLE|UPDATE|USING)\s+([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)*)",
                          re.IGNORECASE)
_KIND_NAMES = {"truncatetable": "TRUNCATE", "altertable": "ALTER", "endstatement": "END"}


@contextmanager
def _quiet_sqlglot():
    """sqlglot logs a warning for each statement it keeps as a raw command: Gavel classifies or reports
    those statements itself, so the warning is noise on the user's terminal."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def statement_kind(e: exp.Expr) -> str:
    """A statement's kind as people write it: ``INSERT``, ``CREATE VIEW``, ``UNLOAD``."""
    if isinstance(e, exp.Command):
        return str(e.this).upper()
    if isinstance(e, exp.Create):
        return f"CREATE {str(e.args.get('kind') or '').upper()}".strip()
    if isinstance(e, exp.Query) and not _into(e):
        return "SELECT" if isinstance(e, exp.Select) else e.key.upper()
    return _KIND_NAMES.get(e.key, e.key.upper())


def apply_guess(catalog: Catalog, steps: list[list]) -> None:
    """Replay the steps of :meth:`Analyzer.predict` on ``catalog``."""
    for step, name, value in steps:
        if step == "add" or step == "new" and not catalog.columns(name):
            catalog.add(name, value)
        elif step == "copy" and catalog.columns(value):
            catalog.add(name, list(catalog.columns(value) or ()))
        elif step == "rename" and catalog.columns(name):
            catalog.add(value, list(catalog.columns(name) or ()))


def _output_names(query: exp.Query) -> list[str]:
    """The output names of ``query`` as written (its first branch), or ``[]`` if one is not a plain
    name (a star, an expression without an alias: qualification decides those)."""
    node = query
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    if not isinstance(node, exp.Select):
        return []
    names = []
    for projection in node.expressions:
        if isinstance(projection, exp.Alias):
            names.append(projection.alias)
        elif isinstance(projection, exp.Column) and not isinstance(projection.this, exp.Star):
            names.append(projection.name)
        else:
            return []
    return names


def _into(e: exp.Expr) -> exp.Into | None:
    """The ``INTO`` of ``SELECT ... INTO t`` (in the first branch of a set operation)."""
    node = e
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    into = node.args.get("into") if isinstance(node, exp.Select) else None
    return into if isinstance(into, exp.Into) else None


class Analyzer:
    """Turns the statements of one file into a :class:`FileResult`, growing ``catalog`` as it goes.

    The result is a function of the text, the options and the catalog only, so files can be
    analysed in worker processes.
    """

    def __init__(self, catalog: Catalog, options: Options):
        self.catalog = catalog
        self.options = options
        self.dialect = sqlglot.Dialect.get_or_raise(options.dialect)

    def _start(self) -> FileResult:
        self._routine_depth = 0  # > 0 inside a procedure or function body
        self.result = FileResult()
        self.db, self.cat = self.options.db, self.options.catalog
        self.temps: set[str] = set()
        self.deps: dict[str, str] = {}
        return self.result

    def analyze(self, text: str, statements: list[Statement] | None = None) -> FileResult:
        """The lineage of ``text``; ``statements``: its :func:`split`, when already parsed (a worker
        parses its files before it analyses them, see :func:`engine.lineage.analyze_files`)."""
        result = self._start()
        with _quiet_sqlglot():
            for statement in split(text, self.dialect) if statements is None else statements:
                self._one(statement, text, 0)
        if self.temps:
            result.edges = contract_temporary(result.edges, self.temps)
        result.deps = dict(sorted(self.deps.items()))
        return result

    def predict(self, statements: list[Statement]) -> list[list]:
        """A guess, from the parse alone, at how ``statements`` will change the catalog, as steps
        :func:`apply_guess` replays on another catalog: ``["add", name, columns]`` (a ``CREATE``
        whose columns are written out: a column list, or a query whose projections all have
        names), ``["copy", name, source]`` (``CREATE ... AS SELECT * FROM source``), ``["new", name,
        columns]`` (an ``INSERT`` that names its columns, which adds a table not known yet) and
        ``["rename", old, new]``. A parallel worker grows its catalog with the guesses of the files
        before its own; the guess is never trusted: a result computed on a wrong one reads a stale
        table and is analysed again in order (``FileResult.deps``)."""
        self._start()
        out: list[list] = []
        for st in statements:
            e = st.expression
            try:
                if isinstance(e, exp.Use):
                    self._use(e)
                elif isinstance(e, exp.Create):
                    out.extend(self._predict_create(e))
                elif isinstance(e, exp.Insert) and isinstance(e.this, exp.Schema | exp.Table):
                    columns = [c.name for c in e.this.expressions] if isinstance(e.this, exp.Schema) else \
                        _output_names(e.expression) if isinstance(e.expression, exp.Query) else []
                    table = e.this.this if isinstance(e.this, exp.Schema) else e.this
                    if columns and isinstance(table, exp.Table):
                        out.append(["new", self._target(table), [c.lower() for c in columns]])
                elif isinstance(e, exp.Alter) and isinstance(e.this, exp.Table):
                    for action in e.args.get("actions") or ():
                        if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table) \
                                and (action.this.args.get("db") or not e.this.args.get("db")):
                            out.append(["rename", self._target(e.this), self._target(action.this)])
            except Exception:  # noqa: BLE001 - only a guess: the analysis reports what is wrong
                continue
        return out

    def _predict_create(self, e: exp.Create) -> list[list]:
        kind = str(e.args.get("kind") or "").upper()
        if "TABLE" not in kind and "VIEW" not in kind or e.args.get("clone") is not None:
            return []
        this, columns = e.this, []
        if isinstance(this, exp.Schema):
            columns = [c.name for c in this.expressions if isinstance(c, exp.ColumnDef | exp.Identifier)]
            this = this.this
        if not isinstance(this, exp.Table):
            return []
        query = e.expression
        if not columns and isinstance(query, exp.Select) and query.is_star and len(query.expressions) == 1 \
                and isinstance(query.args.get("from_"), exp.From) and not query.args.get("joins") \
                and isinstance(query.args["from_"].this, exp.Table) and not query.args.get("with_"):
            return [["copy", self._target(this), self._resolved(query.args["from_"].this)]]
        if not columns and isinstance(query, exp.Query):
            columns = _output_names(query)
        return [["add", self._target(this), [c.lower() for c in columns]]] if columns else []

    def _one(self, st: Statement, text: str, base: int, *, nested: bool = False) -> None:
        """Analyse, classify or report one statement (``base``: lines before ``text`` in the file)."""
        self._routine_depth += nested
        try:
            self._one_statement(st, text, base, nested=nested)
        finally:
            self._routine_depth -= nested

    def _one_statement(self, st: Statement, text: str, base: int, *, nested: bool) -> None:
        result = self.result
        result.statements += 1
        line = st.line + base
        if st.error and nested and (st.words[:1] and st.words[0] in _PROCEDURAL or st.words[1:] == (":=",)):
            self._classify(st.words[0] if st.words[1:] != (":=",) else "assignment")
            return
        if st.error and st.end and self._unparsed(text[st.start:st.end + 1], line):
            return
        if st.error:
            if nested:  # a statement of a routine body Gavel cannot parse: the routine itself is valid SQL
                named = self._named_tables(text[st.start:st.end + 1]) if st.end else []
                self._report(line, "procedural", st.error, named)
            else:
                result.problems.append({"line": line, "message": st.error})
                result.counts["reported"] += 1
            return
        if st.header:
            self._classify(st.header)
            return
        e = st.expression
        if nested and st.words[:1] and st.words[0] in _PROCEDURAL and not isinstance(e, exp.DML | exp.DDL | exp.Query):
            self._classify(st.words[0])  # RETURN n, RAISE ... parsed as an expression: procedural
            return
        kind = statement_kind(e)
        try:
            status = self.statement(e, line, text=text, start=st.start, base=base)
        except NotAnalysed as exc:
            self._report(line, kind, exc.reason, exc.tables)
        except RecursionError:
            result.problems.append({"line": line, "message": "statement nests too deeply to analyse"})
            result.counts["reported"] += 1
        except SqlglotError as exc:
            tables = [self._resolved(t) for t in e.find_all(exp.Table)]
            self._report(line, kind, _first_line(exc), tables)
        except Exception as exc:  # a shape sqlglot's optimizer trips on: reported, never a crash
            tables = [self._resolved(t) for t in e.find_all(exp.Table)]
            self._report(line, kind, f"{type(exc).__name__}: {_first_line(exc)}", tables)
        else:
            if status == CLASSIFIED:
                self._classify(kind)
            else:
                result.counts["analysed"] += 1

    def _unparsed(self, code: str, line: int) -> bool:
        """Statements sqlglot does not parse whose lineage is still known (or known to be unknown):
        MySQL ``LOAD DATA INFILE`` (an external source) and T-SQL ``INSERT ... EXEC`` (rows from a
        procedure's result set: reported). True when handled."""
        found = _LOAD_INFILE.match(code)
        if found is not None:
            target = self._target(exp.to_table(found.group(2), dialect=self.dialect))
            self.result.edges.append(["t", found.group(1).replace("''", "'").lower(), "", target, "", "opaque", line])
            self.result.counts["analysed"] += 1
            return True
        found = _INSERT_EXEC.match(code)
        if found is not None:
            target = self._target(exp.to_table(found.group(1), dialect=self.dialect))
            self._report(line, "INSERT", "its rows come from a procedure's result set (INSERT ... EXEC): lineage "
                         "unknown", [target])
            return True
        return False

    def _classify(self, kind: str) -> None:
        self.result.counts["classified"] += 1
        self.result.classified[kind] = self.result.classified.get(kind, 0) + 1

    def _report(self, line: int, kind: str, reason: str, tables: list[str]) -> None:
        self.result.counts["reported"] += 1
        self.result.unresolved.append({"line": line, "message": f"{kind} statement not analysed: {reason}",
                                       "kind": kind, "tables": sorted(set(tables))})

    def analyze_query(self, text: str, target: str) -> FileResult:
        """Lineage of one ``SELECT`` (a dbt model's compiled SQL) written into ``target``."""
        result = self._start()
        statements = split(text, self.dialect)
        queries = [s for s in statements if s.expression is not None]
        for st in statements:
            if st.error:
                result.problems.append({"line": st.line, "message": st.error})
        result.statements = len(statements)
        if queries and isinstance(queries[-1].expression, exp.Query):
            try:
                self._query_into(target, None, queries[-1].expression, queries[-1].line, positional=False,
                                 create=True)
            except RecursionError:
                result.problems.append({"line": queries[-1].line, "message": "query nests too deeply to analyse"})
            except SqlglotError as exc:
                self._unresolved(queries[-1].line, f"query not analysed: {_first_line(exc)}")
        elif not result.problems:
            self._unresolved(1, f"no SELECT found for '{target}'")
        result.deps = dict(sorted(self.deps.items()))
        return result

    # -- dispatch ---------------------------------------------------------------------------------

    def statement(self, e: exp.Expr, line: int, *, text: str = "", start: int = 0, base: int = 0) -> str:
        """``ANALYSED`` or ``CLASSIFIED``; raises :class:`NotAnalysed` for what Gavel cannot tell."""
        if isinstance(e, exp.Use):
            self._use(e)
            return CLASSIFIED
        with_ = e.args.get("with_")
        for cte in with_.expressions if isinstance(with_, exp.With) else ():
            if isinstance(cte.this, exp.Insert | exp.Update | exp.Delete | exp.Merge):
                self.statement(cte.this.copy(), line)  # a data-modifying CTE (Postgres) writes its table too
        if isinstance(e, exp.Create):
            return self._create(e, line, text, start, base)
        if isinstance(e, exp.Insert):
            return self._insert(e, line)
        if isinstance(e, exp.Merge):
            return self._merge(e, line)
        if isinstance(e, exp.MultitableInserts):
            return self._multitable(e, line)
        if isinstance(e, exp.Cache) and isinstance(e.expression, exp.Query) and isinstance(e.this, exp.Table):
            target = self._target(e.this)  # CACHE TABLE t AS SELECT (Spark): a temporary view
            self.temps.add(target)
            self._query_into(target, None, e.expression, line, positional=False, create=True)
            return ANALYSED
        if isinstance(e, exp.Update):
            return self._update(e, line)
        if isinstance(e, exp.Delete):
            return self._delete(e, line)
        if isinstance(e, exp.Copy):
            return self._copy(e, line)
        if isinstance(e, exp.Alter):
            return self._alter(e, line)
        if isinstance(e, exp.Export) and isinstance(e.this, exp.Query):  # BigQuery EXPORT DATA: an external sink
            options = e.args.get("options")
            uri = next((p.args["value"] for p in (options.expressions if options else ())
                        if isinstance(p, exp.Property) and p.name.lower() == "uri"), None)
            if uri is None:
                raise NotAnalysed("EXPORT DATA without a uri option")
            self._query_into(_location(uri), None, e.this, line, positional=False)
            return ANALYSED
        if isinstance(e, exp.LoadData) and isinstance(e.this, exp.Table):  # LOAD DATA INPATH: an external source
            target = self._target(e.this)
            self.result.edges.append(["t", _location(e.args["inpath"]), "", target, "", "opaque", line])
            return ANALYSED
        if isinstance(e, exp.Query):
            into = _into(e)
            if into is None:
                return CLASSIFIED  # a query with no target: it reads, it writes nothing
            if not isinstance(into.this, exp.Table) or not isinstance(into.this.this, exp.Identifier) or \
                    self._routine_depth and self.dialect.__class__.__name__.lower() in _INTO_VARIABLE:
                return CLASSIFIED  # SELECT ... INTO :variable (a routine body): no table is written
            into.pop()
            target = self._target(into.this)
            if into.args.get("temporary") or target.split(".")[-1].startswith("#"):
                self.temps.add(target)
            self._query_into(target, None, e, line, positional=False, create=True)
            return ANALYSED
        if isinstance(e, exp.Command):
            return self._command(e, line)
        if hasattr(exp, "ExecuteSql") and isinstance(e, exp.ExecuteSql):  # T-SQL sp_executesql N'...'
            code = e.expressions[0] if e.expressions else None
            if not (isinstance(code, exp.National) or isinstance(code, exp.Literal) and code.is_string):
                raise NotAnalysed("dynamic SQL: the statement it runs is known only at run time")
            for st in split(code.name, self.dialect):
                self._one(st, code.name, line - 1, nested=True)
            return CLASSIFIED
        if isinstance(e, exp.Block):
            for inner in e.expressions:
                if inner is not None:
                    self._one(Statement(0, inner, start=start), text, line, nested=True)
            return CLASSIFIED
        if type(e).__name__ in ("IfBlock", "WhileBlock"):  # T-SQL IF / WHILE: the statements inside count
            inner = [v for v in e.args.values() if isinstance(v, exp.Expr) and not isinstance(v, exp.Condition)]
            for branch in inner:
                for statement in (branch.expressions if isinstance(branch, exp.Block) else [branch]):
                    if statement is not None:
                        self._one(Statement(0, statement, start=start), text, line, nested=True)
            return CLASSIFIED
        if isinstance(e, _NO_LINEAGE):
            return CLASSIFIED
        raise NotAnalysed("Gavel does not analyse this kind of statement",
                          [self._resolved(t) for t in e.find_all(exp.Table)])

    def _use(self, e: exp.Use) -> None:
        if not isinstance(e.this, exp.Expr):  # USE SECONDARY ROLES, USE WAREHOUSE w: no names change
            return
        kind = (e.text("kind") or "").upper()
        if kind in ("ROLE", "WAREHOUSE", "SECONDARY ROLES"):
            return
        parts = [p.name for p in e.this.parts] if isinstance(e.this, exp.Table) else [e.this.name]
        if kind in ("DATABASE", "CATALOG"):
            self.cat, self.db = parts[-1], None
        elif len(parts) >= 2:
            self.cat, self.db = parts[-2], parts[-1]
        else:
            self.db = parts[-1]

    def _create(self, e: exp.Create, line: int, text: str, start: int, base: int) -> str:
        kind = (e.args.get("kind") or "").upper()
        if kind in ("PROCEDURE", "FUNCTION", "MACRO"):
            return self._routine(e, line, text, start, base)
        if kind not in ("TABLE", "VIEW", "MATERIALIZED VIEW") and "VIEW" not in kind and "TABLE" not in kind:
            return CLASSIFIED  # CREATE SCHEMA, INDEX, STAGE, ROLE, SEQUENCE, ...
        this = e.this
        columns: list[str] = []
        like = None
        if isinstance(this, exp.Schema):
            columns = [c.name for c in this.expressions if isinstance(c, exp.ColumnDef | exp.Identifier)]
            like = next((c for c in this.expressions if isinstance(c, exp.LikeProperty)), None)
            this = this.this
        if not isinstance(this, exp.Table):
            raise NotAnalysed(f"cannot tell the table {this.sql(dialect=self.dialect)!r} creates")
        target = self._target(this)
        props = e.args.get("properties")
        if props is not None:
            if any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
                self.temps.add(target)
            like = like or next((p for p in props.expressions if isinstance(p, exp.LikeProperty)), None)
        if target.split(".")[-1].startswith("#"):
            self.temps.add(target)
        clone = e.args.get("clone")
        query = e.expression
        if isinstance(clone, exp.Clone) and isinstance(clone.this, exp.Table):
            # a clone copies the data: every column of the source, by name
            query = exp.select("*").from_(clone.this.copy(), copy=False)
        if isinstance(query, exp.Query):
            self._query_into(target, columns or None, query, line, positional=bool(columns), create=True)
            return ANALYSED
        if like is not None and isinstance(like.this, exp.Table):
            # LIKE copies the structure, not the rows: the new table has the source's columns
            source = self._resolved(like.this)
            columns = columns or list(self._columns(source) or ())
            self._record_deps(like.this)
        if columns:
            types = {}
            if isinstance(e.this, exp.Schema):
                for c in e.this.expressions:
                    if isinstance(c, exp.ColumnDef) and c.args.get("kind") is not None:
                        types[c.name.lower()] = c.args["kind"].sql(dialect=self.dialect)
            self._add_table(target, columns, types)
        self.result.edges.append(["n", target, "", "", "", "table", line])
        return ANALYSED

    def _routine(self, e: exp.Create, line: int, text: str, start: int, base: int) -> str:
        """A procedure or function: the statements of its body are analysed like the file's own."""
        name = e.this.this.sql(dialect=self.dialect) if isinstance(e.this, exp.Expr) and e.this.this else "?"
        props = e.args.get("properties")
        language = next((p.name.upper() for p in (props.expressions if props else ()) if isinstance(p, exp.LanguageProperty)), "")
        body = e.expression
        if isinstance(body, exp.Block) and len(body.expressions) == 1 and isinstance(body.expressions[0], exp.RawString):
            body = body.expressions[0]
        if isinstance(body, (exp.Heredoc, exp.RawString)) or (isinstance(body, exp.Literal) and body.is_string):
            if language not in _ROUTINE_LANGUAGES:
                if str(e.args.get("kind") or "").upper() == "FUNCTION":
                    return CLASSIFIED  # a JavaScript or Python UDF computes values: it writes no table
                raise NotAnalysed(f"the {language} body of {name} is not SQL: its lineage is unknown")
            code = body.name
            found = text.find(code, start) if text else -1
            inner_base = base + (text.count("\n", 0, found) if found >= 0 else line - 1 - base)
            for st in split(code, self.dialect):
                self._one(st, code, inner_base, nested=True)
            return CLASSIFIED
        if isinstance(body, exp.Block):
            for inner in body.expressions:
                if inner is not None:
                    self._one(Statement(0, inner, start=start), text, line, nested=True)
            return CLASSIFIED
        if not isinstance(body, exp.Command):
            return CLASSIFIED  # no body here (its statements follow), or a function returning a value or query
        raise NotAnalysed(f"the body of {name} could not be parsed")

    def _insert(self, e: exp.Insert, line: int) -> str:
        this = e.this
        columns = None
        if isinstance(this, exp.Schema):
            columns = [c.name for c in this.expressions]
            this = this.this
        query = e.expression
        with_ = e.args.get("with_")
        if with_ is not None and isinstance(query, exp.Query):
            inner = query.args.get("with_")
            if inner is not None:
                with_.set("expressions", [*with_.expressions, *inner.expressions])
            query.set("with_", with_)
        if isinstance(this, exp.Directory):  # INSERT OVERWRITE DIRECTORY: an external sink
            target = _location(this.this)
        elif isinstance(this, exp.Table):
            target = self._target(this)
        else:
            raise NotAnalysed(f"cannot tell the table it writes ({this.sql(dialect=self.dialect)})")
        if isinstance(query, exp.Values):
            return self._values(target, columns, query, line)
        if query is None and isinstance(e.args.get("source"), exp.Table):  # INSERT INTO t TABLE s (Spark)
            query = exp.select("*").from_(e.args["source"].copy(), copy=False)
        if not isinstance(query, exp.Query):
            raise NotAnalysed("INSERT without a query or VALUES", [target])
        by_name = bool(e.args.get("by_name"))
        self._query_into(target, columns, query, line, positional=not by_name)
        return ANALYSED

    def _values(self, target: str, columns: list[str] | None, values: exp.Values, line: int) -> str:
        """``INSERT ... VALUES``: literal rows add only the table; a row with a subquery is a query."""
        rows = [row for row in values.expressions if isinstance(row, exp.Tuple)]
        reading = [row for row in rows if row.find(exp.Query, exp.Column)]
        if not reading:
            self.result.edges.append(["n", target, "", "", "", "table", line])
            return ANALYSED
        if not columns and not self._columns(target):
            # values with no column names to go to: the tables they read reach the target whole
            tables = {self._resolved(t) for row in reading for t in row.find_all(exp.Table) if not _is_cte_ref(t)}
            for source in sorted(tables):
                self.result.edges.append(["t", source, "", target, "", "opaque", line])
            self._unresolved(line, f"{target}: VALUES columns not known (no column list and unknown columns)")
            return ANALYSED
        for row in reading:
            select = exp.select(*(exp.alias_(v.copy(), f"_gavel_{i}", copy=False)
                                  for i, v in enumerate(row.expressions)))
            self._query_into(target, columns, select, line, positional=True)
        return ANALYSED

    def _multitable(self, e: exp.Expr, line: int) -> str:
        """``INSERT ALL/FIRST ... INTO t1 VALUES (...) INTO t2 ... SELECT`` (Snowflake, Oracle) and Hive's
        ``FROM s INSERT ... SELECT ... INSERT ... SELECT``: each branch is a query over the source."""
        source = e.args.get("source")
        if isinstance(source, exp.Query):
            source = exp.Subquery(this=source, alias=exp.TableAlias(this=exp.to_identifier("_gavel_src")))
        if not isinstance(source, exp.Table | exp.Subquery):
            raise NotAnalysed("cannot tell the source of the multi-table INSERT")
        for item in e.expressions:
            insert = item.this if isinstance(item, exp.ConditionalInsert) else item
            if not isinstance(insert, exp.Insert):
                continue
            this, columns = insert.this, None
            if isinstance(this, exp.Schema):
                columns = [c.name for c in this.expressions]
                this = this.this
            if not isinstance(this, exp.Table):
                raise NotAnalysed("cannot tell a table the multi-table INSERT writes")
            target = self._target(this)
            body = insert.expression
            if isinstance(body, exp.Values) and body.expressions:
                values = body.expressions[0].expressions
                if columns is None and not self._columns(target) and \
                        not all(isinstance(v, exp.Column) for v in values):
                    raise NotAnalysed(f"no column names for the VALUES into {target}",
                                      [target, *(self._resolved(t) for t in source.find_all(exp.Table))])
                select = exp.select(*(exp.alias_(v.copy(), v.name if isinstance(v, exp.Column) else f"_gavel_{i}")
                                      for i, v in enumerate(values)))
            elif isinstance(body, exp.Select):
                select = body.copy()
            else:
                select = exp.select("*")
            select = select.from_(source.copy(), copy=False)
            condition = item.args.get("expression") if isinstance(item, exp.ConditionalInsert) else None
            if condition is not None:
                select = select.where(condition.copy(), copy=False)
            self._query_into(target, columns, select, line, positional=bool(columns) or
                             bool(self._columns(target)))
        return ANALYSED

    def _merge(self, e: exp.Merge, line: int) -> str:
        target_table = e.this
        if not isinstance(target_table, exp.Table):
            raise NotAnalysed("cannot tell the table MERGE writes")
        target = self._target(target_table)
        using = e.args.get("using")
        source_alias = using.alias_or_name if using is not None else ""
        known = self._columns(target) or (self._columns(self._resolved(using))
                                                 if isinstance(using, exp.Table) else None)
        assignments: list[tuple[str, exp.Expr]] = []
        conditions: list[exp.Expr] = []
        unknown = False
        whens = e.args.get("whens")
        for when in whens.expressions if whens is not None else ():
            then = when.args.get("then")
            if when.args.get("condition") is not None:
                conditions.append(when.args["condition"])
            if isinstance(then, exp.Update):
                if any(isinstance(x, exp.Star) for x in then.expressions):  # UPDATE SET *
                    unknown |= known is None
                    assignments += [(c, exp.column(c, source_alias)) for c in known or ()]
                for eq in then.expressions:
                    if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                        assignments.append((eq.this.name, eq.expression))
            elif isinstance(then, exp.Insert):
                cols, vals = then.this, then.expression
                if isinstance(cols, exp.Star) or (cols is None and vals is None) or \
                        isinstance(cols, exp.Var) and cols.name.upper() == "ROW":  # INSERT *, INSERT ROW
                    unknown |= known is None
                    assignments += [(c, exp.column(c, source_alias)) for c in known or ()]
                elif isinstance(vals, exp.Tuple):
                    # without a column list the values go to the target's columns in order
                    names = [c.name for c in cols.expressions] if isinstance(cols, exp.Tuple) else \
                        list(self._columns(target) or ())
                    unknown |= not names
                    assignments += list(zip(names, vals.expressions, strict=False))
        self_read = using is not None and target in {self._resolved(t) for t in using.find_all(exp.Table)}
        select = _projection(assignments).from_(target_table.copy(), copy=False)
        if using is not None:
            select = select.join(using, on=e.args.get("on"), copy=False)
        for cond in conditions:
            select = select.where(cond, copy=False)
        if e.args.get("with_") is not None:
            select.set("with_", e.args["with_"])
        self._assignments(target, [a for a, _ in assignments], select, line, self_read, opaque=unknown)
        return ANALYSED

    def _update(self, e: exp.Update, line: int) -> str:
        target_table = e.this
        if not isinstance(target_table, exp.Table):
            raise NotAnalysed("cannot tell the table UPDATE writes")
        from_ = e.args.get("from_") or e.args.get("from")
        joins = list(e.args.get("joins") or ())
        sources = [s for s in ([from_.this, *from_.expressions] if from_ is not None else []) if s is not None]
        for source in sources:  # T-SQL keeps the JOINs of UPDATE ... FROM on the first table
            if isinstance(source, exp.Table) and source.args.get("joins"):
                joins.extend(source.args["joins"])
                source.set("joins", None)
        # T-SQL: UPDATE a SET ... FROM t AS a: the target is named by its alias in FROM
        aliased = None
        if not target_table.args.get("db"):
            for t in [*sources, *(j.this for j in joins)]:
                if isinstance(t, exp.Table) and t.alias and t.alias.lower() == target_table.name.lower():
                    aliased = t
                    break
        target = self._target(aliased if aliased is not None else target_table)
        assignments = [(eq.this.name, eq.expression) for eq in e.expressions
                       if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column)]
        others = [t for part in (from_, *joins) if part is not None for t in part.find_all(exp.Table)
                  if t is not aliased]
        self_read = target in {self._resolved(t) for t in others}
        if aliased is not None:
            select = _projection(assignments).from_(sources[0].copy(), copy=False)
            sources = sources[1:]
        else:
            select = _projection(assignments).from_(target_table.copy(), copy=False)
        for source in sources:
            select = select.join(source, copy=False)
        for join in joins:
            select = select.join(join, copy=False)
        if e.args.get("where") is not None:
            select = select.where(e.args["where"].this, copy=False)
        if e.args.get("with_") is not None:
            select.set("with_", e.args["with_"])
        self._assignments(target, [a for a, _ in assignments], select, line, self_read)
        return ANALYSED

    def _delete(self, e: exp.Delete, line: int) -> str:
        """The rows a DELETE keeps depend on the columns of the tables its condition reads."""
        target_table = e.this
        if not isinstance(target_table, exp.Table):
            raise NotAnalysed("cannot tell the table DELETE writes")
        target = self._target(target_table)
        using = list(e.args.get("using") or ())
        where = e.args.get("where")
        reads = [t for part in (*using, where) if part is not None for t in part.find_all(exp.Table)]
        if not reads:
            return CLASSIFIED  # rows go, nothing flows in
        select = exp.select(exp.null().as_("_gavel_0")).from_(target_table.copy(), copy=False)
        for source in using:
            select = select.join(source, copy=False)
        if where is not None:
            select = select.where(where.this, copy=False)
        if e.args.get("with_") is not None:
            select.set("with_", e.args["with_"])
        self._query_into(target, [], select, line, positional=True, update=True, rows_only=True)
        return ANALYSED

    def _copy(self, e: exp.Copy, line: int) -> str:
        """COPY INTO a table from files or a stage (an external source), or from a table or query
        into files (an external sink)."""
        this = e.this
        columns = None
        if isinstance(this, exp.Schema):
            columns = [c.name for c in this.expressions]
            this = this.this
        files = list(e.args.get("files") or ())
        loading = bool(e.args.get("kind"))
        if isinstance(this, exp.Table) and this.name.startswith("@"):
            loading = False  # COPY INTO @stage FROM (SELECT ...): an unload
            sink = _location(this)
            sources = files
        elif loading:
            sink = None
            sources = files
        else:
            sink = _location(files[0]) if files else None
            sources = [this]
        if loading:
            target = self._target(this)
            for f in files:
                if isinstance(f, exp.Subquery):  # COPY INTO t FROM (SELECT $1, $2 FROM @stage)
                    for t in f.find_all(exp.Table):
                        self.result.edges.append(["t", _location(t), "", target, "", "opaque", line])
                else:
                    self.result.edges.append(["t", _location(f), "", target, "", "opaque", line])
            if not files:
                raise NotAnalysed("COPY without a source", [target])
            if columns:
                self._add_table(target, columns)
            return ANALYSED
        if sink is None:
            raise NotAnalysed("COPY without a destination")
        for source in sources:
            if isinstance(source, exp.Subquery | exp.Query):
                query = source.this if isinstance(source, exp.Subquery) else source
                self._query_into(sink, None, query, line, positional=False)
            elif isinstance(source, exp.Table):
                self.result.edges.append(["t", self._target(source), "", sink, "", "opaque", line])
        return ANALYSED

    def _alter(self, e: exp.Alter, line: int) -> str:
        this = e.this
        if not isinstance(this, exp.Table):
            return CLASSIFIED
        analysed = False
        for action in e.args.get("actions") or ():
            if isinstance(action, exp.AlterRename | exp.SwapTable) and isinstance(action.this, exp.Table):
                old = self._target(this)
                new_table = action.this
                if not new_table.args.get("db") and this.args.get("db"):  # RENAME TO t keeps the schema
                    new_table = new_table.copy()
                    new_table.set("db", this.args["db"].copy())
                    new_table.set("catalog", this.args["catalog"].copy() if this.args.get("catalog") else None)
                new = self._target(new_table)
                swap = isinstance(action, exp.SwapTable)
                self.result.edges.append(["r", old, "", new, "", "swap" if swap else "rename", line])
                old_cols, new_cols = self._columns(old), self._columns(new)
                if old_cols:
                    self._add_table(new, old_cols)
                if swap and new_cols:
                    self._add_table(old, new_cols)
                analysed = True
            elif isinstance(action, exp.RenameColumn) and action.args.get("to") is not None:
                # the values of the column now go by the new name: a direct edge old -> new keeps the flow
                table = self._target(this)
                old, new = action.this.name.lower(), action.args["to"].name.lower()
                self.result.edges.append(["c", table, old, table, new, "direct", line])
                known = self._columns(table)
                if known:
                    self._add_table(table, [new if c == old else c for c in known])
                analysed = True
        return ANALYSED if analysed else CLASSIFIED

    def _command(self, e: exp.Command, line: int) -> str:
        word = str(e.this).upper()
        rest = e.expression.name if isinstance(e.expression, exp.Expr) else str(e.expression or "")
        if word == "UNLOAD":
            found = _UNLOAD.match(rest)
            if found is None:
                raise NotAnalysed("cannot read the query and destination of UNLOAD")
            query = sqlglot.parse_one(found.group(1).replace("''", "'"), dialect=self.dialect)
            if not isinstance(query, exp.Query):
                raise NotAnalysed("UNLOAD of something that is not a query")
            self._query_into(found.group(2).lower(), None, query, line, positional=False)
            return ANALYSED
        if word == "REPLACE" and rest.lstrip().upper().startswith("INTO"):  # MySQL REPLACE INTO: an INSERT
            return self.statement(sqlglot.parse_one(f"INSERT {rest}", dialect=self.dialect), line)
        if word == "CREATE" and (clone := _CLONE.match(rest)) is not None:  # Databricks DEEP/SHALLOW CLONE
            target, source = (exp.to_table(n, dialect=self.dialect) for n in clone.groups())
            query = exp.select("*").from_(source, copy=False)
            self._query_into(self._target(target), None, query, line, positional=False, create=True)
            return ANALYSED
        if word == "CREATE" and (routine := _TASK.match(rest)) is not None:  # CREATE TASK/PIPE ... AS <statement>
            code = routine.group(1)
            for st in split(code, self.dialect):
                self._one(st, code, line - 1, nested=True)
            return CLASSIFIED
        if word == "CREATE" and (stream := _STREAM.match(rest)) is not None:  # a stream carries its table's rows
            target, source = (exp.to_table(n, dialect=self.dialect) for n in stream.groups())
            query = exp.select("*").from_(source, copy=False)
            self._query_into(self._target(target), None, query, line, positional=False, create=True)
            return ANALYSED
        if word == "ALTER" and (attach := _ATTACH.match(rest)) is not None:  # Postgres: c's rows become p's
            target, source = (exp.to_table(n, dialect=self.dialect) for n in attach.groups())
            query = exp.select("*").from_(source, copy=False)
            self._query_into(self._target(target), None, query, line, positional=False)
            return ANALYSED
        if word == "ALTER" and (append := _APPEND.match(rest)) is not None:  # Redshift: rows move from s to t
            target, source = (exp.to_table(n, dialect=self.dialect) for n in append.groups())
            name, from_cols = self._target(target), self._columns(self._resolved(source))
            into_cols = self._columns(name)
            # columns go by name; with IGNOREEXTRA / FILLTARGET only the ones both tables have
            shared = [c for c in into_cols if from_cols is None or c in from_cols] if into_cols else ["*"]
            query = exp.select(*shared).from_(source, copy=False)
            self._query_into(name, None, query, line, positional=False)
            return ANALYSED
        if word == "ALTER":
            found = _EXCHANGE.match(rest)
            if found is not None:  # partitions trade places: data flows both ways
                a, b = (self._target(exp.to_table(n, dialect=self.dialect)) for n in found.groups())
                self.result.edges.append(["t", b, "", a, "", "opaque", line])
                self.result.edges.append(["t", a, "", b, "", "opaque", line])
                return ANALYSED
            if _MOVES_DATA.search(rest):
                raise NotAnalysed("an ALTER that moves data Gavel does not know", self._named_tables(f"TABLE {rest}"))
            return CLASSIFIED  # other ALTERs sqlglot does not parse change no data
        if word in ("EXECUTE", "EXEC") and rest.lstrip().upper().startswith("IMMEDIATE"):
            code = rest.lstrip()[len("IMMEDIATE"):].strip()
            literal = _LITERAL.fullmatch(code)
            if literal is None:
                raise NotAnalysed("dynamic SQL: the statement it runs is known only at run time",
                                  self._named_tables(code))
            code = literal.group(1).replace("''", "'")
            for st in split(code, self.dialect):  # a constant string: its statements are analysed
                self._one(st, code, line - 1, nested=True)
            return CLASSIFIED
        if word in _NO_LINEAGE_COMMANDS:
            return CLASSIFIED
        raise NotAnalysed("Gavel cannot parse this statement", self._named_tables(rest))

    def _named_tables(self, text: str) -> list[str]:
        """Names that follow FROM, INTO, JOIN, TABLE, UPDATE or USING in text Gavel cannot parse:
        the tables whose lineage the statement may change (for the incomplete-lineage warning)."""
        return [self._resolved_name(self._qualify_name(m.lower())) for m in _NAMED_TABLE.findall(text)]

    def _qualify_name(self, name: str) -> str:
        return name if "." in name or not self.db else f"{self.db}.{name}"

    def _assignments(self, target: str, columns: list[str], select: exp.Select, line: int, self_read: bool,
                     *, opaque: bool = False) -> None:
        """SET/INSERT assignments as a query over the target (and the sources); the target is read
        too, but only a statement that names it as a source makes a table self-edge."""
        self._query_into(target, columns, select, line, positional=True, update=not self_read, opaque=opaque)
        if opaque:
            self._unresolved(line, f"{target}: MERGE columns not known (no column list and unknown columns)")

    # -- the core ---------------------------------------------------------------------------------

    def _target(self, table: exp.Table) -> str:
        parts = [p.name for p in table.parts]
        if self.options.strip_catalog and len(parts) > 2:
            parts = parts[-2:]
        if len(parts) == 1 and self.db:
            parts = [self.cat, self.db, *parts] if self.cat else [self.db, *parts]
        elif len(parts) == 2 and self.cat:  # after USE DATABASE / USE CATALOG
            parts = [self.cat, *parts]
        return self._resolved_name(".".join(parts).lower())

    def _query_into(self, target: str, columns: list[str] | None, query: exp.Query, line: int, *,
                    positional: bool, create: bool = False, update: bool = False, rows_only: bool = False,
                    opaque: bool = False) -> None:
        """Edges from ``query`` into ``target``. ``update``: the target is read only as the rows being
        written (no self edge); ``rows_only``: the query decides which rows stay, no values flow (DELETE)."""
        if query.parent is not None:
            query.pop()
        if target not in self.deps and target not in self.temps:
            self.deps[target] = self.catalog.fingerprint(target)
        if self.options.strip_catalog:
            for t in query.find_all(exp.Table):
                t.set("catalog", None)
        self.catalog.ready(self._record_deps(query))
        edges = self.result.edges
        try:
            qualified = qualify(
                query,
                dialect=self.catalog.dialect,
                schema=self.catalog.schema,
                db=self.db,
                catalog=self.cat,
                validate_qualify_columns=False,
                identify=False,
                quote_identifiers=False,
            )
            root = build_scope(qualified)
        except (SqlglotError, RecursionError, AssertionError, ValueError, KeyError, AttributeError, TypeError) as exc:
            # sqlglot cannot qualify this query: its tables still reach the target, whole (fail closed)
            sources = {self._resolved(t) for t in query.find_all(exp.Table) if not _is_cte_ref(t)}
            for source in sorted(sources - {target}) if update else sorted(sources):
                edges.append(["t", source, "", target, "", "opaque", line])
            self._unresolved(line, f"lineage of '{target}' is table-level only: {_first_line(exc)}")
            return
        if root is None:
            return
        walker = Walker(self.options.masking)
        outputs = qualified.named_selects if isinstance(qualified, exp.Query) else []
        if update:
            target_cols = [c.lower() for c in (columns or [])]
        elif columns:
            target_cols = [c.lower() for c in columns]
        elif positional and not create and self._columns(target):
            target_cols = list(self._columns(target) or [])
        else:
            target_cols = [o.lower() for o in outputs]
        column_edges = 0
        for i in range(len(outputs)):
            if i >= len(target_cols):
                break
            dst = target_cols[i]
            if not dst or dst == "*" or outputs[i] == "*":
                opaque = True
                self._unresolved(line, f"{target}: '*' not expanded (unknown columns)")
                continue
            found = walker.trace(root, i)
            for (src_table, src_col), kind in sorted(found.items()):
                edges.append(["c", self._resolved_name(src_table), src_col, target, dst, KINDS[kind], line])
                column_edges += 1
        for (src_table, src_col), kind in sorted(walker.indirect(root).items()):
            edges.append(["i", self._resolved_name(src_table), src_col, target, "", kind, line])
        tables = {self._resolved_name(t) for t in walker.tables(root)}
        if walker.stars:
            opaque = True
        if walker.unresolved:
            opaque = True
            for message in sorted(set(walker.unresolved))[:5]:
                self._unresolved(line, f"{target}: {message}")
        level = "opaque" if opaque or (not column_edges and outputs and not rows_only) else "columns"
        for source in sorted(tables):
            if update and source == target:
                continue
            edges.append(["t", source, "", target, "", level, line])
        if not tables or (update and tables == {target}):
            edges.append(["n", target, "", "", "", "table", line])
        if create or not self._columns(target):
            names = target_cols if (create or columns) else [o.lower() for o in outputs]
            if names and "*" not in names:
                self._add_table(target, names)

    def _resolved(self, table: exp.Table) -> str:
        return self._resolved_name(table_name(table))

    def _resolved_name(self, name: str) -> str:
        """``catalog.resolve(name)``, with what the answer depends on recorded in ``deps``: the table
        of that name and, when there is none, the tables the name could be short for."""
        if name in self.temps:
            return name
        deps, catalog = self.deps, self.catalog
        if name not in deps:
            deps[name] = catalog.fingerprint(name)
        if name in catalog.tables:
            return name
        key = RESOLVES + name
        if key not in deps:
            # the candidates before this file: a table it created ("-" before it) is not one
            deps[key] = ",".join(t for t in catalog.suffixed(name) if deps.get(t) != "-")
            parts = name.split(".")
            for i in range(1, len(parts) - 1):  # the shorter names resolve() tries
                shorter = ".".join(parts[i:])
                if shorter not in deps:
                    deps[shorter] = catalog.fingerprint(shorter)
        return catalog.resolve(name)

    def _columns(self, name: str) -> list[str] | None:
        """``catalog.columns(name)``, recorded in ``deps``."""
        if name not in self.deps and name not in self.temps:
            self.deps[name] = self.catalog.fingerprint(name)
        return self.catalog.columns(name)

    def _record_deps(self, query: exp.Expr) -> set[str]:
        """Record the schema the query is analysed against; returns the last name parts of its tables."""
        names = set()
        for t in query.find_all(exp.Table):
            names.add(t.name.lower())
            name = self._resolved_name(table_name(t))
            if name not in self.deps and name not in self.temps:
                self.deps[name] = self.catalog.fingerprint(name)
            if self.db and not t.args.get("db"):
                qualified = self._resolved_name(f"{self.db}.{t.name}".lower())
                if qualified not in self.deps and qualified not in self.temps:  # a temporary table is the file's own
                    self.deps[qualified] = self.catalog.fingerprint(qualified)
        return names

    def _add_table(self, name: str, columns: list[str], types: dict | None = None) -> None:
        if name not in self.temps and name not in self.deps:
            self.deps[name] = self.catalog.fingerprint(name)
        self.catalog.add(name, columns, types)
        self.result.tables.append([name, [c.lower() for c in columns], name in self.temps])

    def _unresolved(self, line: int, message: str) -> None:
        self.result.unresolved.append({"line": line, "message": message})


def _projection(assignments: list[tuple[str, exp.Expr]]) -> exp.Select:
    """``SELECT <value> AS _gavel_0, ...``: the values of SET/INSERT assignments, as a query."""
    values = [exp.alias_(v, f"_gavel_{i}", copy=False) for i, (_, v) in enumerate(assignments)]
    return exp.select(*(values or [exp.null()]))


def _location(node: exp.Expr) -> str:
    """The node id of an external location: a stage (``@stage/path``), a URL or a file path."""
    text = node.name if isinstance(node, exp.Literal | exp.Var) else (
        node.this.name if isinstance(node, exp.Table) and isinstance(node.this, exp.Var) else node.sql())
    if isinstance(node, exp.Table) and not isinstance(node.this, exp.Var):
        text = table_name(node)
    return text.strip().strip("'\"").lower()


def _is_cte_ref(table: exp.Table) -> bool:
    if table.args.get("db"):
        return False
    name = table.name
    node = table.parent
    while node is not None:
        with_ = node.args.get("with_") if isinstance(node, exp.Expr) else None
        if with_ is not None and any(cte.alias == name for cte in with_.expressions):
            return True
        node = node.parent
    return False


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def contract_temporary(edges: list[list], temps: set[str]) -> list[list]:
    """Replace paths through temporary tables by direct edges (temp tables do not outlive the script).

    A path ``a -> tmp -> b`` becomes ``a -> b``; its kind is the strongest along the path, and its
    line is the line of the statement that wrote ``b``. Filter and join keys of the statement that
    filled ``tmp`` become filter and join keys of ``b``.
    """
    rank = {k: i for i, k in enumerate(KINDS)}
    into_col: dict[tuple[str, str], list[list]] = {}
    into_table: dict[str, list[list]] = {}
    into_indirect: dict[str, list[list]] = {}
    out: list[list] = []

    def route(edge: list) -> None:
        level, _, _, dt, dc = edge[:5]
        if dt not in temps:
            out.append(edge)
        elif level == "c":
            into_col.setdefault((dt, dc), []).append(edge)
        elif level == "t":
            into_table.setdefault(dt, []).append(edge)
        elif level == "i":
            into_indirect.setdefault(dt, []).append(edge)

    for edge in edges:
        level, st, sc, dt, _, kind, line = edge
        if level == "n" and st in temps:
            continue
        if st not in temps or level == "n":
            route(edge)
        elif level == "c":
            for up in into_col.get((st, sc), ()):
                route(["c", up[1], up[2], dt, edge[4], KINDS[max(rank[up[5]], rank[kind])], line])
        elif level == "i":
            for up in into_col.get((st, sc), ()):
                route(["i", up[1], up[2], dt, "", kind, line])
        elif level == "t":
            for up in into_table.get(st, ()):
                route(["t", up[1], "", dt, "", "opaque" if "opaque" in (up[5], kind) else "columns", line])
            for up in into_indirect.get(st, ()):
                route(["i", up[1], up[2], dt, "", up[5], line])
    seen: set[tuple] = set()
    unique = []
    for edge in out:
        key = tuple(edge)
        if key not in seen:
            seen.add(key)
            unique.append(edge)
    return unique



def analyze(text: str, catalog: Catalog, options: Options) -> FileResult:
    """Lineage of one SQL text; ``catalog`` learns the tables it creates."""
    return Analyzer(catalog, options).analyze(text)


def query_edges(sql: str | exp.Expr, schema: dict[str, Any], dialect: str | None = None,
                masking: frozenset[str] = DEFAULT_MASKING) -> dict[str, dict[tuple[str, str], str]]:
    """Value lineage of every output column of one query: ``{output: {(table, column): kind}}``.

    The direct counterpart of ``sqlglot.lineage.lineage(None, sql, schema)``:

    >>> query_edges("SELECT a + 1 AS b FROM t", {"t": {"a": "int"}})
    {'b': {('t', 'a'): 'expression'}}
    """
    expression = sqlglot.parse_one(sql, read=dialect) if isinstance(sql, str) else sql
    qualified = qualify(expression, dialect=dialect, schema=MappingSchema(schema, dialect=dialect),
                        validate_qualify_columns=False, identify=False)
    root = build_scope(qualified)
    walker = Walker(masking)
    out = {}
    for name in qualified.named_selects:
        found = walker.trace(root, name)
        out[name] = {key: KINDS[kind] for key, kind in sorted(found.items())}
    return out
