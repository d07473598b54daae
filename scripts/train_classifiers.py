"""Train the feature classifiers of minigen's image metrics and ship their weights.

For each of mnist5k and digits (and the domain targets mnist5k-inverted, mnist5k-bold and
mnistm5k): train the DigitClassifier of minigen/metrics/classifier.py on the train split (cross-entropy, Adam, cosine learning-rate decay, images shifted at random by up to
``shift`` pixels each step), evaluate it on the test split, compute the real-vs-real floors of the
metrics in its feature space for every dataset that uses it (classifier.CLASSIFIER_OF), and save

    {"architecture": ..., "state_dict": ..., "info": {accuracies, floors, training settings}}

atomically with mg.save into minigen/metrics/weights/<name>_classifier.npz (float32).

The schedule is fixed in advance (no early stopping, nothing chosen by test accuracy), so the test
split stays a clean estimate. Same seed, same machine: same weights.

Usage:
    python scripts/train_classifiers.py                  # all five
    python scripts/train_classifiers.py --only digits    # one
    python scripts/train_classifiers.py --out /tmp/w     # elsewhere (the tests read the default)
"""
import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minigen as mg  # noqa: E402
import minigen.nn.functional as F  # noqa: E402
from minigen import data  # noqa: E402
from minigen.metrics import classifier  # noqa: E402

# name -> training settings; epochs and shift chosen so that each run takes a few CPU minutes
SETTINGS = {
    "mnist5k": {"epochs": 15, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "shift": 2},
    "digits": {"epochs": 25, "batch_size": 32, "lr": 2e-3, "weight_decay": 1e-4, "shift": 1},
    # the CycleGAN targets: mnist5k's settings; the inverted page is white, so shifts uncover white
    "mnist5k-inverted": {"epochs": 15, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4,
                         "shift": 2, "background": 1.0},
    "mnist5k-bold": {"epochs": 15, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "shift": 2},
    # the colour target (CycleGAN's third pair, DANN's target): shifts repeat the texture's edge
    "mnistm5k": {"epochs": 15, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4, "shift": 2,
                 "background": "edge"},
}


def random_shift(x, max_shift, rng, background=-1.0):
    """Each image of ``x`` (N, C, H, W) moved by its own (dy, dx), uniform in [-max_shift,
    max_shift]; the uncovered border is ``background`` (-1, black, unless the page is white; "edge"
    repeats the image's border, for textured pages)."""
    if max_shift == 0:
        return x
    n, c, h, w = x.shape
    s = max_shift
    widths = ((0, 0), (0, 0), (s, s), (s, s))
    padded = np.pad(x, widths, mode="edge") if background == "edge" else \
        np.pad(x, widths, constant_values=background)
    views = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
    dy, dx = rng.integers(0, 2 * s + 1, size=(2, n))  # views[:, :, dy, dx] is shifted by s - dy
    return np.ascontiguousarray(views[np.arange(n), :, dy, dx])


def train(name, seed, log=print):
    """Train the classifier of dataset ``name``; (model, info dict)."""
    settings = SETTINGS[name]
    train_set = data.load(name, "train")
    mg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = classifier.build(classifier.ARCHITECTURES[name])
    optimizer = mg.optim.AdamW(model.parameters(), lr=settings["lr"],
                               weight_decay=settings["weight_decay"])
    batch = settings["batch_size"]
    steps_per_epoch = math.ceil(len(train_set.x) / batch)
    schedule = mg.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=settings["epochs"] * steps_per_epoch)
    y_all = train_set.y
    start = time.perf_counter()
    for epoch in range(settings["epochs"]):
        model.train()
        order = rng.permutation(len(train_set.x))
        total, correct = 0.0, 0
        for lo in range(0, len(order), batch):
            idx = order[lo:lo + batch]
            x = mg.tensor(random_shift(train_set.x[idx], settings["shift"], rng,
                                       settings.get("background", -1.0)))
            y = mg.tensor(y_all[idx])
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
            correct += int((logits.data.argmax(axis=1) == y_all[idx]).sum())
        log(f"{name} epoch {epoch + 1:2d}/{settings['epochs']}: loss {total / len(order):.4f}, "
            f"augmented train accuracy {correct / len(order):.4f}, "
            f"{time.perf_counter() - start:.0f} s")
    seconds = time.perf_counter() - start
    model.eval()
    info = dict(settings, dataset=name, seed=seed, train_seconds=seconds,
                train_accuracy=float(np.mean(model.predict(train_set.x) == train_set.y)),
                floors={})
    for dataset, owner in classifier.CLASSIFIER_OF.items():
        if owner == name:
            tr, te = data.load(dataset, "train"), data.load(dataset, "test")
            info["floors"][dataset] = classifier.real_data_scores(model, tr.x, te.x, te.y)
    info["test_accuracy"] = info["floors"][name]["test_accuracy"]
    return model, info


def save(model, info, name, out_dir):
    path = os.path.join(out_dir, os.path.basename(classifier.weights_path(name)))
    arch = dict(classifier.ARCHITECTURES[name])
    mg.save({"architecture": arch, "state_dict": model.state_dict(), "info": info}, path)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SETTINGS), help="train one classifier")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=classifier.WEIGHTS_DIR, help="folder for the .npz files")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name in [args.only] if args.only else list(SETTINGS):
        model, info = train(name, args.seed)
        path = save(model, info, name, args.out)
        print(f"{name}: test accuracy {info['test_accuracy']:.4f} "
              f"(train {info['train_accuracy']:.4f}), "
              f"{info['train_seconds']:.0f} s of training; wrote {path} "
              f"({os.path.getsize(path) / 1024:.0f} KiB)")
        for dataset, floors in info["floors"].items():
            print(f"  {dataset}: " + ", ".join(f"{k} {v:.4g}" for k, v in floors.items()))


if __name__ == "__main__":
    main()
