"""Image-stack input shared by the estimators.

Both estimators take flattened images ``(n_samples, n_pixels)`` as well as
stacks of 2-d images; this module flattens a stack before sklearn's input
validation sees it. Everything else (2-d arrays, sparse matrices, DataFrames,
ragged lists) is passed through for that validation to accept or report.
"""

import numpy as np
from scipy import sparse

__all__ = ["flatten_image_stack"]


def flatten_image_stack(X, *, channel_axis=False):
    """Flatten ``(n, h, w)`` images to ``(n, h * w)``.

    Parameters
    ----------
    X : array-like
        The input, of any kind. Lists, tuples and array types other than
        NumPy's (torch, dask) are converted when they are image stacks.
    channel_axis : bool, default=False
        Also accept ``(n, 1, h, w)`` (one channel); a 4-d input with another
        number of channels is a ``ValueError``.

    Returns
    -------
    X : array-like
        ``(n, h * w)`` for an image stack, else the input unchanged.
    image_shape : tuple of int or None
        ``(h, w)`` for an image stack, else None.
    """
    ndims = (3, 4) if channel_axis else (3,)
    if sparse.issparse(X) or (hasattr(X, "iloc") and hasattr(X, "columns")):
        return X, None
    if not isinstance(X, np.ndarray):
        if getattr(X, "ndim", None) in ndims:
            X = np.asarray(X)
        elif isinstance(X, (list, tuple)):
            try:
                as_array = np.asarray(X)
            except (TypeError, ValueError):
                return X, None
            if as_array.ndim not in ndims:
                return X, None
            X = as_array
        else:
            return X, None
    if X.ndim not in ndims:
        return X, None
    if X.ndim == 4 and X.shape[1] != 1:
        raise ValueError(
            "4-d input must have shape (n_samples, 1, height, width) "
            f"(one channel); got shape {tuple(X.shape)}."
        )
    return X.reshape(X.shape[0], -1), tuple(int(d) for d in X.shape[-2:])
