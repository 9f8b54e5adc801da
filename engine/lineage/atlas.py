"""The ``atlas`` lineage source: Apache Atlas REST v2 lineage responses and entity exports (JSON).

Two shapes, as Atlas's REST API v2 writes them (schemas/atlas.schema.json):

- a **lineage response** (``GET /api/atlas/v2/lineage/{guid}``): ``guidEntityMap`` (guid -> entity
  header) and ``relations`` (``fromEntityId`` -> ``toEntityId``), where data sets and processes
  alternate: ``table -> hive_process -> table``, ``column -> hive_column_lineage -> column``;
- an **entity export** (``GET /api/atlas/v2/entity/bulk``, or one ``entity/guid/{guid}``):
  ``entities`` (and ``referredEntities``), where a process names its ``inputs`` and ``outputs``.

What it adds, in the same graph as SQL, OpenLineage and dbt: data sets become tables named by
their ``qualifiedName`` without the ``@cluster`` suffix (``sales.customers@prod`` ->
``sales.customers``), columns ``<table>.<column>``; a process becomes a job with ``input`` and
``output`` edges and a table edge from each input to each output (``columns`` when a column
lineage process of that pair says which columns, ``opaque`` otherwise); a column lineage process
gives column edges (``dependencyType`` SIMPLE -> ``direct``, EXPRESSION or SCRIPT ->
``expression``). Classifications become tags, lowercased (``PII`` -> ``pii``) unless the source's
``classifications`` map renames them.

Fail closed: a relation or process that names an entity the file does not hold, an entity with no
``qualifiedName``, and a lineage response that Atlas cut short (``remainingUpstreamVertexCount``
or ``remainingDownstreamVertexCount`` above 0: the flows beyond are unknown) are ``error`` findings
naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine import schemas
from engine.errors import EvidenceError
from engine.evidence.loader import Document, parse

#: Atlas's ``dependencyType`` of a column lineage process (the hive model spells it
#: ``depenendencyType``; both are read) -> Gavel's value edge kind.
DEPENDENCY_KINDS = {"SIMPLE": "direct", "EXPRESSION": "expression", "SCRIPT": "expression"}


@dataclass
class Entity:
    """One Atlas entity, reduced to what lineage needs."""

    guid: str
    type_name: str
    attributes: dict
    classifications: list[str]
    line: int | None
    role: str = field(init=False)  # dataset, column, process, column_process

    def __post_init__(self) -> None:
        self.role = _role(self.type_name, self.attributes)

    @property
    def qualified_name(self) -> str | None:
        name = self.attributes.get("qualifiedName")
        return name if isinstance(name, str) and name.strip() else None


def read(ctx, source: dict, where: tuple) -> None:
    files = ctx.files(source, where)
    renames = {k.lower(): v for k, v in (source.get("classifications") or {}).items()}
    count = 0
    for display, text in ctx.texts(files):
        try:
            doc = parse(text, display, fmt="json", limits=ctx.limits)
            schemas.check("atlas", doc)
        except EvidenceError as exc:
            ctx.problem(exc.message, file=display, line=exc.line)
            continue
        count += add_document(ctx, doc, renames)
    ctx.lg.sources.append({"type": "atlas", "files": len(files), "processes": count})


def add_document(ctx, doc: Document, renames: dict[str, str]) -> int:
    """Add one Atlas file's entities and flows to the graph; the number of processes read."""
    data = doc.data
    entities = _entities(doc)
    builder = _Builder(ctx, doc, entities, renames)
    for entity in entities.values():
        builder.node(entity)  # every data set and column, with its tags, even without flows
    if "guidEntityMap" in data:
        for direction in ("Upstream", "Downstream"):
            remaining = data.get(f"remaining{direction}VertexCount") or 0
            if remaining > 0:
                ctx.problem(f"Atlas cut this lineage response short: {remaining} {direction.lower()} vertices "
                            "were not returned, so flows beyond them are unknown (fetch with a larger depth "
                            "or limit)", file=doc.path, line=doc.line_of((f"remaining{direction}VertexCount",)))
        ends = _ends_from_relations(ctx, doc, entities)
    else:
        ends = _ends_from_attributes(ctx, doc, entities)
    # Column processes first: a table edge is ``columns`` where a column process covers its pair.
    processes = sorted(ends, key=lambda guid: (entities[guid].role != "column_process", guid))
    for guid in processes:
        inputs, outputs = ends[guid]
        builder.process(entities[guid], sorted(inputs), sorted(outputs))
    return len(processes)


def _entities(doc: Document) -> dict[str, Entity]:
    """Every entity of the file by guid, with the line it is written on."""
    data = doc.data
    found: dict[str, Entity] = {}

    def add(raw: dict, loc: tuple) -> None:
        names = raw.get("classificationNames") or [c.get("typeName") for c in raw.get("classifications") or ()
                                                   if isinstance(c, dict)]
        found[raw["guid"]] = Entity(raw["guid"], raw["typeName"], raw.get("attributes") or {},
                                    [n for n in names if isinstance(n, str) and n], doc.line_of(loc))

    for guid, raw in (data.get("guidEntityMap") or {}).items():
        add({**raw, "guid": raw.get("guid") or guid}, ("guidEntityMap", guid))
    for guid, raw in (data.get("referredEntities") or {}).items():
        add({**raw, "guid": raw.get("guid") or guid}, ("referredEntities", guid))
    for index, raw in enumerate(data.get("entities") or ()):
        add(raw, ("entities", index))
    if isinstance(data.get("entity"), dict):
        add(data["entity"], ("entity",))
    return found


def _ends_from_relations(ctx, doc: Document, entities: dict[str, Entity]) -> dict[str, tuple[set, set]]:
    """``{process guid: (input guids, output guids)}`` from a lineage response's relations."""
    ends: dict[str, tuple[set, set]] = {}
    for index, relation in enumerate(doc.data.get("relations") or ()):
        src, dst = relation["fromEntityId"], relation["toEntityId"]
        missing = [g for g in (src, dst) if g not in entities]
        if missing:
            ctx.problem(f"relation names entity {missing[0]!r}, which is not in guidEntityMap (its flow is "
                        "unknown)", file=doc.path, line=doc.line_of(("relations", index)))
            continue
        if entities[dst].role in ("process", "column_process"):
            ends.setdefault(dst, (set(), set()))[0].add(src)
        elif entities[src].role in ("process", "column_process"):
            ends.setdefault(src, (set(), set()))[1].add(dst)
        else:
            ctx.problem(f"relation {src} -> {dst} joins two data sets with no process between them",
                        file=doc.path, line=doc.line_of(("relations", index)))
    return ends


def _ends_from_attributes(ctx, doc: Document, entities: dict[str, Entity]) -> dict[str, tuple[set, set]]:
    """``{process guid: (input guids, output guids)}`` from the processes' ``inputs``/``outputs``."""
    by_name = {(e.type_name, e.qualified_name): g for g, e in entities.items() if e.qualified_name}
    ends: dict[str, tuple[set, set]] = {}
    for guid, entity in entities.items():
        if entity.role not in ("process", "column_process"):
            continue
        sides: tuple[set, set] = (set(), set())
        for side, key in zip(sides, ("inputs", "outputs"), strict=True):
            for ref in entity.attributes.get(key) or ():
                target = _resolve(ref, entities, by_name)
                if target is None:
                    ctx.problem(f"process {entity.qualified_name or guid!r} names {key[:-1]} {_describe(ref)}, "
                                "which this file does not hold (export it with its referred entities)",
                                file=doc.path, line=entity.line)
                    continue
                side.add(target)
        ends[guid] = sides
    return ends


def _resolve(ref, entities: dict[str, Entity], by_name: dict) -> str | None:
    if not isinstance(ref, dict):
        return None
    if ref.get("guid") in entities:
        return ref["guid"]
    name = (ref.get("uniqueAttributes") or {}).get("qualifiedName")
    return by_name.get((ref.get("typeName"), name))


def _describe(ref) -> str:
    if isinstance(ref, dict):
        name = (ref.get("uniqueAttributes") or {}).get("qualifiedName")
        return repr(name or ref.get("guid"))
    return repr(ref)


class _Builder:
    """Turns entities into graph nodes and processes into edges for one file."""

    def __init__(self, ctx, doc: Document, entities: dict[str, Entity], renames: dict[str, str]):
        self.ctx, self.doc, self.entities, self.renames = ctx, doc, entities, renames
        self.lg = ctx.lg
        self.nodes: dict[str, str | None] = {}
        self.covered: set[tuple[str, str]] = set()  # (input table, output table) with column edges

    def node(self, entity: Entity) -> str | None:
        """The graph node of a data set or column (created with its tags); None for processes."""
        if entity.guid in self.nodes:
            return self.nodes[entity.guid]
        node = None
        if entity.role in ("dataset", "column"):
            name = entity.qualified_name
            if name is None:
                self.ctx.problem(f"{entity.type_name} entity {entity.guid!r} has no qualifiedName, so it cannot "
                                 "be named in the graph", file=self.doc.path, line=entity.line)
            else:
                name = name.rsplit("@", 1)[0].strip().lower()
                if entity.role == "column":
                    table, _, column = name.rpartition(".")
                    node = self.lg.add_column(self._table_of(entity, table), column) if table else None
                else:
                    node = self.lg.add_table(name)
                if node is None:
                    self.ctx.problem(f"column {entity.qualified_name!r} does not name its table",
                                     file=self.doc.path, line=entity.line)
                elif entity.classifications:
                    tags = {self.renames.get(c.lower(), c.lower()) for c in entity.classifications}
                    self.lg.tag(node, tags)
                    if entity.role == "dataset":
                        self.lg.dataset_tags.setdefault(node, set()).update(tags)
        self.nodes[entity.guid] = node
        return node

    def _table_of(self, column: Entity, fallback: str) -> str:
        """A column's table: its ``table`` reference when the file holds that entity, else its name's prefix."""
        ref = column.attributes.get("table")
        if isinstance(ref, dict) and ref.get("guid") in self.entities:
            table = self.node(self.entities[ref["guid"]])
            if table:
                return table
        return self.lg.add_table(fallback)

    def process(self, process: Entity, inputs: list[str], outputs: list[str]) -> None:
        where = {"file": self.doc.path, "line": process.line}
        ins = [n for n in (self.node(self.entities[g]) for g in inputs) if n]
        outs = [n for n in (self.node(self.entities[g]) for g in outputs) if n]
        if process.role == "column_process":
            attrs = process.attributes
            dependency = str(attrs.get("dependencyType") or attrs.get("depenendencyType") or "SIMPLE").upper()
            kind = DEPENDENCY_KINDS.get(dependency, "expression")
            for src in ins:
                for dst in outs:
                    if self.lg.node_type(src) == "column" and self.lg.node_type(dst) == "column":
                        self.lg.add_edge(src, dst, kind, **where)
                        pair = (self.lg.g.nodes[src]["table"], self.lg.g.nodes[dst]["table"])
                        self.lg.add_edge(*pair, "columns", **where)
                        self.covered.add(pair)
            return
        job = self.lg.add_job(process.qualified_name or process.attributes.get("name") or process.guid)
        for src in ins:
            self.lg.add_edge(src, job, "input", **where)
        for dst in outs:
            self.lg.add_edge(job, dst, "output", **where)
            for src in ins:
                self.lg.add_edge(src, dst, "columns" if (src, dst) in self.covered else "opaque", **where)


def _role(type_name: str, attributes: dict) -> str:
    """What an Atlas type is for lineage, from its name and shape (the type system is not in the file)."""
    low = type_name.lower()
    if low.endswith("column_lineage") or low.endswith("columnlineage"):
        return "column_process"
    if low.endswith("process") or low.endswith("_process_execution") or (
        "inputs" in attributes and "outputs" in attributes
    ):
        return "process"
    if low.endswith("_column") or low == "column" or isinstance(attributes.get("table"), dict):
        return "column"
    return "dataset"
