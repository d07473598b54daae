"""DataLoader: batching, seeded per-epoch shuffling, drop_last, devices and exact resumption."""
import numpy as np
import pytest

from minigen import data
from minigen.data import DataLoader


def _arrays(n=10):
    return np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32), np.arange(n)


def _epoch(loader):
    return [tuple(a.copy() for a in batch) for batch in loader]


def test_batches_cover_every_example_once_per_epoch_with_x_and_y_aligned():
    x, y = _arrays(10)
    loader = DataLoader((x, y), batch_size=4, seed=0)
    batches = _epoch(loader)
    assert [len(b[1]) for b in batches] == [4, 4, 2] and len(loader) == 3
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    for bx, by in batches:
        np.testing.assert_array_equal(bx[:, 0], by)


def test_same_seed_gives_the_same_batches_and_another_seed_does_not():
    x, y = _arrays(50)
    a = _epoch(DataLoader((x, y), batch_size=8, seed=3))
    b = _epoch(DataLoader((x, y), batch_size=8, seed=3))
    c = _epoch(DataLoader((x, y), batch_size=8, seed=4))
    assert all(np.array_equal(p[1], q[1]) for p, q in zip(a, b))
    assert not all(np.array_equal(p[1], q[1]) for p, q in zip(a, c))


def test_each_epoch_has_a_different_order():
    loader = DataLoader(np.arange(50), batch_size=50, seed=0)
    first, second = _epoch(loader)[0][0], _epoch(loader)[0][0]
    assert loader.epoch == 2
    assert not np.array_equal(first, second)
    assert sorted(first) == sorted(second)


def test_shuffle_false_keeps_the_stored_order():
    batches = _epoch(DataLoader(np.arange(7), batch_size=3, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), np.arange(7))


def test_drop_last_drops_the_short_batch_and_len_counts_it():
    loader = DataLoader(np.arange(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(b[0]) for b in loader] == [4, 4]
    assert len(DataLoader(np.arange(8), batch_size=4, drop_last=True)) == 2


def test_drop_last_with_a_batch_larger_than_the_data_is_refused():
    with pytest.raises(ValueError, match="batch_size 16 > 10 examples"):
        DataLoader(np.arange(10), batch_size=16, drop_last=True)


def test_arrays_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match=r"different numbers of examples: \[4, 5\]"):
        DataLoader((np.zeros(4), np.zeros(5)))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(np.zeros(4), batch_size=0)


def test_a_dataset_yields_x_y_pairs_and_an_unlabelled_one_yields_x_alone():
    digits = data.load("digits", "test")
    x, y = next(iter(DataLoader(digits, batch_size=32)))
    assert x.shape == (32, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    batch = next(iter(DataLoader(data.load("swissroll", n=100), batch_size=10)))
    assert len(batch) == 1 and batch[0].shape == (10, 2)


def test_breaking_out_and_iterating_again_continues_the_same_epoch():
    x, y = _arrays(20)
    reference = _epoch(DataLoader((x, y), batch_size=3, seed=1))
    loader = DataLoader((x, y), batch_size=3, seed=1)
    got = []
    for batch in loader:
        got.append(batch)
        if len(got) == 2:
            break
    got += list(loader)
    assert len(got) == len(reference)
    assert all(np.array_equal(p[1], q[1]) for p, q in zip(got, reference))


def test_state_dict_resumes_exactly_mid_epoch_and_across_epochs():
    x, y = _arrays(23)
    straight = DataLoader((x, y), batch_size=5, seed=9)
    stream = straight.forever()
    expected = [next(stream)[1].copy() for _ in range(17)]  # more than three epochs

    first = DataLoader((x, y), batch_size=5, seed=9)
    stream = first.forever()
    got = [next(stream)[1].copy() for _ in range(7)]
    state = first.state_dict()
    assert state["epoch"] == 1 and state["position"] == 2
    assert all(isinstance(v, int) for v in state.values())

    resumed = DataLoader((x, y), batch_size=5, seed=123)  # the seed comes from the state
    resumed.load_state_dict(state)
    stream = resumed.forever()
    got += [next(stream)[1].copy() for _ in range(10)]
    assert all(np.array_equal(p, q) for p, q in zip(got, expected))


def test_state_saved_after_the_last_batch_of_an_epoch_starts_the_next_one():
    loader = DataLoader(np.arange(6), batch_size=3, seed=0)
    it = iter(loader)
    next(it), next(it)
    state = loader.state_dict()
    assert state["position"] == 2
    resumed = DataLoader(np.arange(6), batch_size=3)
    resumed.load_state_dict(state)
    np.testing.assert_array_equal(next(iter(resumed))[0], loader.order(1)[:3])


def test_load_state_dict_refuses_a_different_batching():
    state = DataLoader(np.arange(10), batch_size=5).state_dict()
    with pytest.raises(ValueError, match="batch_size=5, this one has batch_size=4"):
        DataLoader(np.arange(10), batch_size=4).load_state_dict(state)
    with pytest.raises(ValueError, match="num_examples=10, this one has num_examples=11"):
        DataLoader(np.arange(11), batch_size=5).load_state_dict(state)


def test_batches_are_moved_to_the_requested_device():
    batch = next(iter(DataLoader(np.arange(4), batch_size=2, device="cpu")))
    assert isinstance(batch[0], np.ndarray)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        DataLoader(np.arange(4), device="tpu")
