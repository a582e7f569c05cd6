"""Block-by-block prediction of chunked dask arrays with any estimator."""

import numpy as np

from ._cluster import require_distributed

__all__ = ["predict_blocks"]


def _predict_block(block, estimator, method, n_outputs, dtype):
    """Apply ``estimator.<method>`` to one block of rows (empty blocks too)."""
    if block.shape[0] == 0:
        shape = (0,) if n_outputs is None else (0, n_outputs)
        return np.empty(shape, dtype=dtype)
    return np.asarray(getattr(estimator, method)(block))


def predict_blocks(estimator, X, *, method="predict", dtype=None):
    """Predict a chunked dask array block by block with a fitted estimator.

    The estimator enters the task graph once (as a ``dask.delayed`` value)
    and every block of rows is predicted by one task, wherever the block is.
    Blocks of one row and empty blocks are handled: an empty block gives an
    empty result without calling the estimator, and nothing is predicted
    while the graph is built.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator, for example :class:`~fmnist.BlockKNNClassifier`
        or :class:`~fmnist.ConvNetClassifier`.
    X : dask.array.Array or array-like of shape (n_samples, n_features)
        Rows to predict. Column chunks are merged so each task gets whole rows;
        a NumPy array becomes a single-chunk dask array.
    method : {'predict', 'predict_proba'}, default='predict'
        Estimator method to apply.
    dtype : dtype, default=None
        Dtype of the result; ``None`` means ``estimator.classes_.dtype`` (or
        float64 without ``classes_``) for ``'predict'`` and float64 for
        ``'predict_proba'``.

    Returns
    -------
    y : dask.array.Array of shape (n_samples,) or (n_samples, n_classes)
        Lazy predictions with the row chunks of ``X``; call ``.compute()``.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from fmnist.distributed import predict_blocks
    >>> clf = KNeighborsClassifier(n_neighbors=1).fit([[0], [1]], ["a", "b"])
    >>> X = da.from_array(np.array([[0.1], [0.9], [0.2]]), chunks=2)
    >>> predict_blocks(clf, X).compute()
    array(['a', 'b', 'a'], dtype='<U1')
    """
    require_distributed()
    import dask
    import dask.array as da

    if method not in ("predict", "predict_proba"):
        raise ValueError(
            f"method must be 'predict' or 'predict_proba'. Got {method!r} instead."
        )
    if not hasattr(estimator, method):
        raise AttributeError(f"{type(estimator).__name__} has no method {method!r}.")
    if not isinstance(X, da.Array):
        X = da.from_array(np.asarray(X), chunks=(max(1, len(X)), -1))
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array, got an array of shape {X.shape}.")
    X = X.rechunk({1: -1})
    classes = getattr(estimator, "classes_", None)
    if method == "predict":
        n_outputs = None
        if dtype is None:
            dtype = np.float64 if classes is None else np.asarray(classes).dtype
        chunks = (X.chunks[0],)
        drop_axis = 1
    else:
        if classes is None:
            raise AttributeError(
                f"{type(estimator).__name__} has no classes_; is it a fitted "
                "classifier?"
            )
        n_outputs = len(classes)
        dtype = np.float64 if dtype is None else dtype
        chunks = (X.chunks[0], (n_outputs,))
        drop_axis = None
    dtype = np.dtype(dtype)
    meta = np.empty((0,) if n_outputs is None else (0, 0), dtype=dtype)
    return da.map_blocks(
        _predict_block,
        X,
        dask.delayed(estimator, pure=True),
        method,
        n_outputs,
        dtype,
        chunks=chunks,
        drop_axis=drop_axis,
        dtype=dtype,
        meta=meta,
    )
