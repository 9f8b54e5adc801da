"""Files Gavel reads and writes, done safely.

Reading: only regular files are read (a FIFO would block forever, a directory or a dangling
symlink is a mistake the user must hear about), within a size limit.

Writing: a regular file (or a new one) is replaced atomically (a crash mid-write leaves the old
file or the new one, never half of one); a symlink is followed (the file it points to is
replaced, the link stays); a character device or a FIFO (``/dev/null``, ``/dev/stdout``, a
pipe) is written through, never replaced by a regular file. A file that records something
(ledgers, history, configuration) is forced to disk before it replaces the old one, so it
survives a power cut too; one that the next run rewrites from its inputs (reports, caches) is
not (``durable=False``): forcing 200 MB of report to disk costs the run its wait.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


class FileKindError(OSError):
    """The path exists but is not something Gavel reads or writes (a directory, a socket, ...)."""


def inside(root: str | Path, path: str | Path) -> bool:
    """``path`` is ``root`` or under it, once every symlink on the way is followed (even a dangling
    one: where it points is what counts)."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


class Confinement:
    """``inside(root, path)`` for the many paths of one glob walk, without a ``realpath`` per file.

    ``realpath`` costs one ``lstat`` per component of the path (10,000 cards: ~0.5 s). A file whose
    last component is not a symlink resolves to its folder's real path plus its name, so only one
    ``lstat`` per file is needed and each folder is resolved once. Anything else (a symlink, a
    missing file, a name such as ``..``) goes through ``realpath`` as in :func:`inside`. Folders are
    remembered for the life of the object: make one per walk, not one per process.
    """

    def __init__(self, root: str | Path):
        self.root = os.path.realpath(root)
        self._prefix = self.root if self.root.endswith(os.sep) else self.root + os.sep
        self._folders: dict[str, str] = {}  # folder -> its real path, ending in a separator

    def __contains__(self, path: str | Path) -> bool:
        return self.holds(os.fspath(path))

    def holds(self, text: str, link: bool | None = None) -> bool:
        """``text in self``; ``link`` says whether its last component is a symlink when the caller
        knows (``os.scandir`` does, without a syscall): then no ``lstat`` is needed. None: look."""
        folder, name = os.path.split(text)
        real = None
        if name not in ("", ".", ".."):
            try:
                if link is None:
                    link = stat.S_ISLNK(os.lstat(text).st_mode)
                if not link:
                    known = self._folders.get(folder)
                    if known is None:
                        known = os.path.join(os.path.realpath(folder or os.curdir), "")
                        self._folders[folder] = known
                    real = known + name  # os.path.join, without its cost per file
            except OSError:
                pass  # missing or unreachable: realpath decides, as in inside()
        if real is None:
            real = os.path.realpath(text)
        return real == self.root or real.startswith(self._prefix)


def describe_kind(mode: int) -> str:
    """``stat`` mode → what a user calls it: "a directory", "a FIFO (named pipe)", ..."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: str | Path, max_bytes: int | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed).

    Raises ``FileKindError`` (an ``OSError`` whose ``strerror`` says what is wrong) for a dangling
    symlink, a directory, a FIFO, a device or a socket, and for a file over ``max_bytes``. The
    file is opened non-blocking and checked with ``fstat`` on the open descriptor, so a FIFO
    never blocks the run, even if it replaced a regular file between a check and the open.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            raise FileKindError(errno.ENOENT, f"is a symlink to a missing file ({os.readlink(path)})") from None
        raise
    except IsADirectoryError:  # O_RDONLY on a directory succeeds on Linux; other systems refuse it
        raise FileKindError(errno.EISDIR, "is a directory, not a file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileKindError(errno.EINVAL, f"is {describe_kind(info.st_mode)}, not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileKindError(errno.EFBIG, f"file is {info.st_size} bytes, over the {max_bytes}-byte limit")
        limit = info.st_size + 1 if max_bytes is None else max_bytes + 1
        chunks = []
        size = 0
        while True:  # the file may grow while it is read: never read more than the limit allows
            # A regular file is read whole by the first read (one buffer, no join: a 50 MB cache
            # file is not copied again); /proc files say size 0, hence the 64 KB floor.
            chunk = os.read(fd, max(limit - size, 1) if max_bytes is not None else max(limit - size, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise FileKindError(errno.EFBIG, f"file grew over the {max_bytes}-byte limit while read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: str | bytes | Iterable[str | bytes], *, durable: bool = True) -> None:
    """Write ``data`` to ``path``: atomically for a regular file, through for a device or FIFO.

    ``data`` may be pieces to write in order (text as UTF-8), so a 200 MB report is never held
    whole, neither as text nor encoded. A symlink is followed to its target (which is then
    replaced atomically, the link kept); a dangling symlink or a directory is refused with
    ``FileKindError``. ``durable``: on disk before it replaces the old file (see the module).
    """
    path = Path(path)
    raw = _chunks(data)
    if _is_special(path):  # /dev/stdout may be a regular file (a shell redirection): append to it, never replace
        _write_through(path, raw)
        return
    target = _write_target(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        _write_through(target, raw)
        return
    if mode is not None and not stat.S_ISREG(mode):
        raise FileKindError(errno.EINVAL, f"is {describe_kind(mode)}")
    _replace(target, raw, None if mode is None else mode & 0o7777, durable)


PIECES = 8192  # text pieces joined and encoded at a time (JSON report lines: ~1 MB)


def _chunks(data: str | bytes | Iterable[str | bytes]) -> Iterator[bytes | memoryview]:
    """``data`` as the bytes to write, in order: text pieces joined ``PIECES`` at a time (by
    slices, not piece by piece: a report is 2,000,000 pieces)."""
    if isinstance(data, str):
        yield data.encode("utf-8")
        return
    if isinstance(data, bytes | bytearray | memoryview):
        yield data
        return
    data = data if isinstance(data, list) else list(data)
    for start in range(0, len(data), PIECES):
        part = data[start:start + PIECES]
        try:
            text = "".join(part)
        except TypeError:  # bytes among them
            yield from (piece.encode("utf-8") if isinstance(piece, str) else piece for piece in part)
        else:
            yield text.encode("utf-8")


def _write_all(fd: int, chunks: Iterable[bytes | memoryview]) -> None:
    """Write the chunks in order. From the second on, each is written by a thread while the next
    is encoded: ``os.write`` lets go of the GIL, so the kernel's copy overlaps the encoding."""
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None:
        write_all(fd, first)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as writer:
        pending = writer.submit(write_all, fd, first)
        for chunk in itertools.chain([second], chunks):
            pending.result()  # one chunk in flight: order kept, memory bounded
            pending = writer.submit(write_all, fd, chunk)
        pending.result()


def write_all(fd: int, chunk: bytes | memoryview) -> None:
    """Every byte of ``chunk`` to ``fd`` (``os.write`` may take part of it: a pipe, a signal)."""
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view):]


def _is_special(path: Path) -> bool:
    """``/dev/...`` and ``/proc/...`` paths name devices and open files, whatever ``stat`` says."""
    parts = Path(os.path.abspath(path)).parts
    return len(parts) > 2 and parts[1] in ("dev", "proc")


def _write_target(path: Path) -> Path:
    """The file a write to ``path`` must change: ``path`` itself, or where its symlinks lead."""
    if not path.is_symlink():
        return path
    target = path.resolve()  # follows every link in the chain
    if not target.parent.exists():
        raise FileKindError(errno.ENOENT, f"is a symlink into a missing folder ({os.readlink(path)})")
    if target.is_symlink():  # a loop: resolve() stopped on a link
        raise FileKindError(errno.ELOOP, "is a symlink loop")
    return target


def _write_through(target: Path, raw: Iterable[bytes | memoryview]) -> None:
    # O_NONBLOCK: a FIFO with no reader fails at once (ENXIO) instead of hanging the run.
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise FileKindError(errno.ENXIO, "is a FIFO that nobody reads") from None
        raise
    try:
        os.set_blocking(fd, True)  # a pipe whose reader is slow must still get every byte
        _write_all(fd, raw)
    finally:
        os.close(fd)


def _replace(path: Path, raw: Iterable[bytes | memoryview], mode: int | None, durable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (or the old file's).
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        try:
            _write_all(fd, raw)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)  # make the rename itself durable


def fsync_dir(directory: str | Path) -> None:
    """Force a folder's entries (a rename, a new file) to disk; where that cannot be done, nothing."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
