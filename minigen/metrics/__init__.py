"""Evaluation metrics for generative models (lecture §1.4 divergences, §1.7 sample quality).

Pure NumPy/SciPy and independent of the rest of minigen, so metrics can be computed on any arrays
(model samples, classifier features, torch outputs) and checked against reference implementations.
All inputs are converted to float64; errors are ``ValueError`` sentences naming the shapes involved.

    divergences       kl_divergence, js_divergence, kl_gaussian, kl_gaussian_diag, kl_monte_carlo
    wasserstein       wasserstein_1d, sliced_wasserstein
    fid               frechet_distance, fid_from_features, feature_statistics, trace_sqrt_product
    kid               kernel_inception_distance, mmd2_unbiased, polynomial_kernel
    scores            inception_score, class_accuracy
    precision_recall  precision_recall
    coverage          mode_coverage
    classifier        load_classifier, fid_floor, kid_floor (the feature networks; minigen.nn code,
                      so imported on first use, not with this package)
"""

from .coverage import mode_coverage
from .divergences import js_divergence, kl_divergence, kl_gaussian, kl_gaussian_diag, kl_monte_carlo
from .fid import feature_statistics, fid_from_features, frechet_distance, trace_sqrt_product
from .kid import kernel_inception_distance, mmd2_unbiased, polynomial_kernel
from .precision_recall import precision_recall
from .scores import class_accuracy, inception_score
from .wasserstein import sliced_wasserstein, wasserstein_1d

__all__ = [
    "class_accuracy",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "js_divergence",
    "kernel_inception_distance",
    "kl_divergence",
    "kl_gaussian",
    "kl_gaussian_diag",
    "kl_monte_carlo",
    "mmd2_unbiased",
    "mode_coverage",
    "polynomial_kernel",
    "precision_recall",
    "sliced_wasserstein",
    "trace_sqrt_product",
    "wasserstein_1d",
]


_CLASSIFIER_API = ("load_classifier", "fid_floor", "kid_floor")


def __getattr__(name):
    # the feature networks need minigen.nn; load them only when asked for
    if name in _CLASSIFIER_API:
        from . import classifier
        return getattr(classifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
