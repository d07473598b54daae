"""mg.save / mg.load as a specification: nested checkpoints round-trip exactly (structure, key
types, dtypes, Tensor vs array), a model's state_dict survives the trip and loads back, writes
are atomic, nothing is pickled, and bad files give errors that name the path."""
import os

import numpy as np
import pytest

import minigen as mg
import minigen.nn as nn
import minigen.serialization as serialization


def test_a_nested_checkpoint_round_trips_with_its_structure_and_types(tmp_path):
    obj = {
        "model": {"w": mg.tensor(np.arange(6.0).reshape(2, 3)), "count": mg.tensor(np.int64(3))},
        "optimizer": {"state": {0: {"step": 4, "exp_avg": np.ones(3, dtype=np.float32)}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1]}]},
        "step": 7, "name": "vae", "done": False, "best": None, "loss": float("inf"),
        "mask": np.array([True, False]), "seed": np.int64(5),
    }
    path = tmp_path / "ckpt.npz"
    mg.save(obj, path)
    back = mg.load(path)
    assert list(back) == list(obj)
    assert isinstance(back["model"]["w"], mg.Tensor) and back["model"]["w"].dtype == np.float64
    np.testing.assert_array_equal(back["model"]["w"].numpy(), obj["model"]["w"].numpy())
    assert back["model"]["count"].dtype == np.int64 and back["model"]["count"].item() == 3
    state = back["optimizer"]["state"]
    assert list(state) == [0] and state[0]["step"] == 4  # int keys stay ints
    assert isinstance(state[0]["exp_avg"], np.ndarray) and state[0]["exp_avg"].dtype == np.float32
    assert back["optimizer"]["param_groups"] == [{"lr": 1e-3, "betas": (0.9, 0.999),
                                                  "params": [0, 1]}]
    assert (back["step"], back["name"], back["done"], back["best"]) == (7, "vae", False, None)
    assert back["loss"] == float("inf") and back["seed"] == 5
    assert back["mask"].dtype == bool and back["mask"].tolist() == [True, False]


def test_a_model_state_dict_round_trips_and_reloads_into_a_fresh_model(tmp_path):
    def model():
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(),
                             nn.LSTM(4, 3, batch_first=True))

    mg.manual_seed(0)
    trained = model()
    trained[1](mg.randn(4, 2, 3, 3))  # move the running statistics
    path = tmp_path / "model.npz"
    mg.save({"model": trained.state_dict(), "step": 7}, str(path))
    checkpoint = mg.load(str(path))
    mg.manual_seed(1)
    fresh = model()
    fresh.load_state_dict(checkpoint["model"])
    for key, value in trained.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key].numpy(), value.numpy(), key)
        assert fresh.state_dict()[key].dtype == value.dtype
    assert checkpoint["step"] == 7


def test_parameters_and_requires_grad_survive(tmp_path):
    p = nn.Parameter(mg.ones(2))
    t = mg.ones(2, requires_grad=True)
    mg.save([p, t, mg.ones(2)], tmp_path / "t.npz")
    back = mg.load(tmp_path / "t.npz")
    assert isinstance(back[0], nn.Parameter) and back[0].requires_grad
    assert type(back[1]) is mg.Tensor and back[1].requires_grad
    assert not back[2].requires_grad


def test_save_is_atomic_a_failing_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    mg.save({"step": 1}, path)
    original = path.read_bytes()

    def failing_write(file, arrays, structure):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        mg.save({"step": 2}, path)
    assert path.read_bytes() == original
    assert mg.load(path) == {"step": 1}
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # the temporary file was removed


def test_nothing_is_pickled(tmp_path):
    with pytest.raises(TypeError, match="cannot store 'object' objects"):
        mg.save({"x": object()}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="Python objects"):
        mg.save({"x": np.array([{}, 1], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"dict keys must be str or int.*obj\['a'\]"):
        mg.save({"a": {(1, 2): 3}}, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
    # a file holding a pickled object array is refused on load
    np.savez(tmp_path / "evil.npz", x=np.array([{}], dtype=object))
    with pytest.raises(RuntimeError, match="evil.npz"):
        mg.load(tmp_path / "evil.npz")


def test_missing_and_corrupt_files_give_errors_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        mg.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(RuntimeError, match="bad.npz"):
        mg.load(bad)
    good = tmp_path / "good.npz"
    mg.save({"w": mg.ones(100)}, good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(RuntimeError, match="truncated.npz"):
        mg.load(truncated)


def test_a_plain_npz_loads_as_a_dict_of_tensors(tmp_path):
    np.savez(tmp_path / "w.npz", weight=np.eye(2), bias=np.zeros(2))
    back = mg.load(tmp_path / "w.npz")
    assert set(back) == {"weight", "bias"} and isinstance(back["weight"], mg.Tensor)
    layer = nn.Linear(2, 2)
    layer.load_state_dict(back)
    np.testing.assert_array_equal(layer.weight.numpy(), np.eye(2))


def test_save_and_load_through_open_files(tmp_path):
    with open(tmp_path / "f.npz", "wb") as f:
        mg.save({"a": mg.zeros(3)}, f)
    with open(tmp_path / "f.npz", "rb") as f:
        assert mg.load(f)["a"].shape == (3,)


def test_save_into_a_missing_folder_or_onto_a_folder_names_the_users_path(tmp_path):
    missing = str(tmp_path / "nowhere" / "x.npz")
    with pytest.raises(FileNotFoundError, match="folder .*nowhere.* does not exist"):
        mg.save({"a": 1}, missing)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        mg.save({"a": 1}, str(tmp_path))
    assert os.listdir(tmp_path) == []  # no temporary file is left behind
