"""Gaps found by the acceptance review of the engine, layers and harness issues, each pinned by a
test: torch's dtypes where minigen used NumPy's, torch call forms, and mistakes that must end in
one sentence naming what was wrong (never a NumPy or tempfile message from deep inside, never a
traceback from the command line, never a lost run)."""
import os
import shutil

import numpy as np
import pytest
import torch

import minigen as mg
import minigen.nn.functional as F
from oracle import assert_close
from test_cli import assert_one_sentence_error, run_cli

from minigen.train import train


# ------------------------------------------------------------------------------ tensor creation
def test_a_ragged_nested_list_is_refused_in_a_sentence():
    with pytest.raises(ValueError, match="nested sequences have different lengths"):
        mg.tensor([[1.0, 2.0], [3.0]])


def test_arange_with_step_zero_is_a_value_error_naming_the_step():
    with pytest.raises(ValueError, match="step must be nonzero"):
        mg.arange(0, 5, 0)


def test_randint_takes_torchs_high_and_size_form():
    mg.manual_seed(0)
    x = mg.randint(5, (200,))
    assert x.shape == tuple(torch.randint(5, (200,)).shape) and x.dtype == np.int64
    assert x.numpy().min() >= 0 and x.numpy().max() <= 4 and len(set(x.numpy())) == 5


