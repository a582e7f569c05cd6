"""The pruned search returns exactly what brute force returns.

Lower bounds only decide which distances are computed; every returned
distance comes from the same kernels and the same tie rule as brute force,
so the results must be bit-identical, ties included, on any data.
"""

import numpy as np
import pytest
from _knn_helpers import assert_pruned_matches_brute, blob_images

from fmnist import BlockKNNClassifier
from fmnist.neighbors import search as kneighbors
from fmnist.neighbors._pruned import _dispatch as _pruning
from fmnist.neighbors._pruned import _projection_tables
from fmnist.neighbors._pruned import _walk_l2 as _pruned_l2
from fmnist.neighbors._spec import SearchSpec

METRICS = ["manhattan", "euclidean", "sqeuclidean", "cosine"]


_images = blob_images


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("side", [8, 28, 30])
def test_pruned_matches_brute_on_images(metric, n_jobs, side):
    Y = _images(3000, side, 0)
    X = _images(97, side, 1)
    for k in (1, 5, 16):
        assert_pruned_matches_brute(metric, X, Y, k, n_jobs)


@pytest.mark.parametrize("metric", METRICS)
def test_pruned_keeps_the_tie_rule(metric):
    # Few grey levels and many duplicate rows: most distances tie, and at
    # equal distance the lower training index must come first.
    rng = np.random.default_rng(3)
    base = _images(300, 12, 2, levels=3)
    Y = base[rng.integers(0, 300, 2500)]
    X = np.concatenate([Y[:40], _images(40, 12, 4, levels=3)])
    assert_pruned_matches_brute(metric, X, Y, 9)


@pytest.mark.parametrize("metric", METRICS)
def test_pruned_with_more_equal_bounds_than_seeds(metric):
    # Thousands of rows share the smallest coarse bound: the heap is seeded
    # with only some of them, k is larger than the seeds, and the rest must
    # still come in exactly once each.
    rng = np.random.default_rng(8)
    Y = _images(3000, 28, 9)
    Y[rng.permutation(3000)[:2600]] = 0
    X = np.concatenate([np.zeros((2, 784), np.uint8), _images(10, 28, 10)])
    for k in (5, 200, 2700):
        assert_pruned_matches_brute(metric, X, Y, k)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_projection_bounds_equal_to_the_distance(metric):
    # Rows that differ only along one pattern: the leading direction is that
    # pattern, so the projection bound equals the distance, and whole groups
    # of rows tie exactly at the k-th distance. Rounding of the projections
    # must not rule any of them out. For cosine every row points the same
    # way (distance 0, settled exactly) or is all zeros (distance 1).
    rng = np.random.default_rng(11)
    pattern = (rng.random(784) < 0.5).astype(np.uint8)
    steps = rng.integers(0, 60, 3000)
    Y = (steps[:, None] * 4 * pattern).astype(np.uint8)
    X = (np.arange(0, 60, 3)[:, None] * 4 * pattern).astype(np.uint8)
    for k in (1, 60, 200):
        assert_pruned_matches_brute(metric, X, Y, k)


def test_unit_projection_bounds_equal_to_the_cosine_distance():
    # Rows in the plane of two patterns: the first two principal directions
    # of the unit rows span it, so the projection bound of every pair equals
    # its distance, and rows that are multiples of one another tie. Rounding
    # of the unit projections must not rule any of them out (with the
    # margins set to 0, k = 118, 196 and 521 fail here).
    rng = np.random.default_rng(13)
    u, v = (rng.random((2, 784)) < 0.3).astype(np.int64)
    a, b = rng.integers(0, 6, (2, 3000))
    scale = rng.integers(1, 4, 3000)
    Y = (scale[:, None] * (a[:, None] * u + b[:, None] * v)).clip(0, 255)
    Y = Y.astype(np.uint8)
    X = (rng.integers(0, 6, (40, 1)) * u + rng.integers(0, 6, (40, 1)) * v)
    X = X.astype(np.uint8)
    for k in (1, 60, 118, 196, 521):
        assert_pruned_matches_brute("cosine", X, Y, k)


def _unit_or_plain(A, unit):
    A = A.astype(np.float64)
    if unit:
        A /= np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-300)
    return A


def _coarse_columns(tables):
    """The coarse columns of each training row (rows x columns), unpaired;
    the 64 rows of zeros after them are checked and left out."""
    pairs = tables.coarse_pairs
    columns = pairs.transpose(1, 0, 2).reshape(pairs.shape[1], -1)
    n_train = len(tables.rows)
    assert columns.shape[0] == n_train + 64 and (columns[n_train:] == 0).all()
    return columns[:n_train]


@pytest.mark.parametrize("unit", [False, True])
def test_directions_are_the_leading_eigenvectors(unit):
    """Only the leading eigenvectors are computed: the same directions, up
    to sign and rounding, as the full decomposition."""
    rng = np.random.default_rng(3)
    # Rows with a clear spectrum: five strong directions plus noise.
    Y = (rng.normal(size=(3000, 5)) @ rng.normal(size=(5, 40)) * 20 + 100).clip(0, 255)
    Y = (Y + rng.normal(size=Y.shape)).clip(0, 255).astype(np.uint8)
    basis = _projection_tables.directions(Y, 5, unit)
    assert basis.shape == (40, 5) and basis.flags.c_contiguous
    np.testing.assert_allclose(basis.T @ basis, np.eye(5), atol=1e-12)
    sample = Y.astype(np.float64)
    if unit:
        sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    sample -= sample.mean(axis=0)
    _, full = np.linalg.eigh(sample.T @ sample)
    leading = full[:, ::-1][:, :5]
    np.testing.assert_allclose(np.abs(np.sum(basis * leading, axis=0)), 1.0, atol=1e-9)


@pytest.mark.parametrize("family", ["l1", "l2", "cosine"])
def test_tables_are_built_on_one_blas_thread(family, monkeypatch):
    # BLAS threads spin when another process keeps the cores busy: every
    # product of the table building runs on one thread.
    from threadpoolctl import threadpool_info, threadpool_limits

    seen = []

    def blas_threads():
        seen.extend(
            lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
        )

    for module, name in (
        (_projection_tables, "project"),
        (_projection_tables, "directions"),
        (_pruning, "mean_tables"),
    ):
        original = getattr(module, name)

        def spy(*args, original=original, **kwargs):
            blas_threads()
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    Y = _images(2500, 28, 3)
    with threadpool_limits(limits=2, user_api="blas"):  # whatever the caller's
        assert _pruning.bound_tables(Y, family) is not None
    assert seen and set(seen) == {1}


@pytest.mark.parametrize("unit", [False, True])
def test_integer_tables_are_within_their_rounding(unit):
    # The bound tables hold each projection (and each rest norm) rounded to
    # an int16 in table units; the kernel widens its limits by exactly this
    # rounding, so it must hold for every value.
    Y = _images(500, 28, 5)
    Y[:3] = 0  # rows of zeros project to zeros
    tables = _pruning.bound_tables(Y, "cosine" if unit else "l2")
    B = _unit_or_plain(tables.rows, unit)
    projected = B @ tables.basis
    norms = (B**2).sum(1)

    def exact(m):
        rest = np.sqrt(np.maximum(norms - (projected[:, :m] ** 2).sum(1), 0.0))
        return np.column_stack([projected[:, :m], rest]) / tables.scale

    n_coarse = tables.n_coarse
    coarse = _coarse_columns(tables)
    assert (coarse[:, n_coarse + 1 :] == 0).all()  # the pad column
    for table, m in ((coarse[:, : n_coarse + 1], n_coarse), (tables.fine, 64)):
        assert table.dtype == np.int16
        error = np.abs(table - exact(m))
        assert error.max() <= _pruned_l2.TABLE_ROUNDING
        assert error.max() > 0.4  # rounded to whole table units
    largest = max(np.abs(tables.fine).max(), np.abs(coarse).max())
    table_max = _projection_tables.TABLE_MAX
    assert 0.99 * table_max <= largest <= table_max


@pytest.mark.parametrize("unit", [False, True])
def test_coarse_and_fine_bounds_stay_below_the_distance(unit):
    # Each table ends with the norm of the rest of the row outside its
    # directions; with it the bound is tighter but must stay a lower bound,
    # within what the kernel allows for the rounding of the tables (and of
    # the query's coarse columns). Queries far outside the training rows
    # have their coarse columns clipped to the tables' range.
    Y = _images(500, 28, 5)
    X = np.concatenate([_images(40, 28, 6), np.full((2, 784), 255, np.uint8)])
    family = "cosine" if unit else "l2"
    tables = _pruning.bound_tables(Y[Y.sum(1) < np.median(Y.sum(1))], family)
    q_coarse, q_fine = tables.query_tables(X)
    assert q_coarse.dtype == np.int16 and np.abs(q_coarse).max() <= 16000
    A, B = _unit_or_plain(X, unit), _unit_or_plain(tables.rows, unit)
    true = ((A[:, None, :] - B[None]) ** 2).sum(-1) / tables.scale**2
    slack = 1e-4 * true + 1e-2  # float32 query projections
    coarse = ((q_coarse, _coarse_columns(tables)), _pruned_l2._COARSE_ROUNDING)
    fine = ((q_fine, tables.fine), _pruned_l2.TABLE_ROUNDING)
    for (q_table, y_table), per_column in (coarse, fine):
        n_columns = y_table.shape[1]
        diff = q_table[:, None, :].astype(np.float64) - y_table[None]
        with_rest = (diff**2).sum(-1)
        rest = tables.n_coarse if y_table is not tables.fine else n_columns - 1
        without = (diff[..., :rest] ** 2).sum(-1)
        allowed = _pruned_l2.widen(true + slack, n_columns, per_column)
        assert (with_rest <= allowed).all()
        assert (with_rest > without).mean() > 0.9  # the rest tightens it


@pytest.mark.parametrize("pmaddwd", [True, False])
def test_integer_coarse_mask_sets_every_row_within_the_limit(pmaddwd, monkeypatch):
    # 64 rows per mask, sums of squared int16 differences in 32-bit lanes:
    # exact below 2**31, and a wrapped sum (extreme rows) may only set a
    # bit, never clear one. Checked against int64 sums, on every limit that
    # sits at a row's sum, and on both sides of it; with the target's
    # pmaddwd and with the plain arithmetic of targets without it. The sums
    # themselves (for the seeds) are the int64 ones modulo 2**32.
    import numba

    from fmnist.neighbors._pruned import _coarse
    from fmnist.neighbors._pruned._coarse import coarse_l2_mask_64, coarse_l2_sums_64

    if not pmaddwd:  # the level of a target without SIMD
        from fmnist.neighbors._kernels._isa import LEVELS

        monkeypatch.setattr(_coarse, "level_of", lambda features: LEVELS[-1])

    @numba.njit
    def masks(q, pairs, limits):
        out = np.empty(limits.shape[0], dtype=np.uint64)
        for i in range(limits.shape[0]):
            out[i] = coarse_l2_mask_64(q, pairs, 64, limits[i])
        return out

    @numba.njit
    def sums_at(q, pairs):
        out = np.zeros(80, dtype=np.int32)
        coarse_l2_sums_64(q, pairs, 64, out, 8)
        return out

    rng = np.random.default_rng(3)
    for high in (300, 16000):
        columns = rng.integers(-high, high + 1, (200, 18)).astype(np.int16)
        columns[70] = 16000  # sums far past 2**31
        q = rng.integers(-high, high + 1, 18).astype(np.int16)
        if high == 16000:
            q[:] = -16000
        pairs = _projection_tables.in_pairs(columns)
        sums = ((columns[64:128].astype(np.int64) - q) ** 2).sum(1)
        stored = sums_at(q, pairs)
        assert (stored[:8] == 0).all() and (stored[72:] == 0).all()
        wrapped = sums.astype(np.uint32).view(np.int32)
        np.testing.assert_array_equal(stored[8:72], wrapped)
        limits = np.unique(np.concatenate([sums - 1, sums, sums + 1, [0, 2**40]]))
        bits = (masks(q, pairs, limits)[:, None] >> np.arange(64, dtype=np.uint64)) & 1
        within = sums[None, :] <= limits[:, None]
        assert bits[within].all()  # never rules out a row within the limit
        exact = sums[None, :] < 2**31
        assert (bits.astype(bool) == within)[:, exact[0]].all()


def test_queries_are_searched_slab_by_slab():
    Y = _images(3000, 28, 7)
    X = _images(300, 28, 8)
    tables = _pruning.bound_tables(Y, "l2")
    _, q_fine = tables.query_tables(X)
    order = tables.query_order(q_fine)
    assert sorted(order) == list(range(len(X)))
    home = np.searchsorted(tables.slab_low, q_fine[order, 0], side="right") - 1
    home = np.clip(home, 0, len(tables.slab_low) - 1)
    assert (np.diff(home) >= 0).all()
    for s in np.unique(home):  # up the second projection, then down
        second = q_fine[order[home == s], 1]
        assert (np.diff(second) * (-1) ** s >= 0).all()


@pytest.mark.parametrize("metric", METRICS)
def test_pruned_on_noise_and_extremes(metric):
    # Bounds that prune nothing (noise), rows of 0 and 255, k = n_train.
    rng = np.random.default_rng(5)
    Y = rng.integers(0, 256, (600, 100), dtype=np.uint8)
    Y[:3] = 0
    Y[3:6] = 255
    X = np.concatenate([Y[:6], rng.integers(0, 256, (20, 100), dtype=np.uint8)])
    for rows, k in ((600, 1), (600, 7), (600, 600), (20, 3), (1, 1)):
        assert_pruned_matches_brute(metric, X, Y[:rows], k)


@pytest.mark.parametrize("metric", METRICS)
def test_pruned_excludes_self(metric):
    Y = _images(2500, 28, 6)
    _, i_p = assert_pruned_matches_brute(metric, Y, Y, 5, n_jobs=2, exclude_self=True)
    assert not (i_p == np.arange(len(Y))[:, None]).any()


def test_which_searches_are_pruned():
    Y = np.zeros((3000, 784), dtype=np.uint8)
    small = Y[:100]

    def applies(metric, algorithm, X=Y, T=Y):
        spec = SearchSpec.build(metric, 2, T.dtype, algorithm=algorithm)
        return _pruning.applies(spec, X, T)

    assert applies("manhattan", "auto") and applies("euclidean", "auto")
    assert not applies("manhattan", "auto", small, small)
    assert not applies("euclidean", "auto", small, small)
    assert applies("manhattan", "pruned", small, small)
    assert applies("euclidean", "pruned") and applies("sqeuclidean", "pruned")
    assert not applies("manhattan", "brute")
    assert applies("cosine", "auto") and not applies("cosine", "auto", small, small)
    assert not applies("chebyshev", "pruned")
    floats = Y.astype(np.float32)
    for metric in ("manhattan", "euclidean", "sqeuclidean", "cosine"):
        assert applies(metric, "auto", floats, floats)
        # Float queries against uint8 rows: brute force (no codes to bound).
        assert applies(metric, "auto", Y, floats)
        assert not applies(metric, "auto", floats, Y)
        assert not applies(metric, "auto", floats[:100], floats[:100])
    int32 = Y.astype(np.int32)
    assert not applies("euclidean", "pruned", int32, int32)
    assert not applies("manhattan", "pruned", int32, int32)
    # A few features: projections bound them, group means of images do not.
    for width in (1, 2, 8, 32, 63):
        for narrow in (np.zeros((3000, width), np.uint8), np.zeros((3000, width))):
            assert not applies("manhattan", "pruned", narrow, narrow)
            for metric in ("euclidean", "sqeuclidean", "cosine"):
                assert applies(metric, "auto", narrow, narrow)
    # Euclidean directions come from a features x features matrix.
    wide = np.zeros((3000, _pruning.MAX_PROJECTED_FEATURES + 1), dtype=np.uint8)
    assert applies("manhattan", "pruned", wide, wide)
    assert not applies("euclidean", "pruned", wide, wide)
    assert not applies("cosine", "pruned", wide, wide)


def test_estimator_algorithms_agree():
    Y = _images(2500, 28, 7)
    y = np.arange(len(Y)) % 10
    X = _images(200, 28, 8)
    results = {}
    for algorithm in ("brute", "pruned", "auto"):
        clf = BlockKNNClassifier(metric="manhattan", algorithm=algorithm).fit(Y, y)
        results[algorithm] = clf.kneighbors(X), clf.predict_proba(X)
    for algorithm in ("pruned", "auto"):
        for got, want in zip(results[algorithm][0], results["brute"][0]):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(results[algorithm][1], results["brute"][1])


def test_bad_algorithm_is_refused():
    with pytest.raises(ValueError, match="algorithm"):
        BlockKNNClassifier(algorithm="kd_tree").fit(np.zeros((3, 2)), [0, 1, 1])


@pytest.mark.parametrize("metric", METRICS)
def test_pruned_matches_brute_on_fashion_mnist(fashion_mnist_split, metric):
    X_train, X_test = fashion_mnist_split[:2]
    queries = X_test[::50]  # 200 test images against all 60,000
    assert_pruned_matches_brute(metric, queries, X_train, 16, n_jobs=2)


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "chebyshev", "manhattan"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_small_batches_split_the_training_rows_exactly(metric, dtype, monkeypatch):
    # Few queries: the threads split the training rows and merge their
    # heaps; the result must be the single-thread search, ties included.
    from fmnist.neighbors._brute import _dispatch as _brute

    calls = []
    split = _brute.split_training
    monkeypatch.setattr(
        _brute, "split_training", lambda *a: calls.append(1) or split(*a)
    )
    rng = np.random.default_rng(9)
    Y = rng.integers(0, 4, (5000, 20)).astype(dtype)  # many exact ties
    X = np.concatenate([Y[:3], rng.integers(0, 4, (5, 20)).astype(dtype)])
    for k in (1, 16, 5000):
        one = SearchSpec.build(metric, 2, Y.dtype, algorithm="brute", n_jobs=1)
        two = SearchSpec.build(metric, 2, Y.dtype, algorithm="brute", n_jobs=2)
        d1, i1 = kneighbors(one, X, Y, k, reuse=False)
        d2, i2 = kneighbors(two, X, Y, k, reuse=False)
        np.testing.assert_array_equal(d2, d1)
        np.testing.assert_array_equal(i2, i1)
    import numba

    if numba.config.NUMBA_NUM_THREADS >= 2:
        assert len(calls) == 3  # the two-thread searches split the rows
