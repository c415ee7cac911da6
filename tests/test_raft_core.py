"""The RAFT assembly core through its binding: rules, determinism, bad input."""

import numpy as np
import pytest

from ragtune import _core


def assemble(**options):
    n_items, n_chunks = options.pop("items", 200), options.pop("chunks", 1000)
    offsets = np.arange(n_items + 1)
    oracles = (np.arange(n_items) * 3) % n_chunks
    return oracles, _core.raft_assemble(n_chunks, offsets, oracles, **options)


@pytest.mark.parametrize("strategy", ["random", "hard", "mixed"])
def test_rules_hold(strategy):
    rng = np.random.default_rng(0)
    candidates = rng.integers(0, 1000, size=(200, 20))
    candidate_offsets = np.arange(0, 201 * 20, 20)
    oracles, out = assemble(strategy=strategy, candidate_offsets=candidate_offsets, candidate_ids=candidates.ravel(),
                            distractors=4, p=0.8, seed=3)
    docs = out["documents"].reshape(200, 5)
    assert int(out["kept_oracle"].sum()) == round(0.8 * 200)
    for i, row in enumerate(docs):
        assert len(set(row)) == 5
        assert (oracles[i] in row) == bool(out["kept_oracle"][i])
    if strategy != "random":
        assert out["hard_used"] > 0


def test_same_seed_same_examples_any_threads():
    _, one = assemble(seed=11, threads=1)
    _, two = assemble(seed=11, threads=2)
    assert (one["documents"] == two["documents"]).all()
    _, other = assemble(seed=12, threads=2)
    assert not (one["documents"] == other["documents"]).all()


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="needs 4 distractors"):
        assemble(chunks=3, items=2)
    with pytest.raises(ValueError, match="hard and mixed sampling need ranked candidates"):
        assemble(strategy="hard")
    with pytest.raises(ValueError, match="strategy must be"):
        assemble(strategy="smart")
    with pytest.raises(ValueError, match="between 0 and 1"):
        assemble(p=1.5)
    with pytest.raises(ValueError, match="offsets must start at 0"):
        _core.raft_assemble(10, np.array([0, 5]), np.array([1, 2]))
    with pytest.raises(ValueError, match="names oracle chunk 99"):
        _core.raft_assemble(10, np.array([0, 1]), np.array([99]))
    with pytest.raises(ValueError, match="one row per chunk"):
        _core.raft_assemble(10, np.array([0, 1]), np.array([1]), minhash=np.zeros((3, 8), dtype=np.uint32))


def test_minhash_near_duplicates():
    base = "the kernel maps pages lazily and frees them when the last reference goes away " * 3
    sig = _core.minhash_signatures([base, base + " indeed", "unrelated text about python dictionaries"], size=128,
                                   shingle=3)
    assert sig.shape == (3, 128) and sig.dtype == np.uint32
    assert (sig[0] == sig[1]).mean() > 0.7 and (sig[0] == sig[2]).mean() < 0.1
