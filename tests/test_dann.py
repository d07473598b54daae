"""DANN (lecture §5.5): what it trains on (never the target labels), the reversal between G_f and
G_d, the source-only twin, the metrics, the figure, and a short run."""
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import minigen as mg
from minigen import data, models
from minigen.models.dann import DANN, derangement, pca_2d, plot_feature_pca

TINY = {"channels": (4, 4), "hidden": 8, "domain_hidden": 8}


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 300), seed=st.integers(0, 10))
def test_derangement_is_a_permutation_without_fixed_points(n, seed):
    sigma = derangement(n, seed)
    assert sorted(sigma) == list(range(n))
    assert not np.any(sigma == np.arange(n))


def test_training_arrays_are_source_images_source_labels_and_unpaired_target_images():
    train = data.load("mnistm5k", "train")
    model = models.create("dann", train, **TINY)
    arrays = model.training_arrays(train)
    source, target = data.load_pair("mnistm5k", "train")
    assert len(arrays) == 3
    x_s, y_s, x_t = arrays
    np.testing.assert_array_equal(x_s, source.x)
    np.testing.assert_array_equal(y_s, source.y)
    assert x_t.shape == target.x.shape and x_t.dtype == np.float32
    # the target images, each once, none beside its own source digit
    index = {x.tobytes(): i for i, x in enumerate(target.x)}
    rows = np.array([index[x.tobytes()] for x in x_t])
    assert sorted(rows) == list(range(len(target.x)))
    assert not np.any(rows == np.arange(len(rows)))


def test_training_step_never_reads_target_labels():
    """A batch is (x_s, y_s, x_t); there is nowhere for target labels to enter. Changing the
    target images changes the domain loss, changing nothing else leaves the step unchanged."""
    mg.manual_seed(0)
    model = DANN((3, 28, 28), **TINY)
    optimizers = model.configure_optimizers(0.01)
    model.configure_schedulers(optimizers, 10)
    source, target = data.load_pair("mnistm5k", "test", n=16)
    batch = (mg.tensor(source.x), mg.tensor(source.y), mg.tensor(target.x))
    losses = model.training_step(batch, optimizers, 5)
    assert set(losses) >= {"label", "domain", "source_only", "lambda"}
    assert losses["lambda"] == pytest.approx(2 / (1 + np.exp(-5)) - 1)


def test_reversal_sends_g_d_and_g_f_opposite_ways():
    """One backward pass of the domain loss: G_d's gradient is that of the plain loss, G_f's is
    -lambda times it."""
    mg.manual_seed(0)
    model = DANN((3, 28, 28), **TINY).double()
    x = mg.randn(6, 3, 28, 28, dtype=np.float64)
    d = mg.tensor(np.array([1, 1, 1, 0, 0, 0], np.float64))
    bce = mg.nn.functional.binary_cross_entropy_with_logits
    f = model.adapted.features(x)
    plain = mg.autograd.grad(bce(model.domain(f).reshape(-1), d),
                             list(model.domain.parameters()) + [model.adapted.features.conv1.weight])
    f = model.adapted.features(x)
    reversed_ = mg.autograd.grad(bce(model.domain_logits(f, 0.3), d),
                                 list(model.domain.parameters())
                                 + [model.adapted.features.conv1.weight])
    for g_plain, g_rev in zip(plain[:-1], reversed_[:-1]):
        np.testing.assert_allclose(g_rev.numpy(), g_plain.numpy(), rtol=1e-10)
    np.testing.assert_allclose(reversed_[-1].numpy(), -0.3 * plain[-1].numpy(), rtol=1e-10)


def test_dann_declares_a_classifier_and_evaluates_both_networks():
    model = models.create("dann", "mnistm5k", **TINY)
    models.check_declared(model)
    assert isinstance(model, models.ClassifierModel)
    assert not isinstance(model, models.SamplingModel)
    test = data.load("mnistm5k", "test", n=40)
    with mg.no_grad():
        labels = model.predict(mg.tensor(test.x))
        metrics = model.extra_metrics(test)
    assert labels.shape == (40,) and labels.dtype == np.int64
    assert set(metrics) >= {"target_accuracy", "source_accuracy", "source_only_accuracy",
                            "domain_accuracy"}
    assert all(0.0 <= v <= 1.0 for v in metrics.values())


def test_dann_refuses_a_dataset_that_is_not_a_domain_pair_and_bad_options():
    with pytest.raises(ValueError, match="not one .*mnistm5k"):
        models.create("dann", "mnist5k")
    with pytest.raises(ValueError, match="channels must be two"):
        models.create("dann", "mnistm5k", channels=(4,))
    with pytest.raises(ValueError, match="momentum"):
        models.create("dann", "mnistm5k", momentum=1.5)


def test_pca_projects_every_set_on_the_shared_principal_axes():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 5)) * [10, 3, 0.1, 0.1, 0.1]
    b = rng.normal(size=(30, 5)) * [10, 3, 0.1, 0.1, 0.1] + [0, 0, 0, 0, 0.5]
    pa, pb = pca_2d(a, b)
    assert pa.shape == (50, 2) and pb.shape == (30, 2)
    joined = np.concatenate([pa, pb])
    np.testing.assert_allclose(joined.mean(axis=0), 0, atol=1e-9)
    assert joined[:, 0].var() > joined[:, 1].var() > 1.0     # the two widest directions


def test_feature_figure_is_written(tmp_path):
    model = models.create("dann", "mnistm5k", **TINY)
    source, target = data.load_pair("mnistm5k", "test", n=20)
    path = plot_feature_pca(model, source.x, target.x, str(tmp_path / "features.png"))
    assert (tmp_path / "features.png").stat().st_size > 1000 and path.endswith("features.png")


def test_short_run_reversal_helps_the_target_while_the_source_stays_learnt():
    """150 steps without reversal (lambda = 0: G_y learns the source digits, G_d the domains),
    then 100 with lambda = 0.2: the source accuracy stays high and the target accuracy passes
    the source-only twin's, trained on the same batches. (G_d itself still tells these domains
    apart at this point: colour against grey is easy, see the README.)"""
    from minigen.train import Trainer
    train = data.load("mnistm5k", "train")
    test = data.load("mnistm5k", "test", n=200)
    mg.manual_seed(0)
    model = DANN((3, 28, 28), channels=(8, 16), hidden=32, domain_hidden=32, lambda_max=0.0)
    trainer = Trainer(model, train, batch_size=32, lr=0.05, steps=150)
    for _ in range(150):
        trainer.train_step()
    model.lambda_max = 0.2
    for _ in range(100):
        trainer.train_step()
    with mg.no_grad():
        metrics = model.extra_metrics(test)
    assert metrics["source_accuracy"] >= 0.85
    assert metrics["target_accuracy"] > metrics["source_only_accuracy"] + 0.05
