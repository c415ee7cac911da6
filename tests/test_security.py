"""Security review, as tests: no code path unpickles or evaluates data; folder
indexing stays inside the folder; crafted files are refused; hostile input cannot
make ragtune allocate memory it was not given (RELIABILITY.md lists the limits)."""

from __future__ import annotations

import ast
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import ragtune
from ragtune import _core
from ragtune.cli.files import iter_documents

PACKAGE = Path(ragtune.__file__).parent
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "joblib", "cloudpickle"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}


def test_no_pickle_marshal_or_eval_anywhere_in_the_package():
    offences = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                offences += [
                    f"{path.name}: import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES
                ]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                offences.append(f"{path.name}: from {node.module} import")
            elif isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if isinstance(node.func, ast.Name) and name in FORBIDDEN_CALLS:  # re.compile is fine
                    offences.append(f"{path.name}:{node.lineno}: {name}()")
                if (
                    name == "load"
                    and isinstance(node.func, ast.Attribute)
                    and getattr(node.func.value, "id", "") == "torch"
                ):
                    offences.append(f"{path.name}:{node.lineno}: torch.load()")
                for keyword in node.keywords:
                    if keyword.arg == "allow_pickle" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                    ):
                        offences.append(f"{path.name}:{node.lineno}: allow_pickle")
    assert not offences, offences
    for source in (PACKAGE.parent.parent / "cpp").rglob("*.cpp"):
        text = source.read_text(encoding="utf-8")
        assert "system(" not in text and "popen(" not in text, source


def test_folder_indexing_stays_inside_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the password is swordfish")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "guide.md").write_text("# Guide\n\nHello.")
    (docs / "sub" / "inner.txt").write_text("inside")
    os.symlink(outside / "secret.txt", docs / "link.txt")                  # a file link leaving the folder
    os.symlink(docs / "guide.md", docs / "sub" / "alias.md")                # a link that stays inside
    os.symlink(outside, docs / "outside-dir")                               # a directory link leaving it
    os.symlink(docs, docs / "sub" / "loop")                                 # a loop
    names = [name for name, _ in iter_documents(docs)]
    assert names == ["guide.md", "sub/alias.md", "sub/inner.txt"]
    followed = [name for name, _ in iter_documents(docs, follow_links=True)]
    assert "link.txt" in followed  # only when asked
    result = subprocess.run([sys.executable, "-m", "ragtune", "chunk", str(docs), "--json"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and json.loads(result.stdout)["documents"] == 3


def test_oversized_documents_are_skipped_with_a_note(tmp_path, capsys):
    (tmp_path / "small.txt").write_text("fine")
    (tmp_path / "huge.txt").write_bytes(b"x" * 2_000_001)
    assert [n for n, _ in iter_documents(tmp_path, max_bytes=2_000_000)] == ["small.txt"]
    assert "huge.txt" in capsys.readouterr().err


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("make, match", [
    # a pickle (what torch.save writes) renamed to .safetensors
    (lambda: pickle.dumps({"weight": [1.0, 2.0]}, protocol=4), "header|JSON|length"),
    # a zip (torch's default format) renamed
    (lambda: zip_bytes(), "header|JSON|length"),
    # a valid safetensors file with a second payload appended (a polyglot)
    (lambda: safetensors_bytes() + b"PK\x03\x04 more data", "holds 22 bytes but the tensors cover 8"),
    # a header padded with a zip after the JSON object
    (lambda: header_with_trailer(), "JSON"),
    # a header that claims 90 MB in a 200-byte file
    (lambda: struct.pack("<Q", 90 << 20) + b"{}" + b" " * 190, "past the end"),
    # a header that claims 2^63 bytes
    (lambda: struct.pack("<Q", 1 << 63) + b"{}", "above the limit"),
])
def test_crafted_safetensors_are_refused(tmp_path, make, match):
    with pytest.raises(ValueError, match=match):
        _core.SafetensorsFile(write(tmp_path / "model.safetensors", make()))


def safetensors_bytes() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"\0" * 8


def header_with_trailer() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode() + b"PK\x03\x04"
    return struct.pack("<Q", len(header)) + header + b"\0" * 8


def zip_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": 1}))
    return buffer.getvalue()


HOSTILE = r"""
import json, resource, struct, sys
from pathlib import Path
from ragtune import _core
from ragtune import Index
from ragtune.embeddings import HashingEmbeddings
work = Path(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
refused = 0
# safetensors: a header claiming 99 MB, a file claiming 2^20 tensors of 2^40 elements
(work / "a.safetensors").write_bytes(struct.pack("<Q", 99 << 20) + b"{}")
huge = {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 1 << 42]}
header = json.dumps({f"t{i}": huge for i in range(3)}).encode()
(work / "b.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
# BM25: a document at slot 2^31 - 2 in a 60-byte file
(work / "bm25.bin").write_bytes(b"RAGTBM25" + struct.pack("<QffQQIII", 1, 1.5, 0.75, 0, 1, 2**31 - 2, 0, 0))
for path in ("a.safetensors", "b.safetensors"):
    try:
        _core.SafetensorsFile(str(work / path))
    except ValueError:
        refused += 1
try:
    _core.BM25Index.load(str(work / "bm25.bin"), slot_limit=10)
except ValueError as error:
    refused += "slot is out of range" in str(error)
# an index whose manifest claims 10^15 slots
index = Index(embedding=HashingEmbeddings(dim=8))
index.add(["a", "b"])
snapshot = index.save(work / "ix")
manifest = json.loads((snapshot / "manifest.json").read_text())
manifest["settings"]["slots"] = 10**15
(snapshot / "manifest.json").write_text(json.dumps(manifest))
try:
    Index.load(work / "ix", embedding=HashingEmbeddings(dim=8))
except ValueError:
    refused += 1
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"refused": refused, "grew_kb": after - before}))
"""


def test_hostile_sizes_do_not_allocate(tmp_path):
    result = subprocess.run([sys.executable, "-c", HOSTILE, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["refused"] == 4
    assert report["grew_kb"] < 64 * 1024, report  # peak memory grew by less than 64 MB
