"""CycleGAN (lecture §5.4): cycle and identity losses, the image pool, unpaired batches, and a
short run in which the cycle error falls."""
import numpy as np
import pytest

import minigen as mg
from minigen import data, models
from minigen.models.cyclegan import CycleGAN, ImagePool, cycle_loss, identity_loss
from minigen.nn import Identity


def _images(n, seed=0, shape=(1, 8, 8)):
    return mg.tensor(np.random.default_rng(seed).uniform(-1, 1, (n,) + shape).astype(np.float32))


def test_identity_generators_give_zero_cycle_and_identity_loss():
    a, b = _images(4, 0), _images(4, 1)
    assert cycle_loss(a, b, Identity(), Identity()).item() == 0.0
    assert identity_loss(a, b, Identity(), Identity()).item() == 0.0


def test_cycle_loss_is_the_mean_l1_of_both_round_trips():
    a, b = _images(4, 0), _images(4, 1)
    half, double = (lambda x: 0.5 * x), (lambda x: 3.0 * x)
    expected = np.mean(np.abs(1.5 * a.numpy() - a.numpy())) + np.mean(np.abs(1.5 * b.numpy()
                                                                             - b.numpy()))
    assert cycle_loss(a, b, half, double).item() == pytest.approx(expected, rel=1e-6)


def test_image_pool_stores_while_filling_then_returns_a_stored_image_about_half_the_time():
    mg.manual_seed(0)
    pool = ImagePool((1, 2, 2), size=50)
    first = mg.tensor(np.arange(50, dtype=np.float32).reshape(50, 1, 1, 1) * np.ones((1, 2, 2),
                                                                                  np.float32))
    np.testing.assert_array_equal(pool.query(first).numpy(), first.numpy())
    np.testing.assert_array_equal(pool.images.numpy(), first.numpy())
    returned_stored = 0
    for k in range(2000):       # one new fake at a time (the paper's batch of 1), each unseen
        stored_before = pool.images.numpy()[:, 0, 0, 0].copy()
        out = pool.query(mg.full((1, 1, 2, 2), 1000.0 + k)).numpy()[0, 0, 0, 0]
        if out != 1000.0 + k:
            assert out in stored_before            # a stored image, really
            assert 1000.0 + k in pool.images.numpy()   # and the new fake took its place
            returned_stored += 1
        else:
            np.testing.assert_array_equal(pool.images.numpy()[:, 0, 0, 0], stored_before)
    assert 0.45 < returned_stored / 2000 < 0.55     # 1/2, within ~4.5 standard deviations


def test_image_pool_is_part_of_the_state_dict():
    model = models.create("cyclegan", "mnist5k-inverted", base=2, blocks=1, disc_base=2)
    keys = model.state_dict().keys()
    assert {"pool_a.images", "pool_a.count", "pool_b.images", "pool_b.count"} <= set(keys)


@pytest.mark.parametrize("name", ["mnist5k-inverted", "mnist5k-bold", "mnistm5k"])
def test_training_batches_never_pair_example_i_of_a_with_example_i_of_b(name):
    train = data.load(name, "train")
    model = models.create("cyclegan", train, base=2, blocks=1, disc_base=2)
    arrays = model.training_arrays(train)
    assert len(arrays) == 2          # images of A and of B: no labels
    source, target = data.load_pair(name, "train")
    index_a = {x.tobytes(): i for i, x in enumerate(source.x)}
    index_b = {x.tobytes(): i for i, x in enumerate(target.x)}
    loader = data.DataLoader(arrays, batch_size=64, seed=3)
    pairs = [(index_a[a.tobytes()], index_b[b.tobytes()]) for a_batch, b_batch in loader
             for a, b in zip(a_batch, b_batch)]
    assert len(pairs) == len(source.x)
    i, j = np.array(pairs).T
    assert not np.any(i == j)
    assert sorted(j) == list(range(len(target.x)))      # every B image is still used


def test_cyclegan_declares_translation_and_two_players():
    model = models.create("cyclegan", "mnist5k-inverted", base=2, blocks=1, disc_base=2)
    models.check_declared(model)
    assert isinstance(model, models.TranslationModel) and isinstance(model, models.AdversarialModel)
    x = _images(3, shape=(1, 28, 28))
    assert model.translate(x, "AB").shape == (3, 1, 28, 28)
    assert model.discriminator["D_B"](x).shape == (3, 1, 7, 7)     # one score per patch
    with pytest.raises(ValueError, match="direction must be one of AB, BA"):
        model.translate(x, "AA")


def test_cyclegan_refuses_a_dataset_that_is_not_a_domain_pair():
    with pytest.raises(ValueError, match="not one .*mnist5k-inverted"):
        models.create("cyclegan", "mnist5k")
    with pytest.raises(ValueError, match="identity_weight"):
        models.create("cyclegan", "mnist5k-inverted", identity_weight=-1.0)


def test_short_run_lowers_the_cycle_error_of_held_out_images():
    from minigen.train import Trainer
    mg.manual_seed(0)
    train = data.load("mnist5k-inverted", "train", n=256)
    model = CycleGAN((1, 28, 28), (1, 28, 28), base=4, blocks=1, disc_base=4)
    source, target = data.load_pair("mnist5k-inverted", "test", n=32)

    def cycle_error():
        with mg.no_grad():
            model.eval()
            a, b = mg.tensor(source.x), mg.tensor(target.x)
            error = cycle_loss(a, b, model.G, model.F).item()
            model.train()
            return error
    before = cycle_error()
    trainer = Trainer(model, train, batch_size=8, lr=2e-3, steps=40)
    losses = [trainer.train_step()["cycle"] for _ in range(40)]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert cycle_error() < 0.7 * before


@pytest.mark.parametrize("name", ["mnist5k-inverted", "mnist5k-bold", "mnistm5k"])
def test_shipped_target_domain_classifier_reads_its_domain_as_stored(name):
    """The judge of class_accuracy: its own classifier (scripts/train_classifiers.py), at least
    97% on the test split, the number stored with the weights."""
    from minigen.metrics import classifier
    judge = classifier.for_dataset(name)
    test = data.load(name, "test")
    accuracy = float(np.mean(judge.predict(test.x) == test.y))
    assert accuracy >= 0.97
    assert accuracy == pytest.approx(classifier.stored_floors(name)["test_accuracy"], abs=1e-9)


@pytest.mark.parametrize("name", ["mnist5k-inverted", "mnist5k-bold", "mnistm5k"])
def test_metrics_of_a_perfect_translator_are_the_judges_accuracy_and_no_cycle_error(name):
    """A translator that returns each image's stored partner (the true translation, never seen
    in training) keeps every digit: class_accuracy is then the target classifier's own test
    accuracy, class_accuracy_BA the source classifier's (mnistm5k's grey side is read grey), and
    the cycle error is zero."""
    from minigen.metrics import classifier
    test = data.load(name, "test")
    source, target = data.load_pair(name, "test")
    model = models.create("cyclegan", test, base=2, blocks=1, disc_base=2)
    partner = {"AB": {a.tobytes(): b for a, b in zip(source.x, target.x)},
               "BA": {b.tobytes(): a for a, b in zip(source.x, target.x)}}
    model.translate = lambda t, direction: mg.tensor(
        np.stack([partner[direction][x.tobytes()] for x in t.numpy()]))
    metrics = model.extra_metrics(test)
    assert metrics["cycle_error"] == 0.0
    assert metrics["class_accuracy"] == pytest.approx(
        classifier.stored_floors(target.name)["test_accuracy"], abs=1e-9)
    grey = source.x.mean(axis=1, keepdims=True) if source.x.shape[1] == 3 else source.x
    judge = classifier.for_dataset(source.name)
    assert metrics["class_accuracy_BA"] == pytest.approx(
        float(np.mean(judge.predict(grey) == source.y)), abs=1e-9)
    assert metrics["class_accuracy_BA"] >= 0.97
