"""Every SIMD kernel on every ISA this CPU runs, against a numpy reference."""

import numpy as np
import pytest

import ragtune
from ragtune import _core
from ragtune.simd import forced_isa

ISAS = ragtune.simd_info()["available"]
SIZES = [0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 1000, 4096, 70001]


def random_bytes(size: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    # Mostly a few ASCII letters and newlines, with UTF-8 lead and continuation bytes.
    alphabet = np.frombuffer(b"ab\n \x80\xbf\xc3\xe2\xf0", dtype=np.uint8)
    return rng.choice(alphabet, size=size).tobytes()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("size", SIZES)
def test_counting_kernels(isa, size):
    data = random_bytes(size, size)
    arr = np.frombuffer(data, dtype=np.uint8)
    with forced_isa(isa):
        assert _core._kernel_count_codepoints(data) == int(np.count_nonzero((arr & 0xC0) != 0x80))
        assert _core._kernel_count_byte(data, 10) == int(np.count_nonzero(arr == 10))
        assert _core._kernel_is_ascii(data) == bool(np.all(arr < 0x80))
        ascii_only = bytes(b & 0x7F for b in data)
        assert _core._kernel_is_ascii(ascii_only) is True


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("needle", [b"a", b"\n\n", b"ab\n", b"\xc3\x80", b"a b\na", b"x"])
def test_find_all_kernel(isa, needle):
    data = random_bytes(5000, 3)
    expected = [i for i in range(len(data) - len(needle) + 1) if data[i : i + len(needle)] == needle]
    with forced_isa(isa):
        assert _core._kernel_find_all(data, needle) == expected
        assert _core._kernel_find_all(data[:3], needle) == [
            i for i in range(max(0, 3 - len(needle) + 1)) if data[i : i + len(needle)] == needle
        ]


def test_forcing_an_isa_the_cpu_lacks_is_refused():
    with pytest.raises(ValueError, match="cannot run"):
        with forced_isa("neon"):
            pass


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dim", [1, 3, 16, 33, 384])
@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_dot_kernels_through_exact_and_graph_search(isa, dim, metric):
    rng = np.random.default_rng(dim)
    x = rng.normal(size=(300, dim)).astype(np.float32)
    q = rng.normal(size=(9, dim)).astype(np.float32)
    expected = q @ x.T if metric == "ip" else -((q[:, None, :] - x[None]) ** 2).sum(-1)
    with forced_isa(isa):
        index = _core.VectorIndex(dim=dim, metric=metric, min_graph_size=100)
        index.put(x, np.arange(300))
        scores, slots = index.search(q, 300, mode="exact", threads=1)
        got = np.zeros_like(expected)
        np.put_along_axis(got, slots, scores, axis=1)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
        # ef 300: every node's neighbours go through the gathered kernel (8, 4 and 1 at a time)
        graph_scores, graph_slots = index.search(q, 5, mode="hnsw", ef=300, threads=1)
        np.testing.assert_allclose(
            graph_scores, np.take_along_axis(expected, graph_slots, axis=1), rtol=1e-4, atol=1e-3
        )
