"""Classifier-based scores of generated samples: Inception Score (lecture §1.7) and the class
accuracy of class-conditional samples.

Both read the predictions p(y|x) of a pretrained classifier on generated images x. The lecture uses
the Inception network on ImageNet; on minigen's small datasets the caller supplies a classifier for
that dataset, so scores compare models evaluated with the same classifier, never with published
Inception values.
"""

import numpy as np
from scipy.special import rel_entr

from ._validation import as_probabilities, to_numpy


def inception_score(probs, splits=10):
    """Inception Score from class-probability rows p(y|x_i) (lecture §1.7; Salimans et al. 2016).

        IS = exp( E_x KL(p(y|x) || p(y)) ),   p(y) = E_x p(y|x)   (the marginal over the split),

    computed separately on ``splits`` consecutive, near-equal chunks of the N rows (as in the original
    implementation: rows i*N//splits .. (i+1)*N//splits), returning ``(mean, std)`` over the chunks
    (std with ddof=0). 1 <= IS <= number of classes: confident and diverse predictions score high;
    the same prediction for every x scores 1.

    ``probs`` has shape (N, C), each row >= 0 and summing to 1; N >= splits >= 1.
    """
    probs = as_probabilities(probs, "probs")
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape (N, C), but has shape {probs.shape}.")
    n = probs.shape[0]
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be between 1 and N = {n} (probs shape {probs.shape}), got {splits}.")
    scores = []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        # KL(p(y|x) || p(y)) with p(y) = S / m (S the column sums of the m rows) is written as
        # rel_entr(m p(y|x), S) / m, so a tiny p(y) never underflows to 0 under a positive p(y|x).
        m = part.shape[0]
        column_sums = part.sum(axis=0, keepdims=True)
        scores.append(np.exp(rel_entr(m * part, column_sums).sum(axis=1).mean() / m))
    return float(np.mean(scores)), float(np.std(scores))


def class_accuracy(predictions, intended_labels):
    """Fraction of conditional samples that the classifier assigns to the class they were drawn for.

        accuracy = (1/N) sum_i [argmax_c p(c | x_i) = y_i],   x_i ~ p_model(x | y_i)

    A standard check of conditional generators (e.g. the classification accuracy of AC-GAN, Odena et
    al. 2017; conditional GANs, lecture §5.1). ``predictions`` is either (N,) integer labels or (N, C) scores
    (probabilities or logits: only the argmax is used); ``intended_labels`` is (N,) integers.
    """
    predictions = np.asarray(to_numpy(predictions))
    intended = np.asarray(to_numpy(intended_labels))
    if intended.ndim != 1 or intended.shape[0] == 0:
        raise ValueError(f"intended_labels must be a non-empty 1-D array, but has shape {intended.shape}.")
    if predictions.ndim == 2:
        predicted = np.argmax(predictions, axis=1)
    elif predictions.ndim == 1:
        if not np.all(np.equal(np.mod(predictions, 1), 0)):
            raise ValueError(
                f"1-D predictions (shape {predictions.shape}) must be integer class labels."
            )
        predicted = predictions
    else:
        raise ValueError(
            f"predictions must be labels of shape (N,) or scores of shape (N, C), "
            f"but has shape {predictions.shape}."
        )
    if predicted.shape[0] != intended.shape[0]:
        raise ValueError(
            f"predictions has shape {predictions.shape} but intended_labels has shape {intended.shape}; "
            "they need the same number N of samples."
        )
    return float(np.mean(predicted == intended))
