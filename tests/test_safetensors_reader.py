"""The safetensors reader against files written by the safetensors package itself,
and hostile files that must be refused with a clear error."""

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from ragtune import _core


def write_raw(path, header: dict | bytes, data: bytes = b"", length: int | None = None):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return str(path)


def test_reads_what_safetensors_writes(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {
        "model.layers.0.q_proj.weight": rng.normal(size=(8, 4)).astype(np.float32),
        "half": rng.normal(size=(3, 5)).astype(np.float16),
        "ids": np.arange(7, dtype=np.int64),
        "mask": np.array([True, False]),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "scalar": np.array(3.5, dtype=np.float64),
    }
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt"})
    f = _core.SafetensorsFile(str(path))
    assert f.metadata == {"format": "pt"} and f.file_size == path.stat().st_size
    assert {t["name"] for t in f.tensors} == set(tensors)
    for name, value in tensors.items():
        got = f.read(name)
        assert got.dtype == value.dtype and got.shape == value.shape and np.array_equal(got, value)
    np.testing.assert_array_equal(f.read_float32("half"), tensors["half"].astype(np.float32))
    with pytest.raises(KeyError, match="no tensor named 'nope'"):
        f.read("nope")
    with pytest.raises(TypeError, match="read_float32 converts"):
        f.read_float32("ids")


def test_bf16_converts_exactly(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as save_torch

    values = torch.tensor([[1.0, -2.5, 3.140625], [1e-3, 65504.0, -0.0]], dtype=torch.bfloat16)
    path = tmp_path / "bf16.safetensors"
    save_torch({"w": values}, str(path))
    got = _core.SafetensorsFile(str(path)).read_float32("w")
    np.testing.assert_array_equal(got, values.float().numpy())


@pytest.mark.parametrize(
    ("header", "data", "length", "match"),
    [
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, None, "past the end"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 12, None, "cover 8"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, None, "needs 8"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
          "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, b"\0" * 6, None, "overlap"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
          "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, b"\0" * 12, None, "hole"),
        ({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}}, b"\0", None, "unsupported dtype 'Q4'"),
        ({"a": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 0]}}, b"", None, "overflows"),
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, None, "non-negative"),
        ({"a": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, None, "needs dtype, shape and data_offsets"),
        ({"__metadata__": {"k": 1}}, b"", None, "not a string"),
        (b"[1, 2]", b"", None, "not a JSON object"),
        (b"{not json", b"", None, "not valid JSON"),
        (b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
         b'"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}', b"\0\0", None, "duplicate tensor name 'a'"),
        ({}, b"", 2**40, "above the limit"),
        ({}, b"", 10**6, "past the end of the file"),
    ],
)
def test_hostile_files_are_refused(tmp_path, header, data, length, match):
    path = write_raw(tmp_path / "bad.safetensors", header, data, length)
    with pytest.raises(ValueError, match=match):
        _core.SafetensorsFile(path)


def test_tiny_and_missing_files(tmp_path):
    (tmp_path / "tiny").write_bytes(b"\1\2")
    with pytest.raises(ValueError, match="shorter than the 8-byte header"):
        _core.SafetensorsFile(str(tmp_path / "tiny"))
    with pytest.raises(OSError, match="cannot open"):
        _core.SafetensorsFile(str(tmp_path / "missing"))


def write_sharded(folder, tensors: dict, shards: int = 2):
    """A sharded checkpoint laid out as Hugging Face saves one."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(tensors)
    weight_map = {}
    for s in range(shards):
        shard = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s::shards]}
        save_file(part, str(folder / shard))
        weight_map.update(dict.fromkeys(part, shard))
    total = sum(v.nbytes for v in tensors.values())
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return weight_map


def test_sharded_checkpoint_reads_every_tensor(tmp_path):
    rng = np.random.default_rng(1)
    tensors = {f"layers.{i}.weight": rng.normal(size=(4, 3)).astype(np.float32) for i in range(7)}
    weight_map = write_sharded(tmp_path / "ckpt", tensors, shards=3)
    ckpt = _core.SafetensorsCheckpoint(str(tmp_path / "ckpt"))
    assert sorted(ckpt.names) == sorted(tensors) and len(ckpt.shard_names) == 3
    assert ckpt.metadata["total_size"] == str(sum(v.nbytes for v in tensors.values()))
    for name, value in tensors.items():
        assert ckpt.shard_of(name) == weight_map[name]
        np.testing.assert_array_equal(ckpt.read(name), value)
    single = tmp_path / "single"
    single.mkdir()
    save_file(tensors, str(single / "model.safetensors"))
    assert sorted(_core.SafetensorsCheckpoint(str(single)).names) == sorted(tensors)
    with pytest.raises(KeyError, match="no tensor named"):
        ckpt.read("missing")


@pytest.mark.parametrize("damage", ["escape", "unassigned", "missing", "not-json", "empty-folder"])
def test_inconsistent_sharded_checkpoints_are_refused(tmp_path, damage):
    tensors = {f"w{i}": np.ones(2, dtype=np.float32) * i for i in range(4)}
    folder = tmp_path / "ckpt"
    weight_map = write_sharded(folder, tensors)
    index = folder / "model.safetensors.index.json"
    if damage == "escape":
        weight_map["w0"] = "../outside.safetensors"
    elif damage == "unassigned":
        del weight_map["w0"]
    elif damage == "missing":
        weight_map["ghost"] = next(iter(weight_map.values()))
    if damage in ("escape", "unassigned", "missing"):
        index.write_text(json.dumps({"weight_map": weight_map}))
    elif damage == "not-json":
        index.write_text("{")
    else:
        folder = tmp_path / "nothing"
        folder.mkdir()
    match = {"escape": "outside the checkpoint folder", "unassigned": "does not assign", "missing": "missing from",
             "not-json": "not valid JSON", "empty-folder": "holds neither"}[damage]
    with pytest.raises(ValueError, match=match):
        _core.SafetensorsCheckpoint(str(folder))
