"""Sparse input: the sparse search against scikit-learn and the dense search.

Float data is compared with scikit-learn's brute force within a relative
tolerance, with neighbour indices compared only where no near-tie makes the
order depend on rounding. Integer data is compared with fmnist's dense
search of the same rows exactly: both compute every distance in exact
integer arithmetic.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from fmnist import BlockKNNClassifier, BlockKNNTransformer
from fmnist.neighbors import search_cache

METRICS = ["euclidean", "sqeuclidean", "manhattan", "cosine"]
RTOL = 1e-9


def _random_csr(n, n_features, density, dtype, rng):
    """Random CSR rows with empty rows and a column that no row uses."""
    X = sparse.random(n, n_features, density=density, format="csr", random_state=rng)
    X.data = (X.data * 200 - 60).astype(dtype) if dtype != np.float64 else X.data
    if np.dtype(dtype).kind in "iu":
        X.data = rng.integers(1, 200, size=X.nnz).astype(dtype)
    X = X.tolil()
    X[:2] = 0  # empty rows
    X[:, n_features // 2] = 0  # a column never used
    return X.tocsr()


def _with_duplicates(X):
    """``X`` as COO with every third stored value split into two entries of
    the same position (which scipy, and the search, add up)."""
    coo = X.tocoo()
    split = np.arange(0, coo.nnz, 3)
    first = coo.data.copy()
    if first.dtype.kind in "iu":
        half = first[split] // 2
    else:
        half = first[split] / 2
    first[split] -= half
    return sparse.coo_matrix(
        (
            np.concatenate([first, half]),
            (
                np.concatenate([coo.row, coo.row[split]]),
                np.concatenate([coo.col, coo.col[split]]),
            ),
        ),
        shape=X.shape,
    )


def _reference(metric, X_train, X_query, k):
    """scikit-learn's brute force (sqeuclidean, which it does not take on
    sparse rows, on the dense rows)."""
    if metric == "sqeuclidean":
        nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute")
        nn.fit(X_train.toarray())
        query = None if X_query is None else X_query.toarray()
    else:
        nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute")
        nn.fit(X_train)
        query = X_query
    return nn.kneighbors(query)


def _assert_close_to_reference(dist, ind, ref_dist, ref_ind, atol, min_share=0.25):
    """Distances within tolerance; indices equal wherever the reference has
    no near-tie around the position (the reference has one more column), at
    least ``min_share`` of them."""
    k = dist.shape[1]
    assert_allclose(dist, ref_dist[:, :k], rtol=RTOL, atol=atol)
    tol = RTOL * np.abs(ref_dist).max() + 4 * atol
    gaps = np.diff(ref_dist, axis=1) > tol
    isolated = np.ones_like(ind, dtype=bool)
    isolated[:, 1:] &= gaps[:, : k - 1]
    isolated &= gaps[:, :k]
    assert isolated.sum() >= min_share * ind.size  # the test compares something
    assert_array_equal(ind[isolated], ref_ind[:, :k][isolated])


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(
    "density, n_features, dtype",
    [
        (0.001, 5000, np.float64),
        (0.01, 1000, np.float32),
        (0.1, 200, np.float64),
        (0.1, 200, np.int64),
        (0.05, 300, np.float32),
    ],
)
def test_matches_sklearn_brute_force(metric, density, n_features, dtype):
    rng = np.random.default_rng(0)
    X = _random_csr(120, n_features, density, dtype, rng)
    Q = _random_csr(30, n_features, density, dtype, rng)
    k = 6
    est = BlockKNNClassifier(n_neighbors=k, metric=metric)
    est.fit(_with_duplicates(X), np.arange(120) % 3)
    dist, ind = est.kneighbors(Q)
    # float32 values are searched in float64: the float64 reference.
    X, Q = X.astype(np.float64), Q.astype(np.float64)
    ref_dist, ref_ind = _reference(metric, X, Q, k + 1)
    atol = 1e-12 * (1 if metric == "cosine" else float(abs(X).max()) ** 2)
    # At 0.1%, rows rarely share a column: nearly every cosine distance is 1.
    share = 0.0 if metric == "cosine" and density < 0.01 else 0.25
    _assert_close_to_reference(dist, ind, ref_dist, ref_ind, atol, share)
    # Leave-one-out on the sparse training rows.
    dist, ind = est.kneighbors()
    ref_dist, ref_ind = _reference(metric, X, None, k + 1)
    _assert_close_to_reference(dist, ind, ref_dist, ref_ind, atol, share)


def _integer_images(n, n_features, rng, density=0.3):
    """uint8 rows, a third of their pixels set, with repeated rows and a
    multiple of a row (parallel for cosine) and an all-zero row."""
    X = rng.integers(0, 256, (n, n_features)) * (rng.random((n, n_features)) < density)
    X = X.astype(np.uint8)
    X[5] = X[3]
    X[2] //= 2
    X[7] = X[2] * 2  # parallel to row 2
    X[8] = 0
    return X


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("k", [1, 9])
def test_integer_rows_are_exactly_the_dense_search(metric, k):
    rng = np.random.default_rng(1)
    D = _integer_images(200, 64, rng)
    Q = _integer_images(40, 64, rng)
    Q[:5] = D[:5]
    Q[6] = D[2] // 3  # near row 2's direction, parallel only by chance
    y = np.arange(200) % 4
    dense = BlockKNNClassifier(n_neighbors=k, metric=metric).fit(D, y)
    sp = BlockKNNClassifier(n_neighbors=k, metric=metric).fit(sparse.csr_matrix(D), y)
    assert sp._fit_X.dtype == np.int32
    for got, want in [
        (sp.kneighbors(sparse.csr_array(Q)), dense.kneighbors(Q)),
        (sp.kneighbors(), dense.kneighbors()),
        (sp.kneighbors(Q), dense.kneighbors(Q)),  # dense queries, sparse rows
        (dense.kneighbors(sparse.csr_matrix(Q)), dense.kneighbors(Q)),
    ]:
        assert_array_equal(got[0], want[0])
        assert_array_equal(got[1], want[1])
    assert_array_equal(sp.predict_proba(sparse.csr_matrix(Q)), dense.predict_proba(Q))
    assert_array_equal(sp.predict(sparse.csr_matrix(Q)), dense.predict(Q))


def test_cosine_of_parallel_integer_rows_is_exactly_zero():
    D = np.array([[0, 3, 0, 4], [0, 6, 0, 8], [1, 0, 0, 0], [0, 0, 0, 0]])
    est = BlockKNNClassifier(n_neighbors=4, metric="cosine").fit(
        sparse.csr_matrix(D), [0, 0, 1, 1]
    )
    dist, ind = est.kneighbors(sparse.csr_matrix([[0, 30, 0, 40]]))
    assert_array_equal(ind, [[0, 1, 2, 3]])
    assert_array_equal(dist, [[0.0, 0.0, 1.0, 1.0]])  # a zero row is at 1


def test_large_integers_are_exact():
    # Whole numbers far beyond float64's exact products: int64 arithmetic.
    rng = np.random.default_rng(2)
    D = rng.integers(-(10**8), 10**8, size=(30, 4)) * (rng.random((30, 4)) < 0.7)
    Q = rng.integers(-(10**8), 10**8, size=(5, 4))
    est = BlockKNNClassifier(n_neighbors=30, metric="sqeuclidean")
    est.fit(sparse.csr_matrix(D), np.zeros(30))
    assert est._fit_X.dtype == np.int32
    dist, ind = est.kneighbors(sparse.csr_matrix(Q))
    exact = [[sum((int(a) - int(b)) ** 2 for a, b in zip(q, d)) for d in D] for q in Q]
    for row, got_ind, got_dist in zip(exact, ind, dist):
        order = sorted(range(30), key=lambda j: (row[j], j))
        assert_array_equal(got_ind, order)
        # float64 distances: the exact integers, rounded once.
        assert got_dist.tolist() == [float(row[j]) for j in order]


@pytest.mark.parametrize(
    "convert",
    [
        sparse.csr_matrix,
        sparse.csr_array,
        sparse.csc_matrix,
        sparse.coo_matrix,
        sparse.coo_array,
        sparse.lil_matrix,
        sparse.dok_array,
        lambda A: sparse.csr_matrix(A).astype(np.float32),
    ],
)
def test_every_sparse_format_gives_the_same_neighbours(convert):
    rng = np.random.default_rng(3)
    D = _integer_images(60, 30, rng)
    Q = _integer_images(10, 30, rng)
    want = BlockKNNClassifier(n_neighbors=4).fit(D, np.zeros(60)).kneighbors(Q)
    est = BlockKNNClassifier(n_neighbors=4).fit(convert(D), np.zeros(60))
    for got in (est.kneighbors(convert(Q)), est.kneighbors(Q)):
        assert_array_equal(got[0], want[0])
        assert_array_equal(got[1], want[1])


def test_mixed_dense_and_sparse_float_data():
    rng = np.random.default_rng(4)
    X = _random_csr(80, 50, 0.2, np.float64, rng)
    Q = _random_csr(15, 50, 0.2, np.float64, rng)
    ref_dist, ref_ind = _reference("euclidean", X, Q, 6)
    sparse_fit = BlockKNNClassifier(n_neighbors=5).fit(X, np.zeros(80))
    dense_fit = BlockKNNClassifier(n_neighbors=5).fit(X.toarray(), np.zeros(80))
    for dist, ind in (
        sparse_fit.kneighbors(Q.toarray()),
        dense_fit.kneighbors(Q),
        sparse_fit.kneighbors(Q),
    ):
        _assert_close_to_reference(dist, ind, ref_dist, ref_ind, 1e-12)


def test_dense_training_serves_every_metric_to_sparse_queries():
    rng = np.random.default_rng(5)
    D = _integer_images(50, 20, rng)
    Q = _integer_images(10, 20, rng)
    for metric, p in [("chebyshev", 2), ("minkowski", 3)]:
        est = BlockKNNClassifier(n_neighbors=3, metric=metric, p=p).fit(D, np.zeros(50))
        got, want = est.kneighbors(sparse.csr_matrix(Q)), est.kneighbors(Q)
        assert_array_equal(got[0], want[0])
        assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("metric, p", [("chebyshev", 2), ("minkowski", 3)])
def test_metrics_sparse_rows_cannot_serve_are_named(metric, p):
    X = sparse.csr_matrix(np.eye(4))
    msg = "not valid for sparse input.*'cosine', 'euclidean'.*'manhattan'"
    with pytest.raises(ValueError, match=msg):
        BlockKNNClassifier(n_neighbors=1, metric=metric, p=p).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match=msg):
        BlockKNNTransformer(metric=metric, p=p).fit(X)
    est = BlockKNNClassifier(n_neighbors=1).fit(X, [0, 1, 0, 1])
    est.set_params(metric=metric, p=p)
    with pytest.raises(ValueError, match=msg):
        est.kneighbors(X)
    # Minkowski with p = 1 or 2 is a sparse metric.
    est.set_params(metric="minkowski", p=1)
    assert est.kneighbors(X)[0].shape == (4, 1)


def _hand_built(indices, data=None, indptr=(0, 2, 3), shape=(2, 5)):
    data = np.ones(len(indices)) if data is None else np.asarray(data, dtype=float)
    return sparse.csr_matrix(
        (data, np.asarray(indices), np.asarray(indptr)), shape=shape
    )


def test_unsorted_and_repeated_indices_are_made_canonical_on_a_copy():
    X = _hand_built([3, 1, 1], data=[2.0, 5.0, 1.0])
    X.has_sorted_indices = False
    before = X.indices.copy(), X.data.copy()
    est = BlockKNNClassifier(n_neighbors=1).fit(X, [0, 1])
    assert_array_equal(X.indices, before[0])  # the caller's matrix is untouched
    assert_array_equal(X.data, before[1])
    assert_array_equal(est._fit_X.indices, [1, 3, 1])
    # Repeated entries add up, as scipy reads them.
    dup = sparse.coo_matrix(([1.0, 2.0], ([0, 0], [4, 4])), shape=(1, 5))
    dist, ind = est.kneighbors(dup)
    assert_allclose(
        dist, np.linalg.norm(dup.toarray() - X.toarray(), axis=1)[[1]][None]
    )
    assert_array_equal(ind, [[1]])


@pytest.mark.parametrize(
    "indices, indptr, match",
    [
        ([0, 7, 1], (0, 2, 3), "column indices must lie in"),
        ([0, -1, 1], (0, 2, 3), "column indices must lie in"),
        ([0, 1, 2], (0, 3, 2), "indptr"),
        ([0, 1, 2], (0, 2, 9), "indptr"),
    ],
)
@pytest.mark.parametrize("training", ["sparse", "dense"])
def test_broken_structure_is_refused_before_any_kernel(
    indices, indptr, match, training
):
    def broken():
        X = _hand_built([0, 1, 2], indptr=(0, 2, 3))
        X.indices = np.asarray(indices, dtype=X.indices.dtype)
        X.indptr = np.asarray(indptr, dtype=X.indptr.dtype)
        return X

    if training == "sparse":
        with pytest.raises(ValueError, match=match):
            BlockKNNClassifier(n_neighbors=1).fit(broken(), [0, 1])
        est = BlockKNNClassifier(n_neighbors=1).fit(_hand_built([0, 1, 2]), [0, 1])
    else:
        est = BlockKNNClassifier(n_neighbors=1).fit(np.eye(2, 5), [0, 1])
    with pytest.raises(ValueError, match=match):
        est.kneighbors(broken())


def test_graph_and_transformer_on_sparse_rows():
    rng = np.random.default_rng(6)
    D = _integer_images(40, 16, rng)
    X = sparse.csr_matrix(D)
    for mode in ("connectivity", "distance"):
        got = BlockKNNTransformer(mode=mode, n_neighbors=3).fit_transform(X)
        want = BlockKNNTransformer(mode=mode, n_neighbors=3).fit_transform(D)
        assert_array_equal(got.indices, want.indices)
        assert_array_equal(got.data, want.data)
        clf = BlockKNNClassifier(n_neighbors=3).fit(X, np.zeros(40))
        got = clf.kneighbors_graph(None, mode=mode)
        want = KNeighborsClassifier(n_neighbors=3, algorithm="brute")
        want = want.fit(D.astype(float), np.zeros(40)).kneighbors_graph(None, mode=mode)
        assert_allclose(got.toarray(), want.toarray(), rtol=1e-12)


def test_predict_proba_matches_sklearn():
    rng = np.random.default_rng(7)
    X = _random_csr(150, 40, 0.2, np.float64, rng)
    Q = _random_csr(30, 40, 0.2, np.float64, rng)
    y = rng.integers(0, 3, 150)
    for weights in ("uniform", "distance"):
        ours = BlockKNNClassifier(n_neighbors=5, weights=weights).fit(X, y)
        theirs = KNeighborsClassifier(n_neighbors=5, weights=weights, algorithm="brute")
        theirs.fit(X, y)
        assert_allclose(ours.predict_proba(Q), theirs.predict_proba(Q), rtol=1e-9)
        assert_array_equal(ours.predict(Q), theirs.predict(Q))


def test_threads_and_blocks_do_not_change_results():
    rng = np.random.default_rng(8)
    X = sparse.csr_matrix(_integer_images(90, 25, rng))
    Q = sparse.csr_matrix(_integer_images(37, 25, rng))
    want = (
        BlockKNNClassifier(n_neighbors=5, n_jobs=1).fit(X, np.zeros(90)).kneighbors(Q)
    )
    for n_jobs, block_size in [(2, None), (2, 3), (1, (1, 7))]:
        est = BlockKNNClassifier(n_neighbors=5, n_jobs=n_jobs, block_size=block_size)
        got = est.fit(X, np.zeros(90)).kneighbors(Q)
        assert_array_equal(got[0], want[0])
        assert_array_equal(got[1], want[1])


def test_reuse_keys_sparse_searches_apart_from_dense_ones():
    rng = np.random.default_rng(9)
    D = _integer_images(50, 12, rng).astype(np.float64) + 0.5 * (
        rng.random((50, 12)) < 0.1
    )
    X = sparse.csr_matrix(D)
    search_cache.clear()
    sp = BlockKNNClassifier(n_neighbors=3).fit(X, np.zeros(50))
    first = sp.kneighbors()
    second = sp.kneighbors()
    assert search_cache.hits == 1
    assert_array_equal(first[1], second[1])
    keys = list(search_cache._entries)
    assert keys and all(key[0] == "sparse" for key in keys)
    BlockKNNClassifier(n_neighbors=3).fit(D, np.zeros(50)).kneighbors()
    assert search_cache.hits == 1  # the dense search of the same values ran
    assert sum(key[0] == "sparse" for key in search_cache._entries) == 1


def test_pickled_sparse_model_searches_the_same():
    rng = np.random.default_rng(10)
    X = sparse.csr_matrix(_integer_images(30, 10, rng))
    est = BlockKNNClassifier(n_neighbors=2).fit(X, np.arange(30) % 2)
    loaded = pickle.loads(pickle.dumps(est))
    assert_array_equal(loaded.kneighbors(X)[1], est.kneighbors(X)[1])


def test_sharded_search_refuses_sparse_training_rows_clearly():
    pytest.importorskip("distributed")
    from fmnist.distributed import scatter_shards, sharded_predict

    X = sparse.csr_matrix(np.eye(4))
    est = BlockKNNClassifier(n_neighbors=1).fit(X, [0, 1, 0, 1])
    # Refused before the cluster is reached: no client is needed.
    with pytest.raises(TypeError, match="fitted on sparse rows"):
        sharded_predict(None, est, np.eye(4))
    with pytest.raises(TypeError, match="fitted on sparse rows"):
        scatter_shards(None, est)
