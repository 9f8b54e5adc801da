"""Writing a file from pieces (a report too big to hold twice) gives the bytes of their join."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import fsutil

pieces = st.lists(st.one_of(st.text(max_size=40), st.binary(max_size=40)), max_size=30)


def joined(parts: list[str | bytes]) -> bytes:
    return b"".join(p.encode() if isinstance(p, str) else p for p in parts)


@settings(max_examples=150, deadline=None)
@given(parts=pieces, chunk=st.integers(1, 8))
def test_pieces_are_written_in_order_whatever_the_chunk(tmp_path_factory, parts, chunk):
    path = tmp_path_factory.mktemp("w") / "out.json"
    old, fsutil.PIECES = fsutil.PIECES, chunk  # small chunks: many batch boundaries
    try:
        fsutil.atomic_write(path, parts)
    finally:
        fsutil.PIECES = old
    assert path.read_bytes() == joined(parts)


def test_pieces_go_through_a_fifo_in_order(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        parts = ["{", "é" * 10, b"\x00bytes", "}\n"]
        fsutil.atomic_write(fifo, parts)
        assert os.read(reader, 1000) == joined(parts)
    finally:
        os.close(reader)


def test_a_piece_that_cannot_be_encoded_leaves_the_old_file(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    try:
        fsutil.atomic_write(path, ["new", "\udcff"])  # a lone surrogate: not UTF-8
    except UnicodeEncodeError:
        pass
    else:
        raise AssertionError("a lone surrogate was written")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left


def test_read_regular_reads_a_large_file_whole(tmp_path):
    path = tmp_path / "big.bin"
    data = os.urandom(3 << 20)
    path.write_bytes(data)
    assert fsutil.read_regular(path) == data
    assert fsutil.read_regular("/proc/self/status").startswith(b"Name:")  # size 0 in stat, not empty


def test_only_a_durable_write_waits_for_the_disk(tmp_path, monkeypatch):
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(fsutil.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    fsutil.atomic_write(tmp_path / "ledger", "recorded\n")  # the default: a record
    assert len(synced) == 2  # the file, then its folder (the rename)
    synced.clear()
    fsutil.atomic_write(tmp_path / "report.json", ["{", "}\n"], durable=False)
    assert synced == [] and (tmp_path / "report.json").read_text() == "{}\n"
