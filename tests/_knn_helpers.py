"""Data and exact reference distances for the kNN tests."""

import numpy as np


def blob_images(n, side, seed, levels=256):
    """Smooth, image-like uint8 rows of ``side * side`` pixels (blobs of
    random place, width and brightness), so that the pruned search's bounds
    prune; ``levels`` grey levels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    centres = rng.uniform(0, side, (n, 2, 1, 1))
    width = rng.uniform(2, side / 2, (n, 1, 1))
    img = np.exp(-((yy - centres[:, 0]) ** 2 + (xx - centres[:, 1]) ** 2) / width**2)
    img = img * rng.uniform(0.2, 1.0, (n, 1, 1)) * (levels - 1)
    return np.round(img).astype(np.uint8).reshape(n, -1)


def exact_distances(X, Y, metric, p=2):
    """All distances from ``X``'s rows to ``Y``'s, from explicit differences:
    exact for integer input (int64), float64 otherwise.

    No matrix product: its rounding depends on the BLAS kernel (AVX2 and
    AVX-512 builds differ) and cancels digits for close rows.
    """
    if metric == "cosine":
        return _exact_cosine(X, Y)
    integer = X.dtype.kind in "iub"
    work = np.int64 if integer else np.float64
    diff = np.abs(X.astype(work)[:, None, :] - Y.astype(work)[None, :, :])
    if metric == "minkowski" and p == 1:
        metric = "manhattan"
    if metric == "minkowski" and p == 2:
        metric = "euclidean"
    if metric == "manhattan":
        return diff.sum(axis=2).astype(np.float64)
    if metric == "sqeuclidean":
        return (diff * diff).sum(axis=2).astype(np.float64)
    if metric == "euclidean":
        return np.sqrt((diff * diff).sum(axis=2).astype(np.float64))
    if metric == "chebyshev":
        return diff.max(axis=2).astype(np.float64)
    return ((diff.astype(np.float64) ** p).sum(axis=2)) ** (1.0 / p)


def _exact_cosine(X, Y):
    """``1 - cos``, as half the squared distance of the rows scaled to unit
    length; exactly 0 for integer rows pointing the same way, 1 against a row
    of zeros."""
    if X.dtype.kind in "iub":  # exact: rows pointing the same way give 0
        A, B = X.astype(np.int64), Y.astype(np.int64)
        dot = A @ B.T
        sq = np.outer((A * A).sum(axis=1), (B * B).sum(axis=1))
        parallel = (dot > 0) & (dot * dot == sq)
    else:
        parallel = np.zeros((len(X), len(Y)), dtype=bool)
    A, B = X.astype(np.float64), Y.astype(np.float64)
    nx = np.sqrt((A * A).sum(axis=1))
    ny = np.sqrt((B * B).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = A / nx[:, None], B / ny[:, None]
        dist = np.clip(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2) / 2, 0.0, 2.0)
    dist[parallel] = 0.0
    dist[(nx == 0)[:, None] | (ny == 0)[None, :]] = 1.0
    return dist
