"""Input checks shared by the metrics.

Every metric turns its inputs into float64 NumPy arrays first: scores are reported to students and
instructors, so they are computed in double precision whatever dtype the model produced. Errors are
``ValueError`` sentences that name the argument, its shape and what was expected.
"""

import numpy as np

# Probability vectors coming out of a float32 softmax sum to 1 only up to round-off.
PROBABILITY_ATOL = 1e-4


def to_numpy(x):
    """Return ``x`` as a host NumPy array (accepts tensors with ``.numpy()`` and CuPy arrays)."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.split(".")[0] == "cupy":
        return x.get()
    if hasattr(x, "numpy") and callable(x.numpy):
        return np.asarray(x.numpy())
    return np.asarray(x)


def as_float_array(x, name, ndim=None):
    """Convert ``x`` to a float64 array, optionally requiring ``ndim`` dimensions and finite values."""
    arr = np.asarray(to_numpy(x), dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, but has shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} (shape {arr.shape}) contains NaN or infinite values.")
    return arr


def as_samples(x, name, min_samples=1):
    """Convert ``x`` to an (N, D) float64 array of N samples; a 1-D array is read as N scalars."""
    arr = as_float_array(x, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D) or (N,), but has shape {arr.shape}.")
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} needs at least {min_samples} samples, but has shape {arr.shape}."
        )
    return arr


def check_same_dim(x, y, x_name, y_name):
    """Require two (N, D) sample arrays to share the feature dimension D."""
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"{x_name} has shape {x.shape} and {y_name} has shape {y.shape}; "
            f"their feature dimensions ({x.shape[1]} vs {y.shape[1]}) must match."
        )


def check_same_shape(x, y, x_name, y_name):
    if x.shape != y.shape:
        raise ValueError(
            f"{x_name} has shape {x.shape} but {y_name} has shape {y.shape}; they must match."
        )


def as_probabilities(p, name, atol=PROBABILITY_ATOL):
    """Check that the last axis of ``p`` holds probability vectors: entries >= 0 that sum to 1."""
    arr = as_float_array(p, name)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} must have a non-empty last axis of probabilities, shape {arr.shape}.")
    if np.any(arr < 0):
        raise ValueError(
            f"{name} (shape {arr.shape}) has negative entries (min {arr.min():.3g}); "
            "probabilities must be >= 0."
        )
    sums = arr.sum(axis=-1)
    worst = np.max(np.abs(sums - 1.0))
    if worst > atol:
        raise ValueError(
            f"{name} (shape {arr.shape}) must sum to 1 along its last axis, "
            f"but a sum is off by {worst:.3g}."
        )
    return arr


def as_mean_and_covariance(mu, cov, mu_name, cov_name, rtol, atol):
    """``mu`` (d,) and ``cov`` (d, d) as float64 arrays; ``cov`` must be symmetric to within
    ``rtol`` and ``atol`` times max(1, max |cov|). Returns (mu, cov) unchanged otherwise."""
    mu = as_float_array(mu, mu_name, ndim=1)
    cov = as_float_array(cov, cov_name, ndim=2)
    d = mu.shape[0]
    if cov.shape != (d, d):
        raise ValueError(
            f"{cov_name} has shape {cov.shape} but {mu_name} has shape {mu.shape}; "
            f"expected a ({d}, {d}) covariance."
        )
    scale = max(1.0, float(np.abs(cov).max(initial=0.0)))
    if not np.allclose(cov, cov.T, rtol=rtol, atol=atol * scale):
        raise ValueError(f"{cov_name} (shape {cov.shape}) must be a symmetric covariance matrix.")
    return mu, cov
