"""Specification of the feature classifiers of the image metrics (minigen/metrics/classifier.py).

The shipped weights are checked as a product: they classify the test splits well, their features
and probabilities have the documented form, the network computes the documented architecture
(torch with the same weights as the oracle), the stored floors are what the data give, and the
metrics read in this feature space separate real images from corrupted ones.
"""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from minigen import data
from minigen.metrics import classifier, fid_from_features, inception_score
from minigen.metrics import kernel_inception_distance

DATASETS = ["mnist5k", "digits"]
FEATURE_DIM = {"mnist5k": 128, "digits": 64}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def real():
    """Per dataset: train/test splits and their features and probabilities (computed once)."""
    out = {}
    for name in DATASETS:
        train, test = data.load(name, "train"), data.load(name, "test")
        model = classifier.load_classifier(name)
        out[name] = {"model": model, "train": train, "test": test,
                     "phi_train": model.features(train.x), "phi_test": model.features(test.x),
                     "probs_test": model.class_probs(test.x)}
    return out


def _noisy(x, sigma, seed=0):
    noise = np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)
    return np.clip(x + sigma * noise, -1, 1)


@pytest.mark.parametrize("name", DATASETS)
def test_shipped_classifier_reaches_97_percent_on_the_test_split(real, name):
    r = real[name]
    accuracy = np.mean(r["probs_test"].argmax(axis=1) == r["test"].y)
    assert accuracy >= 0.97
    # the script measured the same weights on the same split (one image may flip by round-off)
    stored = classifier.stored_floors(name)["test_accuracy"]
    assert abs(accuracy - stored) <= 1.0 / len(r["test"].y) + 1e-12


@pytest.mark.parametrize("name", DATASETS)
def test_features_are_nonnegative_float64_of_the_documented_width(real, name):
    phi = real[name]["phi_test"]
    assert phi.shape == (len(real[name]["test"].x), FEATURE_DIM[name])
    assert phi.dtype == np.float64 and np.all(phi >= 0)  # ReLU outputs, like Inception's pool3
    np.testing.assert_allclose(classifier.features(real[name]["test"].x[:5], name), phi[:5],
                               rtol=1e-4, atol=1e-5)  # float32 sums depend on the batch size


def test_features_accept_tensors_and_float64_arrays(real):
    import minigen as mg
    x, phi = real["digits"]["test"].x[:10], real["digits"]["phi_test"][:10]
    for same in (mg.tensor(x), x.astype(np.float64)):
        np.testing.assert_allclose(classifier.features(same, "digits"), phi, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", DATASETS)
def test_class_probs_rows_are_probability_distributions_over_the_classes(real, name):
    probs = real[name]["probs_test"]
    assert probs.shape == (len(real[name]["test"].x), 10) and probs.dtype == np.float64
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(real[name]["model"].predict(real[name]["test"].x),
                                  probs.argmax(axis=1))


@pytest.mark.parametrize("name", DATASETS)
def test_features_do_not_depend_on_batching_or_on_the_module_mode(real, name):
    model, x = real[name]["model"], real[name]["test"].x[:40]
    model.train()  # features() must still use BatchNorm's running statistics and no dropout
    try:
        small_batches = model.features(x, batch_size=7)
        assert model.training  # and it gives the mode back
    finally:
        model.eval()
    np.testing.assert_allclose(small_batches, real[name]["phi_test"][:40], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", DATASETS)
def test_stored_floors_equal_the_train_vs_test_scores_recomputed(real, name):
    r = real[name]
    floors = classifier.stored_floors(name)
    assert (floors["n_train"], floors["n_test"]) == (len(r["train"].x), len(r["test"].x))
    fid = fid_from_features(r["phi_train"], r["phi_test"])
    assert fid == pytest.approx(classifier.fid_floor(name), rel=1e-3)
    kid, _ = kernel_inception_distance(r["phi_train"], r["phi_test"])
    assert kid == pytest.approx(classifier.kid_floor(name), rel=1e-3, abs=1e-5)
    assert inception_score(r["probs_test"], splits=1)[0] == pytest.approx(
        floors["inception_score_test"], rel=1e-4)


@pytest.mark.parametrize("name", DATASETS)
def test_noisy_test_images_score_far_above_the_floor_and_worse_with_more_noise(real, name):
    r = real[name]
    floor = classifier.fid_floor(name)
    fids = [fid_from_features(r["phi_test"], r["model"].features(_noisy(r["test"].x, sigma)))
            for sigma in (0.25, 0.5)]
    assert floor < fids[0] < fids[1]
    assert fids[1] > 10 * floor


@pytest.mark.parametrize("name", DATASETS)
def test_dropping_half_of_the_classes_is_seen_by_fid_and_inception_score(real, name):
    """Mode dropping, the GAN failure these metrics exist to catch: real images of digits 0-4
    only are still sharp, yet FID rises well above the floor and IS falls towards 5."""
    r = real[name]
    half = r["test"].y < 5
    fid = fid_from_features(r["phi_train"], r["phi_test"][half])
    assert fid > 5 * classifier.fid_floor(name)
    assert inception_score(r["probs_test"][half], splits=1)[0] < 5.5


@pytest.mark.parametrize("name", DATASETS)
def test_inception_score_of_the_real_test_set_is_near_the_number_of_classes(real, name):
    probs = real[name]["probs_test"]
    assert inception_score(probs, splits=1)[0] > 8.0
    one_class = probs[real[name]["test"].y == 3]  # a collapsed generator that draws only 3s
    assert inception_score(one_class, splits=1)[0] < 1.5


def test_network_computes_the_documented_architecture_as_torch_does(real):
    """The same weights in the same layers of torch give the same features and logits."""
    torch = pytest.importorskip("torch")
    from torch.nn import functional as tF
    model, x = real["digits"]["model"], real["digits"]["test"].x[:64]
    w = {k: torch.from_numpy(np.array(v.numpy())) for k, v in model.state_dict().items()}
    h = torch.from_numpy(x)
    for i, block in enumerate(model.blocks):
        p = f"blocks.{i}."
        h = tF.conv2d(h, w[p + "conv.weight"], padding=1)
        h = tF.relu(tF.batch_norm(h, w[p + "bn.running_mean"], w[p + "bn.running_var"],
                                  w[p + "bn.weight"], w[p + "bn.bias"], eps=block.bn.eps))
        h = tF.max_pool2d(h, 2) if block.pool else h
    h = tF.linear(h.flatten(1), w["fc.weight"])
    phi = tF.relu(tF.batch_norm(h, w["fc_bn.running_mean"], w["fc_bn.running_var"],
                                w["fc_bn.weight"], w["fc_bn.bias"], eps=model.fc_bn.eps))
    logits = tF.linear(phi, w["out.weight"], w["out.bias"])
    np.testing.assert_allclose(real["digits"]["phi_test"][:64], phi.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(real["digits"]["probs_test"][:64],
                               torch.softmax(logits.double(), 1).numpy(), rtol=1e-4, atol=1e-5)


def test_weights_files_are_small_float32_checkpoints():
    import minigen as mg
    for name in DATASETS:
        path = classifier.weights_path(name)
        assert os.path.getsize(path) < 1 << 20
        state = mg.load(path)["state_dict"]
        floats = [v for k, v in state.items() if not k.endswith("num_batches_tracked")]
        assert floats and all(v.dtype == np.float32 for v in floats)


def test_datasets_without_a_classifier_get_none_from_the_hook_and_a_clear_error():
    assert classifier.for_dataset("mnist5k") is classifier.load_classifier("mnist5k")
    assert classifier.for_dataset("mnistm5k").image_shape == (3, 28, 28)
    for name in ("mnist5k-binary", "mnist:/data/fashion", "ring8"):
        assert classifier.for_dataset(name) is None
        with pytest.raises(ValueError, match=r"no feature classifier for .*digits.*mnist5k"):
            classifier.load_classifier(name)


def test_images_of_the_wrong_shape_are_refused_with_the_shapes_named(real):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\).*\(5, 1, 8, 8\)"):
        classifier.features(real["digits"]["test"].x[:5], "mnist5k")
    with pytest.raises(ValueError, match=r"shape \(64,\)"):
        classifier.class_probs(np.zeros(64, dtype=np.float32), "digits")


def test_importing_minigen_metrics_leaves_the_classifier_unloaded():
    code = ("import sys, minigen.metrics as m;"
            " assert 'minigen.metrics.classifier' not in sys.modules;"
            " assert m.fid_floor is sys.modules['minigen.metrics.classifier'].fid_floor")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_training_augmentation_shifts_each_image_by_at_most_the_given_pixels():
    spec = importlib.util.spec_from_file_location(
        "train_classifiers", os.path.join(ROOT, "scripts", "train_classifiers.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    x = -np.ones((50, 1, 12, 12), dtype=np.float32)
    x[:, 0, 5, 6] = 1.0  # one bright pixel, far from the border
    shifted = script.random_shift(x, 2, np.random.default_rng(0))
    assert shifted.shape == x.shape and set(np.unique(shifted)) == {-1.0, 1.0}
    rows, cols = np.nonzero(shifted[:, 0] == 1.0)[1:]
    assert len(rows) == 50  # every image keeps its pixel, moved by dy, dx in -2..2
    moves = set(zip(rows - 5, cols - 6))
    assert moves <= {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)} and len(moves) > 5
