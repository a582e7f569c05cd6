"""Sparse rows as the search reads them: checked, canonical, in a kernel dtype.

:func:`sparse_rows` is the only way to a :class:`SparseRows`, and the
kernels only read arrays of one: the structure of the input is checked
first (index pointer monotone and within the arrays, column indices within
the width), so no kernel can read out of bounds, and a row with unsorted or
repeated column indices is made canonical on a copy (sorted, duplicates
summed, explicit zeros dropped); the caller's matrix is never changed.

Dtypes, the rule of the dense search applied to the stored values: whole
numbers small enough that no squared distance or dot product can overflow
int64 (:func:`~.._spec.integer_limit`) are int32 and searched in exact
integer arithmetic; any other data is float64. Index pointers are int64 and
column indices int32.
"""

import numpy as np
from scipy import sparse

from .._spec import _check_supported, integer_limit
from ._codes import Compressed

__all__ = ["SparseRows", "SparseTrainingRows", "sparse_rows"]

_INT32_MAX = np.iinfo(np.int32).max


class SparseRows:
    """Rows of a sparse matrix, canonical CSR in a kernel dtype.

    Attributes
    ----------
    shape : (int, int)
        ``(n_rows, n_features)``.
    indptr : ndarray of shape (n_rows + 1,), int64
    indices : ndarray of shape (nnz,), int32
        Column indices, strictly increasing within each row.
    data : ndarray of shape (nnz,), int32 or float64
        The nonzero values.
    """

    __slots__ = ("shape", "indptr", "indices", "data")

    def __init__(self, shape, indptr, indices, data):
        self.shape = shape
        self.indptr = indptr
        self.indices = indices
        self.data = data

    @property
    def dtype(self):
        """The kernel dtype of the values (int32 or float64)."""
        return self.data.dtype

    @property
    def nnz(self):
        return self.data.shape[0]

    def compressed(self):
        """The rows as a :class:`~._codes.Compressed` record."""
        return Compressed(self.indptr, self.indices, self.data)

    def as_float(self):
        """The same rows with float64 values (self when already float64)."""
        if self.dtype == np.float64:
            return self
        return SparseRows(
            self.shape, self.indptr, self.indices, self.data.astype(float)
        )

    def toscipy(self):
        """A :class:`scipy.sparse.csr_array` of the rows (sharing the arrays)."""
        return sparse.csr_array((self.data, self.indices, self.indptr), self.shape)

    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state):
        # Loaded rows are checked again, as any input is.
        rows = _canonical(_checked_csr(_scipy_parts(state)), copy=False)
        if rows.dtype not in (np.int32, np.float64):
            raise ValueError(f"Stored sparse rows have dtype {rows.dtype}.")
        for name in self.__slots__:
            setattr(self, name, getattr(rows, name))

    def __repr__(self):
        return f"SparseRows(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"


def _scipy_parts(state):
    shape = state["shape"]
    return sparse.csr_array(
        (state["data"], state["indices"], state["indptr"]), shape=shape
    )


def _checked_csr(X):
    """Raise unless the CSR arrays of ``X`` are safe to index with; return
    ``(shape, indptr, indices, data)``, ``indices`` and ``data`` cut to the
    stored entries."""
    n_rows, n_features = X.shape
    if max(n_rows, n_features) > _INT32_MAX:
        raise ValueError(
            f"Sparse input must have fewer than 2**31 rows and columns. Got {X.shape}."
        )
    indptr, indices, data = X.indptr, X.indices, X.data
    for name, a in (("indptr", indptr), ("indices", indices)):
        if a.ndim != 1 or a.dtype.kind not in "iu":
            raise TypeError(
                f"The {name} array of a sparse matrix must be a 1-d integer array. "
                f"Got {a.ndim} dimension(s) of {a.dtype}."
            )
    if data.ndim != 1:
        raise ValueError("The data array of a sparse matrix must be 1-d.")
    if indptr.shape[0] != n_rows + 1:
        raise ValueError(
            f"Invalid sparse matrix: indptr has {indptr.shape[0]} entries for "
            f"{n_rows} rows (expected {n_rows + 1})."
        )
    nnz = int(indptr[-1]) if n_rows else 0
    if (
        (n_rows and int(indptr[0]) != 0)
        or nnz > min(indices.shape[0], data.shape[0])
        or np.any(np.diff(indptr) < 0)
    ):
        raise ValueError(
            "Invalid sparse matrix: indptr must start at 0, never decrease and "
            "end within the indices and data arrays."
        )
    indices, data = indices[:nnz], data[:nnz]
    if nnz and (int(indices.min()) < 0 or int(indices.max()) >= n_features):
        raise ValueError(
            f"Invalid sparse matrix: column indices must lie in [0, {n_features}). "
            f"Got values from {int(indices.min())} to {int(indices.max())}."
        )
    return X.shape, indptr, indices, data


def _is_canonical(indptr, indices, data):
    """Column indices strictly increasing within every row, no stored zero."""
    if not indices.shape[0]:
        return True
    steps = np.diff(indices.astype(np.int64))
    # A step into a new row may go down: positions indptr[1:-1] - 1 of steps.
    starts = indptr[1:-1].astype(np.int64) - 1
    starts = starts[(starts >= 0) & (starts < steps.shape[0])]
    steps[starts] = 1
    return bool(np.all(steps > 0)) and bool(np.all(data != 0))


def _canonical(parts, copy):
    """Canonical CSR arrays from checked ones; a copy when they must change
    (or ``copy``)."""
    shape, indptr, indices, data = parts
    if not _is_canonical(indptr, indices, data):
        fixed = sparse.csr_array(
            (data.copy(), indices.copy(), indptr.copy()), shape=shape
        )
        fixed.sum_duplicates()  # sorts the indices, sums repeated ones
        fixed.eliminate_zeros()
        indptr, indices, data = fixed.indptr, fixed.indices, fixed.data
        copy = False
    return SparseRows(
        (int(shape[0]), int(shape[1])),
        _array(indptr, np.int64, copy),
        _array(indices, np.int32, copy),
        data,
    )


def _array(a, dtype, copy):
    return np.array(a, dtype=dtype) if copy else np.asarray(a, dtype=dtype)


def _integer_data(data, n_features):
    """``data`` as int32 if its values are whole numbers within
    :func:`integer_limit`, else None."""
    if data.dtype.kind == "b":
        return data.astype(np.int32)
    if not data.shape[0]:
        return np.zeros(0, dtype=np.int32)
    if data.dtype.kind == "f" and not np.array_equal(data, np.trunc(data)):
        return None
    limit = integer_limit(n_features)
    if data.min() < -limit or data.max() > limit:
        return None
    return data.astype(np.int32)


def sparse_rows(X, integer=True, copy=False):
    """Checked canonical :class:`SparseRows` of a scipy sparse matrix or array.

    Parameters
    ----------
    X : scipy sparse matrix or array
        Any format; converted to CSR.
    integer : bool, default=True
        Store whole numbers within :func:`integer_limit` as int32; False
        stores every value as float64 (queries of float training rows).
    copy : bool, default=False
        Never share an array with ``X`` (rows kept by an estimator).

    Returns
    -------
    rows : SparseRows
    """
    if not sparse.issparse(X):
        raise TypeError(f"Expected a scipy sparse matrix. Got {type(X).__name__}.")
    if X.format != "csr":
        X = X.tocsr()
    _check_supported(X.data)
    rows = _canonical(_checked_csr(X), copy)
    data = _integer_data(rows.data, rows.shape[1]) if integer else None
    if data is None:
        data = _array(rows.data, np.float64, copy)
    rows.data = data
    return rows


class SparseTrainingRows:
    """What the sparse search derives from the training rows, made once.

    The rows by column (CSC, the search's inverted index), their squared
    norms, inverse norms and l1 norms, each for the integer and the float64
    values (integer training rows meet float queries as float64), and the
    digest of the rows, each computed at first use and kept from one search
    to the next (the rows are the estimator's private copy, never changed).
    """

    __slots__ = ("rows", "digest", "_columns", "_values", "_float_rows")

    def __init__(self, rows):
        self.rows = rows
        self.digest = None  # of the rows, set by the search spine at first use
        self._columns = {}
        self._values = {}
        self._float_rows = None

    def rows_as(self, floating):
        """The rows, with float64 values when ``floating``."""
        if not floating or self.rows.dtype == np.float64:
            return self.rows
        if self._float_rows is None:
            self._float_rows = self.rows.as_float()
        return self._float_rows

    def columns(self, floating):
        """The rows' CSC :class:`~._codes.Compressed`, values int32 or
        float64 (``floating``)."""
        if floating not in self._columns:
            rows = self.rows_as(floating)
            by_column = rows.toscipy().tocsc()
            by_column.sort_indices()
            self._columns[floating] = Compressed(
                np.asarray(by_column.indptr, dtype=np.int64),
                np.asarray(by_column.indices, dtype=np.int32),
                by_column.data,
            )
        return self._columns[floating]

    def row_values(self, floating):
        """``(sqnorms, l1norms, inv_norms)`` of the rows."""
        if floating not in self._values:
            self._values[floating] = row_values(self.rows_as(floating))
        return self._values[floating]


def row_values(rows):
    """``(sqnorms, l1norms, inv_norms)`` of :class:`SparseRows`: int64 sums
    for integer rows (exact), float64 for float rows; inverse norms float64,
    0 for a zero row."""
    from ._kernels import row_norms

    kind = np.int64 if rows.dtype.kind == "i" else np.float64
    sq = np.empty(rows.shape[0], dtype=kind)
    l1 = np.empty(rows.shape[0], dtype=kind)
    row_norms(rows.indptr, rows.data, sq, l1)
    inv = np.zeros(rows.shape[0], dtype=np.float64)
    nonzero = sq > 0
    inv[nonzero] = 1.0 / np.sqrt(sq[nonzero].astype(np.float64))
    return sq, l1, inv
