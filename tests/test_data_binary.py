"""The binarized sets: each pixel of the grey image drawn once as Bernoulli(intensity), with a
fixed stream, so the same binary images come back on every load, in the grey set's split."""
import os
import subprocess
import sys

import numpy as np
import pytest

from minigen import data
from minigen.data import binary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name, grey, levels", [("digits-binary", "digits", 17),
                                                ("mnist5k-binary", "mnist5k", 256)])
def test_binary_set_is_a_bernoulli_draw_of_the_grey_set_in_the_same_split(name, grey, levels):
    for split in ("train", "test"):
        b, g = data.load(name, split), data.load(grey, split)
        assert b.levels == 2 and b.x.shape == g.x.shape and b.x.dtype == np.float32
        assert set(np.unique(b.x)) == {-1.0, 1.0}
        np.testing.assert_array_equal(b.y, g.y)
        k = data.to_levels(g.x, levels)
        ones = data.to_levels(b.x, 2) == 1
        assert np.all(ones[k == levels - 1]) and not np.any(ones[k == 0])   # u < 1, u >= 0
        middle = (k > 0) & (k < levels - 1)
        # the draw is Bernoulli(k / (levels - 1)): ones among grey pixels match their intensity
        intensity = k[middle] / (levels - 1)
        assert abs(ones[middle].mean() - intensity.mean()) < 4 * np.sqrt(
            (intensity * (1 - intensity)).sum()) / middle.sum()


def test_binary_images_are_drawn_once_and_identical_on_every_load():
    binary._all_images.cache_clear()
    first = data.load("digits-binary", "train").x.copy()
    binary._all_images.cache_clear()
    np.testing.assert_array_equal(first, data.load("digits-binary", "train").x)


def test_the_uniform_stream_is_pcg64s_raw_words_scaled_to_53_bits():
    words = np.random.PCG64(binary.BINARIZE_SEED).random_raw(5)
    u = binary.uniforms(5)
    assert np.all((u >= 0) & (u < 1))
    np.testing.assert_array_equal(u, (words >> np.uint64(11)) / 2.0 ** 53)
    image = np.array([[0, 1, 2]], dtype=np.uint8)
    np.testing.assert_array_equal(binary.binarize(image, 3), (u[:3] < [0, 0.5, 1])[None])


def test_binary_sets_are_listed_by_the_command_line():
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", "minigen", "list"], capture_output=True,
                         text=True, env=env, cwd=ROOT, check=True).stdout
    for name in ("digits-binary", "mnist5k-binary"):
        assert name in out
        assert "2 levels" in data.describe(name)
