"""The command line, run as a user would (a subprocess), on real documents."""

import json
import os
import subprocess
import sys

from corpora import PYTHON_DOCS


def ragtune(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "ragtune", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_info_and_chunk():
    info = ragtune("info", "--json")
    assert info.returncode == 0 and json.loads(info.stdout)["simd"]["active"]
    chunk = ragtune("chunk", str(PYTHON_DOCS / "faq"), "--json", "--chunk-size", "500")
    summary = json.loads(chunk.stdout)
    assert summary["documents"] == len(list((PYTHON_DOCS / "faq").glob("*.rst.txt"))) and summary["chunks"] > 100


def test_index_then_query_with_citations(tmp_path):
    out = tmp_path / "ix"
    built = ragtune("index", str(PYTHON_DOCS / "faq"), "--out", str(out), "--embedder", "hashing", "--json")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["chunks"] > 100
    answer = ragtune("query", str(out), "How do I make a Python script executable on Unix?", "--embedder",
                     "hashing", "--json", "-k", "3")
    assert answer.returncode == 0, answer.stderr
    hits = json.loads(answer.stdout)[0]["hits"]
    assert len(hits) == 3 and hits[0]["citation"].startswith("faq/") and ":" in hits[0]["citation"]
    text = ragtune("query", str(out), "executable script", "--embedder", "hashing", "--mode", "bm25")
    assert "faq/library.rst.txt:" in text.stdout


def test_errors_are_messages_not_tracebacks(tmp_path):
    missing = ragtune("query", str(tmp_path / "nothing"), "q")
    assert missing.returncode == 2 and "ragtune index" in missing.stderr and "Traceback" not in missing.stderr
    empty = ragtune("index", str(tmp_path), "--out", str(tmp_path / "ix"))
    assert empty.returncode == 2 and "no .txt/.md/.rst/.html documents" in empty.stderr
    bad = ragtune("chunk", str(PYTHON_DOCS / "faq"), "--chunk-size", "0")
    assert bad.returncode == 2 and "chunk_size must be >= 1" in bad.stderr


def test_merge_command_on_smollm2(tmp_path, smollm2, models):
    merged = ragtune("merge", str(smollm2), str(models("plain")), str(tmp_path / "m"), "--dtype", "bf16",
                     "--shard-size", "100MB")
    assert merged.returncode == 0, merged.stderr
    assert "60 tensors merged, 212 copied" in merged.stdout and "3 shards" in merged.stdout
    assert "merging" in merged.stderr  # the progress bar
    report = json.loads(ragtune("merge", str(smollm2), str(models("plain")), str(models("second")),
                                str(tmp_path / "two"), "--weights", "0.5", "0.5", "--json").stdout)
    assert report["merged"] == 60 and report["shards"] == 1 and report["bytes_written"] > 500e6
    failed = ragtune("merge", str(smollm2), str(models("plain")), str(tmp_path / "m"))
    assert failed.returncode == 2 and "already exists" in failed.stderr and "Traceback" not in failed.stderr
