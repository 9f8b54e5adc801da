"""Evidence: model and dataset cards, read from the globs in ``gavel.yaml`` and validated.

A file that cannot be read or validated becomes an ``error`` finding naming the file, the line
and the field; the run goes on with the other files and the gate fails (fail closed).
Adapters turn other card formats (Hugging Face, MLflow, Model Card Toolkit) into Gavel's own.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine import schemas
from engine.errors import EvidenceError
from engine.evidence.cache import EvidenceCache
from engine.evidence.loader import Document, Limits, parse, read_text
from engine.evidence.matching import matches
from engine.findings import InputDigest, Source, error_finding
from engine.inventory import Inventory, Record, add_records
from engine.registry import Registry

if TYPE_CHECKING:
    from engine.config import Config

#: Card formats. An adapter is ``adapt(doc: Document, kind: str) -> Document`` giving a Gavel card.
adapters = Registry(
    "evidence format",
    {
        "gavel": "engine.evidence.gavel:adapt",
        "huggingface": "engine.evidence.huggingface:adapt",
        "mlflow": "engine.evidence.mlflow:adapt",
        "model-card-toolkit": "engine.evidence.model_card_toolkit:adapt",
    },
)

SCHEMAS = {"model": "model-card", "dataset": "dataset-card"}


def expand(root: Path, patterns: list[str], exclude: list[str] = ()) -> list[Path]:
    """Paths matching ``patterns`` under ``root``, sorted, without ``exclude`` matches (see
    ``engine.evidence.matching.matches``: evidence itself uses that, without the Paths)."""
    return [Path(match.path) for match in matches(root, patterns, exclude)]


def relative(path: str | Path, root: Path) -> str:
    """``path`` as shown to users: relative to the project root when it is under it."""
    text, base = os.fspath(path), str(root)
    if text.startswith(base + "/") and "/." not in text[len(base):] and "//" not in text:
        return text[len(base) + 1:]  # the usual case, without pathlib (10,000 cards: 0.07 s)
    path = Path(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    try:  # resolve() only when needed: it costs a syscall per part
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def load_evidence(config: Config, inv: Inventory, *, aside: Callable[[Callable[[], None]], None] | None = None) -> None:
    """Read every evidence file into ``inv.models`` / ``inv.datasets``; problems go to ``inv.problems``.

    Validated cards are cached by content hash in ``.gavel/cache`` (a changed file, schema or
    Gavel version misses the cache); many uncached files are parsed by several processes.
    ``aside``, if given, is handed the function that writes the cache (``run_check`` writes it in
    a forked child while the run goes on); by default it is called here.
    """
    limits = Limits(max_bytes=config.max_bytes, max_depth=config.max_depth)
    jobs: list[tuple[str, str, str]] = []  # (display path, kind, format)
    seen: set[str] = set()  # paths as str(Path) spells them
    records: list[Record] = []
    outside = config.outside_check()
    for index, source in enumerate(config.evidence):
        if source.live is not None:
            from engine.evidence.live import read_live

            records += read_live(config, inv, source.live)
            continue
        adapters.get_or_raise(source.format)  # an unknown format is a usage error, even with no files
        found = matches(config.root, source.path, source.exclude)
        if not found and config.file:  # a configured glob that matches nothing is not a pass
            _missing(config, inv, index, source)
        for path, link in found:
            if path in seen:
                continue
            seen.add(path)
            if outside(path, link):
                inv.problems.append(outside_problem("gavel-evidence", "Evidence file is valid", source.kind,
                                                    relative(path, config.root), path))
                continue
            jobs.append((relative(path, config.root), source.kind, format_for(path, source.format)))
    cache = EvidenceCache.open(config) if config.cache else None
    results = _read_all(config.root, jobs, limits, cache, config.workers)
    for (display, kind, _fmt), (sha, outcome) in zip(jobs, results, strict=True):
        if sha is not None:
            inv.inputs.append(InputDigest(path=display, kind=kind, sha256=sha))
        if isinstance(outcome, EvidenceError):
            inv.problems.append(_problem(kind, outcome))
        else:
            records.append(outcome)
    add_records(inv, records)
    if cache is not None and cache.dirty:
        if aside is None:
            cache.save()
        else:
            aside(cache.save)


def outside_problem(policy: str, title: str, kind: str, display: str, path: str | Path):
    """The ``error`` finding for a file matched outside the project (a ``..`` glob, an absolute path,
    a symlink out): Gavel reads evidence from the project only, unless run with ``--allow-outside``."""
    where = os.path.realpath(path)
    via = f" (it leads to {where})" if where != os.path.abspath(path) else ""
    return error_finding(policy=policy, title=title, kind=kind, id=display, file=display,
                         message=f"{display} is outside the project{via}: not read (Gavel reads the project's own "
                                 "files only, unless run with --allow-outside)")


def _missing(config: Config, inv: Inventory, index: int, source) -> None:
    where = config.document.line_of(["evidence", index, "path"]) if config.document else None
    inv.problems.append(error_finding(
        policy="gavel-evidence", title="Evidence file is valid", kind=source.kind, id=", ".join(source.path),
        message=f"evidence {', '.join(source.path)} matches no file (a configured source that is missing is "
                "not a pass; fix or remove the entry)",
        file=relative(Path(config.file), config.root), line=where,
    ))


def _read_one(root: Path, job: tuple[str, str, str], limits: Limits) -> tuple[str | None, object]:
    """``(sha256 or None, Record or EvidenceError)`` for one evidence file."""
    display, kind, fmt = job
    try:
        text = read_text(root / display, display, limits)
    except EvidenceError as exc:
        return None, exc
    try:
        record = read_card(text, display, kind, adapters.get_or_raise(fmt), limits)
    except EvidenceError as exc:
        return _sha256(text), exc
    return _sha256(text), record


def _cached(base: str, job: tuple[str, str, str], limits: Limits, cache: EvidenceCache):
    """``(sha256, Record)`` from the cache, looked up by the hash of the bytes read now (never by
    size and mtime: a hit is the card these very bytes validated to); None on a miss."""
    display, kind, fmt = job
    sha = _quick_sha256(os.path.join(base, display), limits.max_bytes)  # a str: 10,000 Paths cost 0.1 s
    if sha is None:
        return None  # the miss path reads it again and reports the problem, if any
    record = cache.get(sha, kind, fmt, display)
    return None if record is None else (sha, record)


_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)


def _quick_sha256(path: str, max_bytes: int | None) -> str | None:
    """The ``_sha256`` of ``read_text(path)`` for a regular file within ``max_bytes`` read whole by
    one ``read``; None for anything else (a miss: ``read_text`` then reads it and says what is wrong).

    Only for cache lookups, where a hit proves the bytes are ones that once read and validated (so
    UTF-8 need not be checked: the hash of the bytes after a BOM is the hash of the decoded text).
    ``read_regular`` reads into a ``max_bytes`` buffer (5 MB) and reads again to see the end: 10,000
    cards cost ~0.05 s more that way. ``fstat`` on the open file, as there: a FIFO never blocks."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (max_bytes is not None and info.st_size > max_bytes):
            return None
        raw = os.read(fd, info.st_size + 1)  # one byte more than fstat said: a file that grew is seen
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) != info.st_size:  # it changed while read (or st_size means nothing, as in /proc)
        return None
    return hashlib.sha256(raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw).hexdigest()


_PARALLEL_FILES = 400  # below this, starting processes costs more than parsing in one


def _read_all(root: Path, jobs, limits: Limits, cache, workers: int) -> list[tuple[str | None, object]]:
    results: list = [None] * len(jobs)
    if cache is not None and cache.entries:  # cache hits first: only the misses are worth sending to workers
        base = os.fspath(root)
        for i, job in enumerate(jobs):
            results[i] = _cached(base, job, limits, cache)
    misses = [i for i, found in enumerate(results) if found is None]
    workers = workers if workers > 0 else (os.cpu_count() or 1)
    if len(misses) >= _PARALLEL_FILES and workers > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(min(workers, 8)) as pool:
            parsed = pool.starmap(_read_one, [(root, jobs[i], limits) for i in misses], chunksize=64)
    else:
        parsed = [_read_one(root, jobs[i], limits) for i in misses]
    for i, outcome in zip(misses, parsed, strict=True):
        results[i] = outcome
        sha, value = outcome
        if cache is not None and sha is not None and isinstance(value, Record):
            cache.put(sha, jobs[i][1], jobs[i][2], value)
    return results


def format_for(path: str | Path, declared: str) -> str:
    """The adapter for ``path``: the declared ``format``, except that under the default (gavel) a
    Markdown file is a Hugging Face card and a file named ``MLmodel`` an MLflow model."""
    if declared == "gavel":
        name = os.path.basename(os.fspath(path))
        dot = name.rfind(".")
        if 0 < dot < len(name) - 1 and name[dot:].lower() == ".md":  # Path.suffix, without a Path
            return "huggingface"
        if name == "MLmodel":
            return "mlflow"
    return declared


def read_card(text: str, display: str, kind: str, adapt, limits: Limits) -> Record:
    """Parse, adapt and validate one card; raises ``EvidenceError`` with file, line and field.

    An adapter that sets ``RAW = True`` (e.g. Hugging Face: Markdown with YAML front matter)
    gets the unparsed text (``data=None``) and parses what it needs itself.
    """
    raw = getattr(adapt, "RAW", False)
    doc: Document = adapt(Document(display, text, None) if raw else parse(text, display, limits=limits), kind)
    if not isinstance(doc.data, dict):
        raise EvidenceError(f"a {kind} card must be a mapping, got {type(doc.data).__name__}", file=display, line=1)
    declared = doc.data.get("kind", kind)
    if declared != kind:
        raise EvidenceError(
            f"file declares kind '{declared}' but is listed as {kind} evidence", file=display, line=doc.line_of(["kind"])
        )
    if "observations" in doc.data:  # what tools measured comes from their files, never from a card
        raise EvidenceError("a card cannot declare 'observations': Gavel attaches them from the files listed under "
                            "observations: in gavel.yaml", file=display, line=doc.line_of(["observations"]))
    schemas.check(SCHEMAS[kind], doc)
    line = doc.key_line("id") or 1
    return Record(kind, str(doc.data["id"]), doc.data, Source(file=display, line=line))


def _problem(kind: str, exc: EvidenceError):
    return error_finding(
        policy="gavel-evidence",
        title="Evidence file is valid",
        message=exc.message,
        kind=kind,
        id=exc.file or "?",
        file=exc.file,
        line=exc.line,
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
