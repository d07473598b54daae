"""Mode coverage on the 2-D toy mixtures ring8 and grid25 (VEEGAN, Srivastava et al. 2017, and
PacGAN, Lin et al. 2018, synthetic-data experiments; mode collapse in lecture §4.9-§4.10).

The toys are mixtures of Gaussians with known centres mu_k and standard deviation sigma, so mode
collapse can be counted directly. VEEGAN defines, and PacGAN reuses:

  * a sample x is *high quality* if it lies within three standard deviations of its nearest centre,
        min_k ||x - mu_k|| <= 3 sigma;
  * the *number of modes captured* is the number of mixture components whose centre is the nearest
    centre of at least one high-quality sample.

VEEGAN draws 2,500 samples per model; PacGAN's reference code (``MetricLogger`` in
synthetic_data_experiments) counts a mode when its count of high-quality samples is non-zero.
A single stray sample then "covers" a mode: a unimodal Gaussian fitted to ring8 covers half of
its modes that way. So minigen's default asks for a fair minimum instead: a mode is covered when
it holds at least a fifth of the high-quality samples it would get if every mode were hit equally
often, ceil(N / (5 K)) — 20 of 2,500 samples on grid25. ``min_count=1`` gives the bare count of
the reference code.
"""

import numpy as np

from ._validation import as_float_array, as_samples, check_same_dim


def mode_coverage(samples, centers, sigma, threshold=3.0, min_count=None):
    """Modes captured and share of high-quality samples (the VEEGAN / PacGAN quantities).

        nearest(x)   = argmin_k ||x - mu_k||
        hq(x)        = [ ||x - mu_nearest(x)|| <= threshold * sigma ]       (threshold = 3)
        count_k      = #{ x : hq(x) and nearest(x) = k }
        modes_covered = #{ k : count_k >= min_count }     (default min_count = ceil(N / (5 K)))
        hq_fraction  = (1/N) sum_x hq(x)

    ``samples`` (N, D), ``centers`` (K, D), ``sigma`` > 0 the per-coordinate standard deviation of
    every mode. Returns a dict with ``modes_covered`` (int), ``num_modes`` (K), ``hq_fraction``
    (float), ``mode_counts`` (list of K ints, the count_k above) and ``min_count`` (the bar
    used); all plain Python values, ready for metrics.json.
    """
    samples = as_samples(samples, "samples")
    centers = as_float_array(centers, "centers", ndim=2)
    check_same_dim(samples, centers, "samples", "centers")
    sigma, threshold = float(sigma), float(threshold)
    if not sigma > 0 or not threshold > 0:
        raise ValueError(f"sigma and threshold must be > 0, got sigma={sigma}, threshold={threshold}.")
    if min_count is None:
        min_count = max(1, int(np.ceil(samples.shape[0] / (5 * centers.shape[0]))))
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}.")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = np.argmin(distances, axis=1)
    high_quality = distances[np.arange(samples.shape[0]), nearest] <= threshold * sigma
    counts = np.bincount(nearest[high_quality], minlength=centers.shape[0])
    return {
        "modes_covered": int(np.sum(counts >= min_count)),
        "num_modes": int(centers.shape[0]),
        "hq_fraction": float(np.mean(high_quality)),
        "mode_counts": counts.tolist(),
        "min_count": int(min_count),
    }
