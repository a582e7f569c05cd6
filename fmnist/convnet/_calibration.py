"""Temperature scaling of predicted probabilities, and how to measure it.

A network trained with label smoothing is under-confident: it learns to give
the right class about ``1 - label_smoothing``, however sure it is. One
number corrects that: a temperature ``T`` that rescales the log
probabilities, ``p_i ** (1 / T)`` renormalised (Guo et al., "On Calibration
of Modern Neural Networks", 2017). It is applied to the probabilities after
test-time augmentation has averaged them, so it never changes which class is
largest, and it is fitted by minimising the log loss on images the network
did not train on.
"""

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = [
    "TEMPERATURE_BOUNDS",
    "apply_temperature",
    "expected_calibration_error",
    "fit_temperature",
]

#: The range a fitted temperature is kept in: a held-out set that the network
#: gets all right would otherwise drive it to 0 (certainty).
TEMPERATURE_BOUNDS = (0.05, 20.0)


def _log(proba):
    return np.log(np.maximum(proba, np.finfo(np.float64).tiny))


def apply_temperature(proba, temperature):
    """``proba ** (1 / temperature)``, each row renormalised to sum to one.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Probabilities; rows sum to one.
    temperature : float
        Above 1 flattens the rows, below 1 sharpens them; 1 returns them
        as they are.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), dtype float64
    """
    proba = np.asarray(proba, dtype=np.float64)
    if temperature == 1.0:
        return proba.copy()
    z = _log(proba) / temperature
    z -= z.max(axis=1, keepdims=True)
    scaled = np.exp(z)
    scaled /= scaled.sum(axis=1, keepdims=True)
    return scaled


def _log_loss(proba, y, temperature):
    z = _log(proba) / temperature
    z -= z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


def fit_temperature(proba, y):
    """The temperature that minimises the log loss of ``proba`` on ``y``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Probabilities of images the network did not train on.
    y : ndarray of shape (n_samples,)
        Their classes, as column indices of ``proba``.

    Returns
    -------
    float
        Within :data:`TEMPERATURE_BOUNDS`. The log loss is convex in
        ``1 / T``, so the bounded search finds its minimum.
    """
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    low, high = TEMPERATURE_BOUNDS
    result = minimize_scalar(
        lambda inverse: _log_loss(proba, y, 1.0 / inverse),
        bounds=(1.0 / high, 1.0 / low),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.clip(1.0 / result.x, low, high))


def expected_calibration_error(proba, y, n_bins=15):
    """Expected calibration error of the top probability, and its table.

    The top probabilities are put in ``n_bins`` equal-width bins of [0, 1];
    the error is the mean, weighted by the bins' counts, of the gap between
    each bin's accuracy and its mean top probability.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
    y : ndarray of shape (n_samples,)
        Classes, as column indices of ``proba``.
    n_bins : int, default=15

    Returns
    -------
    ece : float
    table : list of dict
        One entry per non-empty bin: its range, count, mean top probability
        and accuracy.
    """
    proba = np.asarray(proba)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1]), 0, n_bins - 1)
    table, ece = [], 0.0
    for b in range(n_bins):
        mask = bins == b
        if not mask.any():
            continue
        gap = abs(correct[mask].mean() - confidence[mask].mean())
        ece += mask.mean() * gap
        table.append(
            {
                "bin": f"{edges[b]:.3f}-{edges[b + 1]:.3f}",
                "count": int(mask.sum()),
                "mean_confidence": float(confidence[mask].mean()),
                "accuracy": float(correct[mask].mean()),
            }
        )
    return float(ece), table
