"""Lineage: one graph of tables, columns, models and jobs, from SQL, OpenLineage, dbt and declared edges.

``build(config, inv)`` is the stage entry point (docs/contracts.md): it reads the ``lineage:``
section of ``gavel.yaml``, builds a :class:`~engine.lineage.graph.LineageGraph` and sets it as
``inv.lineage``. Bad input files never raise: each problem becomes an ``error`` finding in
``inv.problems`` (policy ``gavel-lineage``), naming the file and line. Bad *config* (an unknown
dialect, a malformed section) raises :class:`~engine.errors.ConfigError` (exit 2).

The graph imports sqlglot and networkx; the core imports this package only when lineage is
configured, and a warm run with unchanged lineage inputs reads the stage's stored result instead
(``engine.lineage.stored``) and imports neither.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ConfigError, EvidenceError
from engine.findings import InputDigest, error_finding
from engine.registry import Registry

if TYPE_CHECKING:
    from engine.config import Config
    from engine.inventory import Inventory
    from engine.lineage.graph import LineageGraph


def __getattr__(name: str):
    if name == "LineageGraph":  # networkx is imported only when a graph is built
        from engine.lineage.graph import LineageGraph

        return LineageGraph
    raise AttributeError(name)

__all__ = ["LineageGraph", "analyze_files", "build", "build_graph"]  # noqa: F822 - LineageGraph: lazy

POLICY = "gavel-lineage"
TITLE = "Lineage source is readable"
#: Lineage sources by ``type``; a reader is ``read(ctx, source, where)``.
sources = Registry(
    "lineage source",
    {
        "sql": "engine.lineage.sqlfiles:read",
        "openlineage": "engine.lineage.openlineage:read",
        "dbt": "engine.lineage.dbt:read",
        "declared": "engine.lineage.declared:read",
        "atlas": "engine.lineage.atlas:read",
    },
)


class Context:
    """What the source readers share while building: the graph, the schema, the cache, the inventory."""

    def __init__(self, config: Config, inv: Inventory, section: dict):
        from engine.evidence.loader import Limits
        from engine.lineage.cache import Cache
        from engine.lineage.graph import LineageGraph
        from engine.lineage.sql import DEFAULT_MASKING, Catalog

        self.config, self.inv, self.section = config, inv, section
        self.root = config.root
        self.lg = LineageGraph()
        self.dialect = section.get("dialect")
        self.catalog = Catalog(self.dialect)
        self.masking = DEFAULT_MASKING | frozenset(f.lower() for f in section.get("masking_functions", ()))
        self.cache = Cache(config.path(config.cache_path), enabled=config.cache and bool(section.get("cache", True)))
        self.limits = Limits(max_bytes=config.max_bytes, max_depth=config.max_depth)
        self.speculation = [0, 0]  # results from parallel workers taken, and analysed again in order

    def problem(self, message: str, *, file: str, line: int | None = None) -> None:
        self.inv.problems.append(
            error_finding(policy=POLICY, title=TITLE, message=message, kind="lineage", id=file, file=file, line=line)
        )

    def read(self, path: Path) -> tuple[str, str] | None:
        """``(display name, text)`` of a source file, recorded in ``inv.inputs``; None (and an error
        finding) when it cannot be read."""
        from engine.evidence import relative
        from engine.evidence.loader import read_text

        display = relative(path, self.root)
        try:
            text = read_text(path, display, self.limits)
        except EvidenceError as exc:
            self.problem(exc.message, file=display, line=exc.line)
            return None
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.inv.inputs.append(InputDigest(path=display, kind="lineage", sha256=digest))
        return display, text

    def texts(self, files: list[Path]):
        """``(display path, text)`` of each readable file; an unreadable one is already a finding."""
        for path in files:
            got = self.read(path)
            if got is not None:
                yield got

    def files(self, source: dict, where: str) -> list[Path]:
        from engine.evidence import expand

        patterns = source["path"] if isinstance(source["path"], list) else [source["path"]]
        exclude = source.get("exclude") or []
        exclude = exclude if isinstance(exclude, list) else [exclude]
        found = expand(self.root, patterns, exclude)
        if not found:
            file = self.config.file and Path(self.config.file).name or "gavel.yaml"
            line = self.config.document.line_of(where) if self.config.document else None
            self.problem(f"lineage source {', '.join(patterns)!s} matches no file (a configured source that "
                         "is missing is not a pass)", file=file, line=line)
        for path in [p for p in found if self.config.outside(p)]:  # a `..` glob or a symlink out
            from engine.evidence import outside_problem, relative

            found.remove(path)
            self.inv.problems.append(outside_problem(POLICY, TITLE, "lineage", relative(path, self.root), path))
        return found

    def node_for(self, name: str) -> str:
        """The node id for a name from a card or a declared edge: a known column, else a table."""
        name = name.strip()
        low = name.lower()
        if low.startswith("model:"):
            return self.lg.add_model(name[6:])
        if low.startswith("job:"):
            return self.lg.add_job(name[4:])
        g = self.lg.g
        if low in g:
            return low
        table, _, column = low.rpartition(".")
        if table and (table in g or table in self.catalog.tables) and g.nodes.get(table, {}).get("type", "table") == "table":
            return self.lg.add_column(table, column)
        return self.lg.add_table(low)


#: What the lineage stage reads of a card. The graph is built from cards cut to these fields and
#: its stored result is keyed on them, so editing anything else in a card (a description, a
#: metric) reuses the stored result, and a field read here but missing from this list is absent
#: from the graph, never stale.
CARD_FIELDS = {"model": ("training_datasets", "evaluation_datasets", "features"),
               "dataset": ("columns", "tags", "region", "provenance", "legal_basis")}
COLUMN_FIELDS = ("name", "tags", "type")


def lineage_view(inv: Inventory) -> Inventory:
    """``inv`` with every card cut to :data:`CARD_FIELDS` (problems and inputs are ``inv``'s own lists)."""
    from engine.inventory import Inventory, Record

    def cut(record: Record) -> Record:
        data = {k: record.data[k] for k in CARD_FIELDS[record.kind] if k in record.data}
        if isinstance(data.get("columns"), list):
            data["columns"] = [{k: c[k] for k in COLUMN_FIELDS if k in c} if isinstance(c, dict) else c
                               for c in data["columns"]]
        return Record(kind=record.kind, id=record.id, data=data, source=record.source)

    return Inventory(root=inv.root, models={k: cut(r) for k, r in inv.models.items()},
                     datasets={k: cut(r) for k, r in inv.datasets.items()}, problems=inv.problems, inputs=inv.inputs)


def build(config: Config, inv: Inventory) -> None:
    """Build the lineage graph of ``config.lineage`` into ``inv.lineage`` (see the module docstring),
    or read the stored result of a run with the same inputs."""
    if not (config.cache and (config.lineage or {}).get("cache", True)):
        inv.lineage = build_graph(config, inv)
        return
    from engine.lineage import stored

    digest = stored.key(config, lineage_view(inv))
    path = config.path(config.cache_path) / stored.FILE
    found = stored.load(path, digest) if digest else None

    def real_graph():
        from engine.inventory import Inventory

        return build_graph(config, Inventory(root=config.root, models=inv.models, datasets=inv.datasets))

    if found is None:
        problems, inputs = len(inv.problems), len(inv.inputs)
        graph = build_graph(config, inv)
        inv.lineage = graph
        if digest:
            found = stored.save(path, digest, graph, inv, inv.problems[problems:], inv.inputs[inputs:])
            inv.lineage = stored.StoredLineage(found["facts"], found["subject"], lambda: graph, {},
                                               lambda locations: stored.write(path, {**found, "locations": locations}))
        return
    inv.problems.extend(stored.finding(f) for f in found["problems"])
    inv.inputs.extend(InputDigest(path=p, kind=k, sha256=sha) for p, k, sha in found["inputs"])
    inv.lineage = stored.StoredLineage(found["facts"], found["subject"], real_graph, dict(found.get("locations") or {}),
                                       lambda locations: stored.write(path, {**found, "locations": locations}))


def build_graph(config: Config, inv: Inventory) -> LineageGraph:
    """The graph of ``config.lineage`` (what :func:`build` sets as ``inv.lineage``)."""
    import gc

    # Parsing allocates millions of short-lived AST nodes (cyclic: they point to their parents)
    # while the graph grows: with the default thresholds the collector walks the whole heap over
    # and over, which more than doubled the build time. Young garbage is still collected.
    # The collector is on even inside a paused block (engine.collector.collector_paused): the trees
    # are cycles, so without it a large build would keep every one it parsed.
    thresholds, collecting = gc.get_threshold(), gc.isenabled()
    gc.set_threshold(max(thresholds[0], 50_000), max(thresholds[1], 20), max(thresholds[2], 100))
    gc.enable()
    try:
        return _build_graph(config, lineage_view(inv))
    finally:
        gc.set_threshold(*thresholds)
        if not collecting:
            gc.disable()


def _build_graph(config: Config, inv: Inventory) -> LineageGraph:
    section = check_config(config)
    ctx = Context(config, inv, section)
    from engine.lineage.tags import Rules

    ctx.lg.rules = Rules.from_config(section.get("propagation"))
    _datasets(ctx)
    _config_schema_and_tags(ctx, before=True)
    for index, source in enumerate(section.get("sources", [])):
        sources.get_or_raise(source["type"])(ctx, source, ("lineage", "sources", index))
    _models(ctx)
    _config_schema_and_tags(ctx, before=False)
    from engine.lineage.incomplete import warn_incomplete

    warn_incomplete(ctx)
    import networkx as nx

    nx._clear_cache(ctx.lg.g)  # edges were added to the adjacency directly (LineageGraph.add_edge)
    ctx.cache.save()
    ctx.lg.cache_stats = {"hits": ctx.cache.hits, "misses": ctx.cache.misses}
    ctx.lg.parallel_stats = {"taken": ctx.speculation[0], "analysed_again": ctx.speculation[1]}
    return ctx.lg


# -- parallel analysis of SQL files ---------------------------------------------------------------
# A file's analysis reads the schema the files before it created (``SELECT *``, unqualified
# columns), so files are analysed in order. To use every core anyway, the files the cache lacks
# are analysed speculatively in forked workers, while the main process takes the results in file
# order: a speculative result is kept only if the schema it read (``FileResult.deps``: a
# fingerprint of every table it looked up) is the schema at that point of the ordered build, the
# check the lineage cache makes; otherwise the file is analysed again in order. So the graph is
# the one a sequential build makes, whatever the workers guessed.
#
# Each worker takes one contiguous block of the files (about the same amount of SQL each). It
# first parses its block (parsing does not depend on the schema: it is most of a statement's
# cost, and the trees stay in the worker, since sending them costs more than parsing them) and
# sends the main process a guess of the tables each file creates (``Analyzer.predict``: the
# columns a CREATE writes out, renames). A worker then grows its schema with the guesses for
# every file before its block, and analyses its block in order, its schema growing with its own
# results (exact, as in the ordered build). On warehouses whose files redefine the tables later
# files read, the guesses are what make the results of later blocks right. When most results are
# rejected anyway, the workers are stopped so they do not take CPU from the ordered build.
PARALLEL_FROM = 16  # files to analyse: below this, forking costs more than it saves
#: Characters of SQL whose parsed trees the workers keep, together, between the guess and the
#: analysis (a tree takes ~140 times its text, and the garbage of its analysis ~40 times: ~2 GB
#: in all); past that a worker parses a file twice.
PARSED_KEPT = 12_000_000
_SHARED: tuple | None = None


def analyze_files(ctx: Context, items: list[tuple[str, str]], analyzer, digest: str):
    """``(display, FileResult)`` of each ``(display, text)`` in order, as a sequential build
    (cache, then ``analyzer.analyze``) gives them, computed on every core when many files are new."""
    from engine.lineage.cache import cache_key

    keys = [cache_key(text, digest) for _, text in items]
    pending = [i for i, key in enumerate(keys) if key not in ctx.cache.entries]
    workers = _workers(ctx.config)
    stream = None
    if workers > 1 and len(pending) >= PARALLEL_FROM:
        # the tables a cached file creates are known: the workers start from them too
        known = {i: [["add", name, columns] for name, columns, _ in ctx.cache.entries[key].get("tables") or ()]
                 for i, key in enumerate(keys) if key in ctx.cache.entries}
        stream = _speculate(analyzer, [text for _, text in items], pending, known, workers)
    pending_set = set(pending)
    catalog = ctx.catalog
    taken = rejected = 0
    try:
        for i, (display, text) in enumerate(items):
            guess = next(stream, None) if stream is not None and i in pending_set else None
            result = ctx.cache.get(keys[i], catalog)
            if result is None:
                if guess is not None and all(catalog.fingerprint(t) == fp for t, fp in guess.deps.items()):
                    result = guess
                    taken += 1
                    for name, columns, _ in result.tables:
                        catalog.add(name, columns)
                else:
                    result = analyzer.analyze(text)
                    rejected += guess is not None
                    if stream is not None and rejected >= 4 and rejected > taken:
                        stream.close()  # speculation does not pay here: stop the workers
                        stream = None
                ctx.cache.put(keys[i], result)
            else:
                for name, columns, _ in result.tables:
                    catalog.add(name, columns)
            yield display, result
    finally:
        if stream is not None:
            stream.close()
        ctx.speculation[0] += taken
        ctx.speculation[1] += rejected


def _workers(config) -> int:
    import os

    wanted = getattr(config, "workers", 0) or 0
    return wanted if wanted > 0 else min(os.cpu_count() or 1, 8)


def _blocks(pending: list[int], sizes: list[int], workers: int) -> list[list[int]]:
    """``pending`` cut into at most ``workers`` contiguous blocks of about the same total size."""
    total = sum(sizes) or 1
    blocks: list[list[int]] = [[] for _ in range(workers)]
    done = 0
    for index, size in zip(pending, sizes, strict=True):
        blocks[min(workers - 1, done * workers // total)].append(index)
        done += size
    return [b for b in blocks if b]


def _speculate(analyzer, texts: list[str], pending: list[int], known: dict[int, list], workers: int):
    """Analyse ``texts[i]`` for each ``i`` of ``pending`` in forked workers; yields one result (or
    ``None``) per pending text, in order. ``known``: the tables of the files not pending.
    Closing the generator stops the workers."""
    import multiprocessing
    from collections import deque
    from multiprocessing.connection import wait

    global _SHARED
    blocks = _blocks(pending, [len(texts[i]) for i in pending], workers)
    conns, processes = [], []
    # the workers fork when the main process reaches the first pending file: the schema they copy
    # holds what the files before it made
    _SHARED = (analyzer, texts, {i: steps for i, steps in known.items() if i > blocks[0][0]})
    try:
        fork = multiprocessing.get_context("fork")  # a ValueError where there is no fork: no workers
        for number, block in enumerate(blocks):
            conn, child = fork.Pipe()
            process = fork.Process(target=_speculate_block, args=(block, number > 0, PARSED_KEPT // len(blocks), child),
                                   daemon=True)
            process.start()
            child.close()  # so that a worker that dies is an EOFError here, not a hang
            conns.append(conn)
            processes.append(process)
        _SHARED = None  # the workers have their copy
        guesses: dict[int, list] = {}
        for conn in conns:
            guesses.update(conn.recv())
        for conn, block in zip(conns[1:], blocks[1:], strict=True):
            conn.send({i: tables for i, tables in guesses.items() if i < block[0]})
        # every worker's results are read as they come (a later block's are kept here until their
        # turn): a worker whose pipe is full waits, and would wait for all the blocks before its own
        waiting = [len(block) for block in blocks]
        kept: list[deque] = [deque() for _ in blocks]
        for number, block in enumerate(blocks):
            for _ in block:
                while True:
                    ready = wait([c for c, n in zip(conns, waiting, strict=True) if n],
                                 timeout=None if not kept[number] else 0)
                    for conn in ready:
                        index = conns.index(conn)
                        kept[index].append(conn.recv())
                        waiting[index] -= 1
                    if kept[number] and not ready:
                        break
                yield kept[number].popleft()
    except Exception:  # noqa: BLE001 - speculation is an optimisation: the ordered build goes on alone
        return
    finally:
        _SHARED = None
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()
        for conn in conns:
            conn.close()


def _speculate_block(block: list[int], wait: bool, keep: int, conn) -> None:
    """A worker: parse ``block``, send the guessed tables of its files, receive those of the files
    before it (``wait``), then send the result (or ``None``) of each file in order. The trees of
    the first ``keep`` characters of SQL are kept for the analysis; the rest is parsed again then."""
    import contextlib

    # no traceback on the user's terminal: the main process analyses the files it has no result for
    # itself (and a closed pipe means it stopped the workers)
    with contextlib.suppress(Exception):
        _speculate_block_run(block, wait, keep, conn)


def _speculate_block_run(block: list[int], wait: bool, keep: int, conn) -> None:
    import gc

    from engine.lineage.sql import _quiet_sqlglot, apply_guess, split

    gc.freeze()  # the parent's objects are not this worker's garbage: do not walk (and copy) them
    analyzer, texts, known = _SHARED  # type: ignore[misc]
    parsed: dict[int, list] = {}
    guesses: dict[int, list] = {}
    gc.disable()  # what is parsed here lives until it is analysed: collecting now finds no garbage
    try:
        with _quiet_sqlglot():
            for index in block:
                try:
                    statements = split(texts[index], analyzer.dialect)
                    guesses[index] = analyzer.predict(statements)
                except Exception:  # noqa: BLE001 - the ordered pass analyses it again and reports properly
                    continue
                if keep > 0:
                    parsed[index] = statements
                    keep -= len(texts[index])
    finally:
        gc.freeze()
        gc.enable()
    conn.send(guesses)
    before = {**known, **(conn.recv() if wait else {})}
    for index in sorted(i for i in before if i < block[0]):
        apply_guess(analyzer.catalog, before[index])
    for index in block:
        # the cyclic garbage of analysing the kept trees (~30% of their size) is left to the end of
        # the worker: collecting it costs ~10% of the analysis
        (gc.disable if index in parsed else gc.enable)()
        try:
            result = analyzer.analyze(texts[index], parsed.pop(index, None))
        except Exception:  # noqa: BLE001 - as above
            result = None
        conn.send(result)


def check_config(config: Config) -> dict[str, Any]:
    """Validate the ``lineage:`` section (schemas/lineage-config.schema.json) and its dialects."""
    section = config.lineage or {}
    if config.document is not None and isinstance(config.document.data, dict) and "lineage" in config.document.data:
        from engine import schemas

        schemas.check("lineage-config", config.document, at=("lineage",), error=ConfigError)
    else:
        from engine import schemas

        found = schemas.errors("lineage-config", section)
        if found:
            raise ConfigError(f"lineage: {schemas.describe(found[0])}")
    _check_schema_section(config, section.get("schema") or {})
    dialects = [("lineage", "dialect")] if section.get("dialect") else []
    dialects += [("lineage", "sources", i, "dialect") for i, s in enumerate(section.get("sources", []))
                 if s.get("dialect")]
    for loc in dialects:
        value = section
        for key in loc[1:]:
            value = value[key]
        check_dialect(value, config, loc)
    return section


def _check_schema_section(config: Config, schema: dict) -> None:
    """``lineage.schema`` can hold thousands of tables: checked here, faster than by jsonschema."""
    for table, columns in schema.items():
        values = columns.values() if isinstance(columns, dict) else columns
        names = columns.keys() if isinstance(columns, dict) else columns
        bad = next((c for c in names if not isinstance(c, str) or not c), None)
        if bad is None and isinstance(columns, dict):
            bad = next((v for v in values if v is not None and not isinstance(v, str)), None)
        if bad is not None:
            line = config.document.line_of(("lineage", "schema", table)) if config.document is not None else None
            file = config.file and Path(config.file).name
            raise ConfigError(f"lineage: field 'lineage.schema.{table}': {bad!r} is not a column name (or type)",
                              file=file, line=line)


def check_dialect(name: str, config: Config, loc: tuple) -> None:
    import sqlglot

    try:
        sqlglot.Dialect.get_or_raise(name)
    except ValueError as exc:
        line = config.document.line_of(loc) if config.document is not None else None
        file = config.file and Path(config.file).name
        raise ConfigError(f"lineage: {exc}", file=file, line=line) from None


def _datasets(ctx: Context) -> None:
    """Dataset cards: tables, their columns (the schema) and the tags declared on them."""
    lg = ctx.lg
    for key in sorted(ctx.inv.datasets):
        record = ctx.inv.datasets[key]
        data = record.data
        table = lg.add_table(record.id.lower(), file=record.source.file)
        lg.cards[table] = record
        columns = [c for c in data.get("columns", ()) if isinstance(c, dict) and c.get("name")]
        for column in columns:
            node = lg.add_column(table, column["name"].lower())
            if column.get("tags"):
                lg.tag(node, column["tags"])
        if columns:
            ctx.catalog.add(table, [c["name"] for c in columns], {c["name"].lower(): c["type"] for c in columns
                                                                  if c.get("type")})
        tags = set(data.get("tags") or ())
        if data.get("region"):
            tags.add(f"region:{data['region']}")
        if tags:
            lg.tag(table, tags)
            lg.dataset_tags[table] = tags


def _config_schema_and_tags(ctx: Context, *, before: bool) -> None:
    lg, section = ctx.lg, ctx.section
    if before:
        for table, columns in sorted((section.get("schema") or {}).items()):
            table = table.lower()
            if isinstance(columns, dict):
                names, types = list(columns), {k.lower(): str(v) for k, v in columns.items() if v}
            else:
                names, types = list(columns), {}
            lg.add_table(table)
            for name in names:
                lg.add_column(table, name.lower())
            ctx.catalog.add(table, names, types)
        return
    for name, tags in sorted((section.get("tags") or {}).items()):
        node = ctx.node_for(name)
        lg.tag(node, tags)
        if lg.node_type(node) == "table":
            lg.dataset_tags.setdefault(node, set()).update(tags)


def _models(ctx: Context) -> None:
    """Model cards: training and evaluation datasets (table -> model) and features (column -> model)."""
    lg = ctx.lg
    for key in sorted(ctx.inv.models):
        record = ctx.inv.models[key]
        data = record.data
        model = lg.add_model(record.id)
        lg.g.nodes[model]["file"] = record.source.file
        where = {"file": record.source.file, "line": record.source.line}
        for field, kind in (("training_datasets", "training"), ("evaluation_datasets", "evaluation")):
            for name in data.get(field) or ():
                table = lg.add_table(name.lower()) if name.lower() not in lg.g else name.lower()
                lg.add_edge(table, model, kind, **where)
        for feature in data.get("features") or ():
            node = ctx.node_for(feature)
            lg.add_edge(node, model, "feature", **where)
