"""A full disk is an OSError (errno 28, naming the file) from every writer, never an
"internal error", and the last good state survives: index save, sync, LoRA merge,
and the CLI's exit code 3."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import numpy as np
import pytest
from disks import small_disk
from test_lora_errors import make_adapter, make_base

from ragtune import HashingEmbeddings, Index
from ragtune.lora import merge


def small_index(count: int) -> Index:
    index = Index(embedding=HashingEmbeddings(dim=64), exact_below=0)
    index.add([f"text {i}" for i in range(count)], ids=[f"d{i}" for i in range(count)])
    return index


def test_index_save_on_a_full_disk_is_an_oserror_and_keeps_the_last_snapshot(tmp_path):
    with small_disk(tmp_path, 600 * 1024) as disk:
        small_index(50).save(disk / "ix")
        with pytest.raises(OSError) as raised:
            small_index(3000).save(disk / "ix")  # vectors, graph and BM25 do not fit
        assert raised.value.errno == errno.ENOSPC and "snapshot-000002.tmp" in str(raised.value.filename)
        assert len(Index.load(disk / "ix")) == 50


def test_sync_on_a_full_disk_leaves_the_saved_index_as_before(tmp_path):
    with small_disk(tmp_path, 600 * 1024) as disk:
        index = Index(embedding=HashingEmbeddings(dim=64), exact_below=0)
        index.sync({"a.md": "alpha beta"}, path=disk / "ix")
        big = {f"doc{i}.md": f"document {i} " * 40 for i in range(600)}
        with pytest.raises(OSError) as raised:
            index.sync(big, path=disk / "ix")
        assert raised.value.errno == errno.ENOSPC
        reloaded = Index.load(disk / "ix")
        assert [h.text for h in reloaded.get(reloaded.ids())] == ["alpha beta"]


def test_a_merge_onto_a_full_disk_is_an_oserror_and_leaves_nothing(tmp_path):
    base = make_base(tmp_path / "base", **{"model.embed.weight": np.ones((512, 1024), np.float32)})
    adapter = make_adapter(tmp_path / "adapter")
    with small_disk(tmp_path, 1024 * 1024) as disk:
        with pytest.raises(OSError) as raised:
            merge(base, adapter, disk / "merged", progress=False)
        assert raised.value.errno == errno.ENOSPC
        assert os.listdir(disk) == []  # the staging folder is gone, no partial output


def test_the_cli_reports_a_full_disk_as_a_file_error(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(300):
        (docs / f"doc{i}.md").write_text(f"Document {i} about topic {i % 7}. " * 30, encoding="utf-8")
    with small_disk(tmp_path, 400 * 1024) as disk:
        result = subprocess.run([sys.executable, "-m", "ragtune", "index", str(docs), "--out", str(disk / "ix"),
                                 "--embedder", "hashing"], capture_output=True, text=True, timeout=300,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert result.returncode == 3, result.stderr
        assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
        assert "internal error" not in result.stderr
        assert not (disk / "ix" / "CURRENT").exists()


def test_rescoring_rows_on_a_full_disk_are_an_oserror_and_the_index_keeps_its_vectors(tmp_path, monkeypatch):
    """The float32 rows of rescore=True live in a temporary file: space is reserved before
    anything is written (a write into a hole of a full disk through a mapping would be SIGBUS)."""
    with small_disk(tmp_path, 700 * 1024) as disk:  # room for the first 1,024 rows' reservation
        monkeypatch.setenv("TMPDIR", str(disk))
        index = Index(embedding=HashingEmbeddings(dim=64), vector_dtype="int8", rescore=True, exact_below=10**9)
        index.add([f"text {i}" for i in range(100)], ids=[f"d{i}" for i in range(100)])
        before = [(h.id, h.score) for h in index.search("text 7", k=10)]
        with pytest.raises(OSError) as raised:
            index.add([f"more {i}" for i in range(5000)])  # 5,100 x 64 floats do not fit
        assert raised.value.errno == errno.ENOSPC
        assert len(index) == 100 and [(h.id, h.score) for h in index.search("text 7", k=10)] == before
        index.add(["one more"], ids=["x"])  # the slots the failed add took are free again
        assert len(index) == 101
