"""What a training run leaves in its directory: config.json, checkpoint.npz and the pictures."""
import json
import os

import numpy as np
import pytest

import minigen as mg
from minigen.train import RunError, load_run, plots, train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) of a PNG file, read from its IHDR chunk; asserts the file is a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "g")
    summary = train("gaussian", data="ring8", steps=40, seed=3, out=out, progress=False)
    return out, summary


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "d")
    train("gaussian", data="digits", steps=5, out=out, progress=False)
    return out


def test_a_run_directory_holds_config_checkpoint_and_pictures(toy_run):
    out, summary = toy_run
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "config.json", "loss.png", "samples.png"]
    assert summary["finished"] and summary["step"] == 40 and summary["out"] == out


def test_config_json_records_everything_needed_to_rebuild_and_compare_the_run(toy_run):
    out, _ = toy_run
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert config["model"] == "gaussian" and config["data"] == "ring8"
    assert config["options"] == {"dequantize": True}
    assert (config["seed"], config["steps"], config["step"]) == (3, 40, 40)
    assert (config["batch_size"], config["lr"]) == (256, 0.05)   # the model's toy defaults
    assert config["device"] == "cpu" and config["finished"] is True
    assert config["versions"]["minigen"] == mg.__version__
    assert config["versions"]["numpy"] == np.__version__
    assert config["train_seconds"] > 0


@pytest.mark.parametrize("name", ["loss.png", "samples.png"])
def test_pictures_are_pngs_of_a_readable_size(toy_run, image_run, name):
    for out in (toy_run[0], image_run):
        width, height = png_size(os.path.join(out, name))
        assert 300 <= width <= 2000 and 150 <= height <= 2000
        assert os.path.getsize(os.path.join(out, name)) > 5000


def test_load_run_gives_back_the_trained_weights_in_eval_mode(toy_run):
    out, _ = toy_run
    model, config = load_run(out)
    assert not model.training and config["model"] == "gaussian"
    from minigen.train import load_checkpoint
    saved = load_checkpoint(os.path.join(out, "checkpoint.npz"))["model"]
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), saved[key].numpy())


def test_training_the_same_seed_twice_gives_the_same_weights(tmp_path):
    for name in ("a", "b"):
        train("gaussian", data="digits", steps=4, seed=5, out=str(tmp_path / name), progress=False)
    a, b = load_run(str(tmp_path / "a"))[0], load_run(str(tmp_path / "b"))[0]
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_an_existing_run_is_not_overwritten_without_force(toy_run, tmp_path):
    out = str(tmp_path / "g")
    train("gaussian", data="ring8", steps=2, out=out, progress=False)
    with pytest.raises(RunError, match="--resume.*--force"):
        train("gaussian", data="ring8", steps=2, out=out, progress=False)
    (tmp_path / "g" / "metrics.json").write_text("{}")
    train("gaussian", data="ring8", steps=3, out=out, force=True, progress=False)
    assert not (tmp_path / "g" / "metrics.json").exists()     # stale metrics go with the old run
    assert load_run(out)[1]["steps"] == 3


def test_unknown_names_and_bad_numbers_are_run_errors(tmp_path):
    with pytest.raises(RunError, match="unknown model 'gausian'.*gaussian"):
        train("gausian", out=str(tmp_path / "x"))
    with pytest.raises(RunError, match="unknown dataset 'ring9'.*ring8"):
        train("gaussian", data="ring9", out=str(tmp_path / "x"))
    with pytest.raises(RunError, match="no option.*depth.*dequantize"):
        train("gaussian", data="ring8", options={"depth": 2}, out=str(tmp_path / "x"))
    with pytest.raises(RunError, match="batch size must be an integer >= 1"):
        train("gaussian", data="ring8", batch_size=0, out=str(tmp_path / "x"))


def test_smooth_is_the_trailing_moving_average():
    values = np.random.default_rng(0).normal(size=30)
    expected = [values[max(0, i - 4):i + 1].mean() for i in range(30)]
    np.testing.assert_allclose(plots.smooth(values, 5), expected, rtol=1e-12)
    np.testing.assert_array_equal(plots.smooth(values, 1), values)


def test_image_grid_places_each_image_in_its_cell():
    images = np.stack([np.full((1, 2, 3), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    grid = plots.image_grid(images, ncols=2, pad=1)
    assert grid.shape == (2 * 3 + 1, 2 * 4 + 1, 1)
    assert grid[1:3, 1:4].max() == 0.0 and np.all(grid[1:3, 5:8] == 0.5)
    assert np.all(grid[4:6, 1:4] == 1.0)
    assert np.all(grid[0] == 1.0) and np.all(grid[4:6, 5:8] == 1.0)   # padding and empty cell


def test_conditional_grids_get_one_labelled_row_per_class(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, size=(6, 3, 4, 4)).astype(np.float32)
    labels = np.repeat(np.arange(3), 2)
    path = plots.plot_images(images, str(tmp_path / "c.png"), labels=labels, title="rows")
    assert png_size(path)[0] > 100
