"""Per-pair distances of the metrics without SIMD tiles, in numba.

Every function has the signature ``distance(x, y, args)``: ``x`` and ``y``
are two rows as contiguous float64 vectors of equal length, ``args`` an
:class:`Arguments` record (weights or variances, a matrix, the Minkowski
power, a scratch vector of the calling thread) that a metric reads or
ignores. Each returns the metric's heap key, a
float64: the distance, or a cheaper value of the same order that the
registry's finishing step turns into the distance (the ``p``-th power for
Minkowski, the square for seuclidean and mahalanobis, the squared half-chord
for haversine). A distance may have a preparation (:data:`PREPARATIONS`),
applied to each row's float64 copy before the pairs: correlation centres
the rows once there instead of in every pair. Where a distance is 0 / 0 the
value is that of the reference scikit-learn uses for dense data (its
``DistanceMetric`` where its brute force uses one, else SciPy's ``cdist``),
NaN included (ranked last).
"""

import math

import numpy as np

from .._kernels._jit import njit
from ._params import Arguments

__all__ = ["PAIR_DISTANCES", "PREPARATIONS", "Arguments", "keep"]


# Division by zero gives inf or NaN, as in NumPy and SciPy, not an exception.
_OPTS = {"nogil": True, "error_model": "numpy"}
# Sums that LLVM may reorder to vectorise them (rounding only: no assumption
# about NaN or infinities), for the distances that are sums over features.
_SUMS = {**_OPTS, "fastmath": {"reassoc", "contract"}}


@njit(**_SUMS)
def weighted_minkowski(x, y, args):
    w = args.vector
    p = args.p
    s = 0.0
    if p == math.floor(p) and p <= 16.0:  # multiplications, not pow
        n = int(p)
        for i in range(x.shape[0]):
            s += w[i] * abs(x[i] - y[i]) ** n
        return s
    for i in range(x.shape[0]):
        s += w[i] * abs(x[i] - y[i]) ** p
    return s


@njit(**_SUMS)
def braycurtis(x, y, args):
    num = 0.0
    den = 0.0
    for i in range(x.shape[0]):
        num += abs(x[i] - y[i])
        den += abs(x[i]) + abs(y[i])
    return num / den if den > 0.0 else 0.0


@njit(**_SUMS)
def canberra(x, y, args):
    s = 0.0
    for i in range(x.shape[0]):
        den = abs(x[i]) + abs(y[i])
        if den > 0.0:
            s += abs(x[i] - y[i]) / den
    return s


@njit(**_SUMS)
def correlation(x, y, args):
    """Rows already centred (:func:`center`)."""
    xy = 0.0
    xx = 0.0
    yy = 0.0
    for i in range(x.shape[0]):
        xy += x[i] * y[i]
        xx += x[i] * x[i]
        yy += y[i] * y[i]
    d = 1.0 - xy / math.sqrt(xx * yy)
    # SciPy clips the rounding errors of (anti)parallel rows; NaN stays NaN.
    return min(max(d, 0.0), 2.0) if d == d else d


@njit(**_SUMS)
def seuclidean(x, y, args):
    v = args.vector
    s = 0.0
    for i in range(x.shape[0]):
        d = x[i] - y[i]
        s += d * d / v[i]
    return s


@njit(**_SUMS)
def mahalanobis(x, y, args):
    vi = args.matrix
    diff = args.scratch
    n = x.shape[0]
    for i in range(n):
        diff[i] = x[i] - y[i]
    s = 0.0
    for i in range(n):
        t = 0.0
        for j in range(n):
            t += vi[i, j] * diff[j]
        s += diff[i] * t
    return s


@njit(**_OPTS)
def haversine(x, y, args):
    a = math.sin(0.5 * (x[0] - y[0]))
    b = math.sin(0.5 * (x[1] - y[1]))
    return a * a + math.cos(x[0]) * math.cos(y[0]) * b * b


@njit(**_OPTS)
def nan_euclidean(x, y, args):
    n = x.shape[0]
    s = 0.0
    present = 0
    for i in range(n):
        d = x[i] - y[i]
        if d == d:  # neither coordinate is missing
            s += d * d
            present += 1
    if present == 0:
        return np.nan
    return math.sqrt(s * n / present)


@njit(**_OPTS)
def hamming(x, y, args):
    differ = 0
    for i in range(x.shape[0]):
        if x[i] != y[i]:
            differ += 1
    return differ / x.shape[0]


@njit(nogil=True, inline="always")
def _truth_table(x, y):
    """``(both, x_only, y_only, neither)``: counts of features nonzero in
    both rows, in ``x`` only, in ``y`` only and in neither."""
    tt = 0
    tf = 0
    ft = 0
    for i in range(x.shape[0]):
        a = x[i] != 0.0
        b = y[i] != 0.0
        if a and b:
            tt += 1
        elif a:
            tf += 1
        elif b:
            ft += 1
    return tt, tf, ft, x.shape[0] - tt - tf - ft


@njit(**_OPTS)
def dice(x, y, args):
    tt, tf, ft, _ = _truth_table(x, y)
    den = 2 * tt + tf + ft
    return (tf + ft) / den if den else np.nan


@njit(**_OPTS)
def jaccard(x, y, args):
    tt, tf, ft, _ = _truth_table(x, y)
    den = tt + tf + ft
    return (tf + ft) / den if den else 0.0


@njit(**_OPTS)
def rogerstanimoto(x, y, args):
    tt, tf, ft, ff = _truth_table(x, y)
    r = 2 * (tf + ft)
    return r / (tt + ff + r)


@njit(**_OPTS)
def russellrao(x, y, args):
    tt, _, _, _ = _truth_table(x, y)
    return (x.shape[0] - tt) / x.shape[0]


@njit(**_OPTS)
def sokalsneath(x, y, args):
    tt, tf, ft, _ = _truth_table(x, y)
    r = 2 * (tf + ft)
    return r / (tt + r) if tt + r else np.nan


@njit(**_OPTS)
def yule(x, y, args):
    tt, tf, ft, ff = _truth_table(x, y)
    half_r = tf * ft
    return 2.0 * half_r / (tt * ff + half_r) if half_r else 0.0


@njit(nogil=True)
def keep(row):
    """The preparation of most distances: none."""


@njit(nogil=True)
def center(row):
    """Subtract its mean from ``row``, in place (correlation)."""
    mean = 0.0
    for i in range(row.shape[0]):
        mean += row[i]
    mean /= row.shape[0]
    for i in range(row.shape[0]):
        row[i] -= mean


#: How the search prepares each row (in its float64 copy) for a distance,
#: where it does: once per row and block instead of once per pair.
PREPARATIONS = {"correlation": center}

#: The per-pair distance of each ``Metric.general`` name.
PAIR_DISTANCES = {
    f.__name__: f
    for f in (
        weighted_minkowski,
        braycurtis,
        canberra,
        correlation,
        seuclidean,
        mahalanobis,
        haversine,
        nan_euclidean,
        hamming,
        dice,
        jaccard,
        rogerstanimoto,
        russellrao,
        sokalsneath,
        yule,
    )
}
