"""The streaming checkpoint writer (read back by the safetensors package and by
transformers' conventions) and the exact float conversions behind merges."""

import json
import os

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from ragtune import _core


def plan_of(tensors):
    dtypes = {np.float32: "F32", np.float16: "F16", np.int64: "I64", np.uint8: "U8", np.int32: "I32"}
    return [(name, dtypes[value.dtype.type], list(value.shape)) for name, value in tensors.items()]


def sample_tensors():
    rng = np.random.default_rng(1)
    return {
        "a.weight": rng.normal(size=(64, 32)).astype(np.float32),
        "b.bias": rng.normal(size=(17,)).astype(np.float16),
        "c.ids": np.arange(5, dtype=np.int64),
        "d.mask": np.array([1, 0, 1], dtype=np.uint8),
        "e.weight": rng.normal(size=(128, 16)).astype(np.float32),
        "f.count": np.array([7, 8, 9], dtype=np.int32),
    }


def test_single_file_round_trips_through_safetensors(tmp_path):
    tensors = sample_tensors()
    writer = _core.CheckpointWriter(str(tmp_path / "out"), plan_of(tensors), 1 << 40, {"format": "pt"})
    for name, value in reversed(list(tensors.items())):  # any order
        writer.write(name, value)
    assert not (tmp_path / "out").exists()  # nothing is visible before commit
    writer.commit()
    assert sorted(os.listdir(tmp_path / "out")) == ["model.safetensors"]
    loaded = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert set(loaded) == set(tensors)
    for name, value in tensors.items():
        assert loaded[name].dtype == value.dtype and np.array_equal(loaded[name], value)
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # staging folder renamed away


def test_shards_follow_the_size_limit_and_align_every_tensor(tmp_path):
    tensors = sample_tensors()
    writer = _core.CheckpointWriter(str(tmp_path / "out"), plan_of(tensors), 8200, {"format": "pt"})
    for name, value in tensors.items():
        writer.write(name, value)
    writer.commit()
    assert writer.shard_count == 4
    index = json.loads((tmp_path / "out" / "model.safetensors.index.json").read_text())
    assert index["metadata"]["total_size"] == sum(v.nbytes for v in tensors.values())
    assert set(index["weight_map"]) == set(tensors)
    # Greedy in plan order, as transformers shards: a (8192 B) | b, c, d (77 B) | e (8192 B) | f.
    shard_of = index["weight_map"]
    assert shard_of["a.weight"] == "model-00001-of-00004.safetensors"
    assert shard_of["b.bias"] == shard_of["c.ids"] == shard_of["d.mask"] == "model-00002-of-00004.safetensors"
    assert shard_of["e.weight"] == "model-00003-of-00004.safetensors"
    assert shard_of["f.count"] == "model-00004-of-00004.safetensors"
    checkpoint = _core.SafetensorsCheckpoint(str(tmp_path / "out"))
    for name, value in tensors.items():
        assert np.array_equal(checkpoint.read(name), value)
    for shard in set(index["weight_map"].values()):
        f = _core.SafetensorsFile(str(tmp_path / "out" / shard))
        header = int.from_bytes((tmp_path / "out" / shard).read_bytes()[:8], "little")
        assert (8 + header) % 8 == 0
        for t in f.tensors:
            size = {"F32": 4, "F16": 2, "I64": 8, "U8": 1, "I32": 4}[t["dtype"]]
            assert t["data_offsets"][0] % size == 0, t


def test_copy_is_byte_for_byte_and_conversion_rounds_once(tmp_path):
    rng = np.random.default_rng(2)
    source = {"w": rng.normal(size=(300, 70)).astype(np.float32), "ids": np.arange(10, dtype=np.int64)}
    save_file(source, str(tmp_path / "src.safetensors"))
    base = _core.SafetensorsCheckpoint(str(tmp_path / "src.safetensors"))
    writer = _core.CheckpointWriter(str(tmp_path / "same"), [("w", "F32", [300, 70]), ("ids", "I64", [10])],
                                    1 << 40, {})
    writer.copy("w", base, "w")
    writer.copy("ids", base, "ids")
    writer.commit()
    copied = _core.SafetensorsFile(str(tmp_path / "same" / "model.safetensors"))
    assert copied.read("w").tobytes() == source["w"].tobytes()
    writer = _core.CheckpointWriter(str(tmp_path / "bf16"), [("w", "BF16", [300, 70])], 1 << 40, {})
    writer.copy("w", base, "w")
    writer.commit()
    bits = _core.SafetensorsFile(str(tmp_path / "bf16" / "model.safetensors")).read("w")
    expected = torch.from_numpy(source["w"]).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(bits, expected)
    writer = _core.CheckpointWriter(str(tmp_path / "bad"), [("ids", "F32", [10])], 1 << 40, {})
    with pytest.raises(ValueError, match="'ids' is I64 and cannot be converted to F32"):
        writer.copy("ids", base, "ids")


def test_incomplete_or_abandoned_writes_leave_nothing(tmp_path):
    tensors = sample_tensors()
    writer = _core.CheckpointWriter(str(tmp_path / "out"), plan_of(tensors), 1 << 40, {})
    writer.write("a.weight", tensors["a.weight"])
    staging = writer.staging_dir
    assert os.path.isdir(staging) and os.path.basename(staging).startswith(".out.partial-")
    with pytest.raises(ValueError, match="tensor 'b.bias' is incomplete .* nothing was published"):
        writer.commit()
    writer.abort()
    assert not os.path.exists(staging) and not (tmp_path / "out").exists()
    writer = _core.CheckpointWriter(str(tmp_path / "out"), plan_of(tensors), 1 << 40, {})
    staging = writer.staging_dir
    del writer  # dropped without commit: the destructor cleans up
    assert not os.path.exists(staging) and os.listdir(tmp_path) == []


def test_writer_refuses_bad_plans_and_writes(tmp_path):
    (tmp_path / "exists").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):  # an OSError with errno and path
        _core.CheckpointWriter(str(tmp_path / "exists"), [], 100, {})
    with pytest.raises(ValueError, match="planned twice"):
        _core.CheckpointWriter(str(tmp_path / "o"), [("a", "F32", [1]), ("a", "F32", [1])], 100, {})
    with pytest.raises(ValueError, match="overflows 64 bits"):
        _core.CheckpointWriter(str(tmp_path / "o"), [("a", "F32", [2**40, 2**40])], 100, {})
    with pytest.raises(ValueError, match="unknown safetensors dtype 'F12'"):
        _core.CheckpointWriter(str(tmp_path / "o"), [("a", "F12", [1])], 100, {})
    with pytest.raises(FileNotFoundError, match="parent folder does not exist"):
        _core.CheckpointWriter(str(tmp_path / "missing" / "o"), [], 100, {})
    writer = _core.CheckpointWriter(str(tmp_path / "o"), [("a", "F32", [4]), ("b", "I64", [2])], 100, {})
    with pytest.raises(ValueError, match="needs 4 elements, got 3"):
        writer.write("a", np.zeros(3, np.float32))
    with pytest.raises(KeyError, match="'zz' is not in the planned checkpoint"):
        writer.write("zz", np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="planned as I64 but the array's items are 4 bytes"):
        writer.write("b", np.zeros(2, np.int32))
    writer.abort()
    with pytest.raises(ValueError, match="aborted"):
        writer.write("a", np.zeros(4, np.float32))
    assert os.listdir(tmp_path) == ["exists"]


def test_adapter_stem_names_files(tmp_path):
    writer = _core.CheckpointWriter(str(tmp_path / "ad"), [("x", "F32", [2])], 1 << 40, {}, stem="adapter_model")
    writer.write("x", np.ones(2, np.float32))
    writer.commit()
    assert os.listdir(tmp_path / "ad") == ["adapter_model.safetensors"]


def test_float16_conversions_are_exact_for_every_bit_pattern():
    bits = np.arange(65536, dtype=np.uint16)
    half = _core.widen_16(bits, "F16")
    reference = bits.view(np.float16).astype(np.float32)
    finite = ~np.isnan(reference)
    assert np.array_equal(half[finite].view(np.uint32), reference[finite].view(np.uint32))
    assert np.isnan(half[~finite]).all()
    brain = _core.widen_16(bits, "BF16")
    expected = torch.from_numpy(bits.view(np.int16).copy()).view(torch.bfloat16).float().numpy()
    assert np.array_equal(brain.view(np.uint32), expected.view(np.uint32))


def test_rounding_to_16_bits_matches_numpy_and_torch():
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [rng.standard_normal(200_000).astype(np.float32) * np.float32(s) for s in (1e-8, 1e-5, 1.0, 6e4, 1e37)]
        + [rng.integers(0, 2**32, 400_000, dtype=np.uint64).astype(np.uint32).view(np.float32),
           np.array([np.inf, -np.inf, 0.0, -0.0, 65504, 65519.996, 65520, 2.9802322e-08, 5.9604645e-08],
                    np.float32)]
    )
    finite = ~np.isnan(values)
    with np.errstate(over="ignore"):
        half = values.astype(np.float16).view(np.uint16)
    ours = _core.round_float32(values, "F16")
    assert np.array_equal(ours[finite], half[finite])
    assert np.isnan(ours[~finite].view(np.float16)).all()
    brain = torch.from_numpy(values).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    ours = _core.round_float32(values, "BF16")
    assert np.array_equal(ours[finite], brain[finite])
    assert np.isnan(torch.from_numpy(ours[~finite].view(np.int16)).view(torch.bfloat16).float().numpy()).all()


@pytest.mark.parametrize("where", ["disk", "tmpfs"])
def test_streamed_writes_in_file_order_with_and_without_o_direct(tmp_path, where):
    """File order streams each shard through O_DIRECT; tmpfs refuses O_DIRECT and the
    writer stays buffered. Odd sizes check the padded last block is cut back."""
    if where == "tmpfs":
        if not os.path.isdir("/dev/shm"):
            pytest.skip("no tmpfs at /dev/shm")
        import tempfile

        root = tempfile.mkdtemp(dir="/dev/shm")
    else:
        root = str(tmp_path)
    rng = np.random.default_rng(5)
    tensors = {f"t{i}": rng.normal(size=(int(n),)).astype(np.float32) for i, n in enumerate([3, 5_000_001, 77, 4096])}
    out = os.path.join(root, "out")
    writer = _core.CheckpointWriter(out, plan_of(tensors), 1 << 40, {"format": "pt"})
    for name in writer.file_order:
        writer.write(name, tensors[name])
    writer.commit()
    loaded = load_file(os.path.join(out, "model.safetensors"))
    for name, value in tensors.items():
        assert np.array_equal(loaded[name], value)
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "model.safetensors"), "rb") as handle:
        header = int.from_bytes(handle.read(8), "little")
    assert size == 8 + header + sum(v.nbytes for v in tensors.values())
    if where == "tmpfs":
        import shutil

        shutil.rmtree(root)
