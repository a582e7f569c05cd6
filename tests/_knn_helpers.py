"""Data for the kNN tests."""

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
