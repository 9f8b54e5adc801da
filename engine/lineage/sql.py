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
import re
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
ANALYSIS_VERSION = "1"


@dataclass
class FileResult:
    """What one SQL file contributes. Plain data, cached as JSON by content hash.

    ``edges``: ``[level, src_table, src_column, dst_table, dst_column, kind, line]`` where level
    is ``c`` (column to column), ``i`` (column to table: a filter or join key) or ``t`` (table to
    table; ``kind`` is ``columns`` when column edges describe it, ``opaque`` when they do not).
    ``tables``: schema contributions ``[name, [columns], temporary]`` in statement order.
    ``deps``: the schema this result was computed against, ``{table: fingerprint}``.
    """

    statements: int = 0
    edges: list[list] = field(default_factory=list)
    tables: list[list] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)  # {"line", "message"}: error findings
    unresolved: list[dict] = field(default_factory=list)  # {"line", "message"}: partial lineage
    deps: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "statements": self.statements,
            "edges": self.edges,
            "tables": self.tables,
            "problems": self.problems,
            "unresolved": self.unresolved,
            "deps": self.deps,
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
        self.skipped: list[str] = []  # names whose nesting level does not match the schema's

    @property
    def schema(self) -> _Schema:
        if self._schema is None:
            self._schema = _Schema(dialect=self.dialect)
            for name, columns in self.tables.items():
                self._add_to_schema(name, columns, self.types.get(name))
        return self._schema

    def _add_to_schema(self, name: str, columns: list[str], types: dict | None) -> None:
        mapping = {c: (types or {}).get(c) or "unknown" for c in columns}
        try:
            self._schema.add_table(_table_expr(name), mapping, dialect=self.dialect, match_depth=True)
        except SqlglotError:
            self.skipped.append(name)

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
            self._add_to_schema(name, cols, types)

    def columns(self, name: str) -> list[str] | None:
        return self.tables.get(name)

    def resolve(self, name: str) -> str:
        """A unique fully qualified name for an unqualified one (``customers`` -> ``raw.customers``)."""
        if name in self.tables:
            return name
        full = self._suffix.get(name)
        if full and len(full) == 1:
            return next(iter(full))
        return name

    def fingerprint(self, name: str) -> str:
        return self.fps.get(name, "-")


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


def split(text: str, dialect) -> list[Statement]:
    """Parse ``text`` one statement at a time; a statement that does not parse carries its error."""
    try:
        tokens = dialect.tokenize(text)
    except TokenError:
        return _split_naive(text, dialect)
    semicolon = TokenType.SEMICOLON
    ends = [i for i, token in enumerate(tokens) if token.token_type is semicolon]
    out = []
    start = 0
    for end in [*ends, len(tokens)]:
        chunk = tokens[start:end]
        start = end + 1
        if not chunk:
            continue
        line = chunk[0].line
        try:
            parsed = dialect.parser(error_level=ErrorLevel.RAISE).parse(chunk, text)
        except ParseError as exc:
            err = exc.errors[0] if exc.errors else {}
            out.append(Statement(err.get("line") or line, None, _parse_message(exc)))
            continue
        except (SqlglotError, RecursionError, ValueError) as exc:
            out.append(Statement(line, None, f"cannot parse statement: {exc}"))
            continue
        for expression in parsed:
            if expression is not None:
                out.append(Statement(line, expression))
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
            for inner in scope.subquery_scopes:
                out = self.trace(inner, column)
                break
        elif isinstance(expression, exp.SetOperation):
            index = column if isinstance(column, int) else self._set_index(expression, column)
            if index >= 0:
                for branch in scope.set_operation_scopes:
                    _merge(out, self.trace(branch, index), DIRECT)
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
                for _, source in scope.selected_sources.values():
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


class Analyzer:
    """Turns the statements of one file into a :class:`FileResult`, growing ``catalog`` as it goes."""

    def __init__(self, catalog: Catalog, options: Options):
        self.catalog = catalog
        self.options = options
        self.dialect = sqlglot.Dialect.get_or_raise(options.dialect)

    def analyze(self, text: str) -> FileResult:
        result = FileResult()
        self.result = result
        self.db, self.cat = self.options.db, self.options.catalog
        self.temps: set[str] = set()
        self.deps: dict[str, str] = {}
        for statement in split(text, self.dialect):
            result.statements += 1
            if statement.error:
                result.problems.append({"line": statement.line, "message": statement.error})
                continue
            try:
                self.statement(statement.expression, statement.line)
            except RecursionError:
                result.problems.append({"line": statement.line, "message": "statement nests too deeply to analyse"})
            except SqlglotError as exc:
                self._unresolved(statement.line, f"statement not analysed: {_first_line(exc)}")
        if self.temps:
            result.edges = contract_temporary(result.edges, self.temps)
        result.deps = dict(sorted(self.deps.items()))
        return result

    def analyze_query(self, text: str, target: str) -> FileResult:
        """Lineage of one ``SELECT`` (a dbt model's compiled SQL) written into ``target``."""
        result = FileResult()
        self.result = result
        self.db, self.cat = self.options.db, self.options.catalog
        self.temps, self.deps = set(), {}
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

    def statement(self, e: exp.Expr, line: int) -> None:
        if isinstance(e, exp.Use):
            self._use(e)
        elif isinstance(e, exp.Create):
            self._create(e, line)
        elif isinstance(e, exp.Insert):
            self._insert(e, line)
        elif isinstance(e, exp.Merge):
            self._merge(e, line)
        elif isinstance(e, exp.Update):
            self._update(e, line)
        elif isinstance(e, exp.Query) and isinstance(e.args.get("into"), exp.Into):
            into = e.args["into"]
            query = e
            query.set("into", None)
            target = self._target(into.this)
            if into.args.get("temporary") or target.split(".")[-1].startswith("#"):
                self.temps.add(target)
            self._query_into(target, None, query, line, positional=False)

    def _use(self, e: exp.Use) -> None:
        kind = (e.text("kind") or "").upper()
        parts = [p.name for p in e.this.parts] if isinstance(e.this, exp.Table) else [e.this.name]
        if kind in ("DATABASE", "CATALOG"):
            self.cat, self.db = parts[-1], None
        elif len(parts) >= 2:
            self.cat, self.db = parts[-2], parts[-1]
        else:
            self.db = parts[-1]

    def _create(self, e: exp.Create, line: int) -> None:
        kind = (e.args.get("kind") or "").upper()
        if kind not in ("TABLE", "VIEW", "MATERIALIZED VIEW") and "VIEW" not in kind:
            return
        this = e.this
        columns: list[str] = []
        if isinstance(this, exp.Schema):
            columns = [c.name for c in this.expressions if isinstance(c, exp.ColumnDef | exp.Identifier)]
            this = this.this
        if not isinstance(this, exp.Table):
            return
        target = self._target(this)
        props = e.args.get("properties")
        if props is not None and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
            self.temps.add(target)
        query = e.expression
        if isinstance(query, exp.Query):
            self._query_into(target, columns or None, query, line, positional=bool(columns), create=True)
        elif columns:
            types = {}
            if isinstance(e.this, exp.Schema):
                for c in e.this.expressions:
                    if isinstance(c, exp.ColumnDef) and c.args.get("kind") is not None:
                        types[c.name.lower()] = c.args["kind"].sql(dialect=self.dialect)
            self._add_table(target, columns, types)
            self.result.edges.append(["n", target, "", "", "", "table", line])

    def _insert(self, e: exp.Insert, line: int) -> None:
        this = e.this
        columns = None
        if isinstance(this, exp.Schema):
            columns = [c.name for c in this.expressions]
            this = this.this
        query = e.expression
        if not isinstance(this, exp.Table) or not isinstance(query, exp.Query):
            return
        with_ = e.args.get("with_")
        if with_ is not None:
            inner = query.args.get("with_")
            if inner is not None:
                with_.set("expressions", [*with_.expressions, *inner.expressions])
            query.set("with_", with_)
        target = self._target(this)
        by_name = bool(e.args.get("by_name"))
        self._query_into(target, columns, query, line, positional=not by_name)

    def _merge(self, e: exp.Merge, line: int) -> None:
        target_table = e.this
        if not isinstance(target_table, exp.Table):
            return
        target = self._target(target_table)
        using = e.args.get("using")
        assignments: list[tuple[str, exp.Expr]] = []
        conditions: list[exp.Expr] = []
        whens = e.args.get("whens")
        for when in whens.expressions if whens is not None else ():
            then = when.args.get("then")
            if when.args.get("condition") is not None:
                conditions.append(when.args["condition"])
            if isinstance(then, exp.Update):
                for eq in then.expressions:
                    if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                        assignments.append((eq.this.name, eq.expression))
            elif isinstance(then, exp.Insert):
                cols, vals = then.this, then.expression
                if isinstance(cols, exp.Tuple) and isinstance(vals, exp.Tuple):
                    for c, v in zip(cols.expressions, vals.expressions, strict=False):
                        assignments.append((c.name, v))
        self_read = using is not None and target in {self._resolved(t) for t in using.find_all(exp.Table)}
        select = _projection(assignments).from_(target_table.copy(), copy=False)
        if using is not None:
            select = select.join(using, on=e.args.get("on"), copy=False)
        for cond in conditions:
            select = select.where(cond, copy=False)
        self._assignments(target, [a for a, _ in assignments], select, line, self_read)

    def _update(self, e: exp.Update, line: int) -> None:
        target_table = e.this
        if not isinstance(target_table, exp.Table):
            return
        target = self._target(target_table)
        assignments = [(eq.this.name, eq.expression) for eq in e.expressions
                       if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column)]
        select = _projection(assignments).from_(target_table.copy(), copy=False)
        from_ = e.args.get("from_") or e.args.get("from")
        others = [t for part in (from_, *(e.args.get("joins") or ())) if part is not None for t in part.find_all(exp.Table)]
        self_read = target in {self._resolved(t) for t in others}
        if from_ is not None:
            for source in [from_.this, *from_.expressions]:
                if source is not None:
                    select = select.join(source, copy=False)
        for join in e.args.get("joins") or ():
            select = select.join(join, copy=False)
        if e.args.get("where") is not None:
            select = select.where(e.args["where"].this, copy=False)
        self._assignments(target, [a for a, _ in assignments], select, line, self_read)

    def _assignments(self, target: str, columns: list[str], select: exp.Select, line: int, self_read: bool) -> None:
        """SET/INSERT assignments as a query over the target (and the sources); the target is read
        too, but only a statement that names it as a source makes a table self-edge."""
        self._query_into(target, columns, select, line, positional=True, update=not self_read)

    # -- the core ---------------------------------------------------------------------------------

    def _target(self, table: exp.Table) -> str:
        parts = [p.name for p in table.parts]
        if self.options.strip_catalog and len(parts) > 2:
            parts = parts[-2:]
        if len(parts) == 1 and self.db:
            parts = [self.cat, self.db, *parts] if self.cat else [self.db, *parts]
        name = ".".join(parts).lower()
        if name in self.temps:
            return name
        return self.catalog.resolve(name)

    def _query_into(self, target: str, columns: list[str] | None, query: exp.Query, line: int, *,
                    positional: bool, create: bool = False, update: bool = False) -> None:
        if query.parent is not None:
            query.pop()
        if target not in self.deps and target not in self.temps:
            self.deps[target] = self.catalog.fingerprint(target)
        if self.options.strip_catalog:
            for t in query.find_all(exp.Table):
                t.set("catalog", None)
        self._record_deps(query)
        edges = self.result.edges
        try:
            qualified = qualify(
                query,
                dialect=self.catalog.dialect,
                schema=self.catalog.schema,
                db=self.db,
                catalog=self.cat if self.db else None,
                validate_qualify_columns=False,
                identify=False,
                quote_identifiers=False,
            )
            root = build_scope(qualified)
        except (SqlglotError, RecursionError) as exc:
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
        elif positional and not create and self.catalog.columns(target):
            target_cols = list(self.catalog.columns(target) or [])
        else:
            target_cols = [o.lower() for o in outputs]
        opaque = False
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
        level = "opaque" if opaque or (not column_edges and outputs) else "columns"
        for source in sorted(tables):
            if update and source == target and level == "columns":
                continue
            edges.append(["t", source, "", target, "", level, line])
        if not tables:
            edges.append(["n", target, "", "", "", "table", line])
        if create or not self.catalog.columns(target):
            names = target_cols if (create or columns) else [o.lower() for o in outputs]
            if names and "*" not in names:
                self._add_table(target, names)

    def _resolved(self, table: exp.Table) -> str:
        return self._resolved_name(table_name(table))

    def _resolved_name(self, name: str) -> str:
        if name in self.temps:
            return name
        return self.catalog.resolve(name)

    def _record_deps(self, query: exp.Expr) -> None:
        for t in query.find_all(exp.Table):
            name = self._resolved_name(table_name(t))
            if name not in self.deps and name not in self.temps:
                self.deps[name] = self.catalog.fingerprint(name)
            if self.db and not t.args.get("db"):
                qualified = self._resolved_name(f"{self.db}.{t.name}".lower())
                if qualified not in self.deps:
                    self.deps[qualified] = self.catalog.fingerprint(qualified)

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
