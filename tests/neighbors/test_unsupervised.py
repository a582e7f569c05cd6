"""BlockNearestNeighbors against scikit-learn's NearestNeighbors.

The k nearest and their graphs are compared with
:class:`sklearn.neighbors.NearestNeighbors`; radius results as sets of
training indices, which may differ from scikit-learn's only for samples
within float rounding of the radius (scikit-learn rounds differently), and
with an exact reference everywhere on integer data, where the boundary is
decided in integer arithmetic.
"""

import pickle

import numpy as np
import pytest
from _knn_helpers import blob_images, exact_distances
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import NearestNeighbors

from fmnist import BlockNearestNeighbors
from fmnist.neighbors import _radius

METRICS = [
    ("minkowski", 2),
    ("euclidean", 2),
    ("sqeuclidean", 2),
    ("manhattan", 2),
    ("chebyshev", 2),
    ("minkowski", 3),
    ("cosine", 2),
]


def _float_data(n=60, n_queries=13, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, n_features)), rng.random((n_queries, n_features))


def _uint8_data(n=80, n_queries=11, n_features=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, n_features)).astype(np.uint8)
    X[5] = X[3]  # a duplicate row: a neighbour at distance 0 of another sample
    return X, rng.integers(0, 256, (n_queries, n_features)).astype(np.uint8)


def _median_distance(Q, X, metric, p):
    return float(np.median(exact_distances(Q, X, metric, p)))


def _assert_same_sets_off_the_boundary(ours, ref, exact, radius):
    """Per query, the same training indices, except samples whose exact
    distance is within rounding of ``radius``."""
    tolerance = 1e-9 * max(radius, 1.0)
    assert ours.shape == ref.shape and ours.dtype == object
    for i, (a, b) in enumerate(zip(ours, ref)):
        for j in np.setxor1d(a, b):
            assert abs(exact[i, j] - radius) <= tolerance, (i, j)


@pytest.mark.parametrize("metric, p", METRICS)
def test_radius_neighbors_match_sklearn_on_float_data(metric, p):
    X, Q = _float_data()
    params = dict(metric=metric, p=p)
    ours = BlockNearestNeighbors(**params).fit(X)
    ref = NearestNeighbors(algorithm="brute", **params).fit(X)
    radius = _median_distance(Q, X, metric, p)
    for queries in (Q, None):
        exact = exact_distances(X if queries is None else Q, X, metric, p)
        dist, ind = ours.radius_neighbors(queries, radius=radius)
        ref_dist, ref_ind = ref.radius_neighbors(queries, radius=radius)
        _assert_same_sets_off_the_boundary(ind, ref_ind, exact, radius)
        for i, (d, j) in enumerate(zip(dist, ind)):
            assert d.dtype == np.float64 and j.dtype == np.intp
            assert_array_equal(j, np.sort(j))  # by training index
            assert np.all(d <= radius)
            assert_allclose(d, exact[i, j], rtol=1e-12, atol=1e-15)
            if queries is None:
                assert i not in j
    assert ours.effective_metric_ == ref.effective_metric_


# Cosine distances of integer rows are rounded quotients (exact only for
# parallel rows, tested below).
@pytest.mark.parametrize("metric, p", [m for m in METRICS if m[0] != "cosine"])
def test_radius_neighbors_are_exact_on_integer_data(metric, p):
    X, Q = _uint8_data()
    ours = BlockNearestNeighbors(metric=metric, p=p).fit(X)
    for queries, rows in ((Q, Q), (None, X)):
        exact = exact_distances(rows, X, metric, p)
        # Radii at the distances themselves: the samples there are included,
        # and left out just below.
        for radius in np.quantile(exact, [0.02, 0.3], method="nearest"):
            for r in (radius, np.nextafter(radius, 0.0)):
                dist, ind = ours.radius_neighbors(queries, radius=r)
                for i in range(len(rows)):
                    within = np.flatnonzero(exact[i] <= r)
                    if queries is None:
                        within = within[within != i]
                    assert_array_equal(ind[i], within)
                    if metric != "minkowski" or p != 3:  # a root: rounded
                        assert_array_equal(dist[i], exact[i, within])


def test_radius_neighbors_match_sklearn_exactly_on_integer_valued_floats():
    # Manhattan distances of integers are exact in both libraries.
    X, Q = _uint8_data()
    X, Q = X.astype(np.float64), Q.astype(np.float64)
    ours = BlockNearestNeighbors(metric="manhattan").fit(X)
    ref = NearestNeighbors(metric="manhattan", algorithm="brute").fit(X)
    radius = _median_distance(Q, X, "manhattan", 1)
    assert radius in exact_distances(Q, X, "manhattan")  # a sample on the boundary
    for queries in (Q, None):
        dist, ind = ours.radius_neighbors(queries, radius, sort_results=True)
        ref_dist, ref_ind = ref.radius_neighbors(queries, radius, sort_results=True)
        for ours_i, ref_i in zip(ind, ref_ind):
            assert_array_equal(np.sort(ours_i), np.sort(ref_i))
        for ours_d, ref_d in zip(dist, ref_dist):
            assert_array_equal(ours_d, ref_d)


@pytest.mark.parametrize("metric, p", METRICS)
def test_returned_distances_are_within_their_own_radius(metric, p):
    # Each distance kneighbors returns, taken as the radius, keeps its sample:
    # the limit on the keys must not drop samples whose distance rounds down
    # to the radius (this fails with no margin above radius**2).
    X, Q = _float_data(n=40, n_queries=30, n_features=7, seed=1)
    ours = BlockNearestNeighbors(metric=metric, p=p).fit(X)
    dist, ind = ours.kneighbors(Q, n_neighbors=40)
    for i in range(len(Q)):
        for k in range(0, 40, 3):
            neigh = ours.radius_neighbors(Q[i : i + 1], radius=dist[i, k])[1][0]
            expected = ind[i, dist[i] <= dist[i, k]]
            assert_array_equal(neigh, np.sort(expected))


@pytest.mark.parametrize("metric, p", METRICS)
def test_infinite_radius_sorted_is_kneighbors_of_every_sample(metric, p):
    X, Q = _uint8_data(n=30)
    ours = BlockNearestNeighbors(metric=metric, p=p).fit(X)
    for queries, k in ((Q, 30), (None, 29)):
        dist, ind = ours.radius_neighbors(queries, np.inf, sort_results=True)
        k_dist, k_ind = ours.kneighbors(queries, n_neighbors=k)
        assert_array_equal(np.stack(list(ind)), k_ind)
        assert_array_equal(np.stack(list(dist)), k_dist)


def test_sort_results_orders_by_distance_then_index():
    X = np.array([[0], [2], [-2], [1], [2], [-1], [0]]) + 3
    nn = BlockNearestNeighbors(radius=2).fit(X)
    dist, ind = nn.radius_neighbors([[3]], sort_results=True)
    assert_array_equal(ind[0], [0, 6, 3, 5, 1, 2, 4])
    assert_array_equal(dist[0], [0, 0, 1, 1, 2, 2, 2])
    dist, ind = nn.radius_neighbors([[3]])
    assert_array_equal(ind[0], np.arange(7))
    # X=None: sample 0 is left out, its duplicate 6 is not.
    dist, ind = nn.radius_neighbors(sort_results=True)
    assert_array_equal(ind[0], [6, 3, 5, 1, 2, 4])
    graph = nn.radius_neighbors_graph(mode="distance", sort_results=True)
    assert_array_equal(graph.indices[: graph.indptr[1]], [6, 3, 5, 1, 2, 4])
    assert_array_equal(graph.data[: graph.indptr[1]], [0, 1, 1, 2, 2, 2])


def test_sort_results_needs_return_distance():
    nn = BlockNearestNeighbors().fit([[0], [1]])
    msg = "return_distance must be True if sort_results is True."
    with pytest.raises(ValueError, match=msg):
        nn.radius_neighbors([[0]], return_distance=False, sort_results=True)
    with pytest.raises(ValueError, match=msg):
        NearestNeighbors().fit([[0], [1]]).radius_neighbors(
            [[0]], return_distance=False, sort_results=True
        )
    # Ignored in connectivity mode, as in scikit-learn.
    graph = nn.radius_neighbors_graph([[0]], mode="connectivity", sort_results=True)
    assert_array_equal(graph.toarray(), [[1.0, 1.0]])


def test_empty_results_keep_their_types():
    X, Q = _float_data(n=20, n_queries=4)
    nn = BlockNearestNeighbors(radius=0.0).fit(X)
    for queries, n in ((Q, 4), (None, 20)):
        dist, ind = nn.radius_neighbors(queries)
        assert dist.shape == ind.shape == (n,) and ind.dtype == object
        assert all(d.shape == (0,) and d.dtype == np.float64 for d in dist)
        assert all(j.shape == (0,) and j.dtype == np.intp for j in ind)
        graph = nn.radius_neighbors_graph(queries, mode="distance")
        assert graph.shape == (n, 20) and graph.nnz == 0
    # One training sample: X=None leaves it without neighbours.
    single = BlockNearestNeighbors(radius=np.inf).fit(X[:1])
    assert single.radius_neighbors(return_distance=False)[0].size == 0


def test_object_arrays_even_when_every_query_has_as_many_neighbours():
    nn = BlockNearestNeighbors(radius=10).fit([[0], [1], [2]])
    dist, ind = nn.radius_neighbors([[0], [1]])
    assert ind.shape == (2,) and ind.dtype == object
    assert_array_equal(ind[0], [0, 1, 2])
    ind = nn.radius_neighbors([[0], [1]], return_distance=False)
    assert ind.shape == (2,) and ind.dtype == object


def test_cosine_parallel_integer_rows_are_at_distance_zero():
    X = np.array([[1, 2, 3], [2, 4, 6], [3, 6, 9], [1, 2, 4], [0, 0, 0]], np.uint8)
    nn = BlockNearestNeighbors(metric="cosine", radius=0.0).fit(X)
    dist, ind = nn.radius_neighbors()
    assert_array_equal(ind[0], [1, 2])
    assert_array_equal(dist[0], [0.0, 0.0])
    assert_array_equal(ind[3], [])  # nearly parallel, not parallel
    assert_array_equal(ind[4], [])  # the zero row is at distance 1
    dist, ind = nn.radius_neighbors([[1, 2, 4]], radius=1e-2)
    assert_array_equal(ind[0], [0, 1, 2, 3])
    assert 0 < dist[0][0] < 1e-2 and dist[0][3] == 0.0


@pytest.mark.parametrize("mode", ["connectivity", "distance"])
@pytest.mark.parametrize("metric, p", [("minkowski", 2), ("manhattan", 2)])
def test_radius_graph_matches_sklearn(mode, metric, p):
    X, Q = _uint8_data()
    radius = _median_distance(Q, X, metric, p) + 0.5  # off any distance
    ours = BlockNearestNeighbors(metric=metric, p=p, radius=radius).fit(X)
    ref = NearestNeighbors(metric=metric, p=p, radius=radius).fit(X.astype(float))
    for queries in (Q, None):
        graph = ours.radius_neighbors_graph(queries, mode=mode)
        ref_q = None if queries is None else queries.astype(float)
        expected = ref.radius_neighbors_graph(ref_q, mode=mode)
        assert type(graph) is type(expected) and graph.format == "csr"
        assert graph.dtype == np.float64 and graph.shape == expected.shape
        assert graph.indices.dtype == expected.indices.dtype
        assert graph.indptr.dtype == expected.indptr.dtype
        assert_array_equal(graph.indptr, expected.indptr)
        for row in np.split(graph.indices, graph.indptr[1:-1]):
            assert_array_equal(row, np.sort(row))  # by training index
        graph, expected = graph.sorted_indices(), expected.sorted_indices()
        assert_array_equal(graph.indices, expected.indices)
        assert_allclose(graph.data, expected.data, rtol=1e-12)


@pytest.mark.parametrize("metric, p", METRICS)
def test_kneighbors_match_sklearn(metric, p):
    X, Q = _float_data()
    ours = BlockNearestNeighbors(n_neighbors=4, metric=metric, p=p).fit(X)
    ref = NearestNeighbors(n_neighbors=4, metric=metric, p=p).fit(X)
    for queries in (Q, None):
        dist, ind = ours.kneighbors(queries)
        ref_dist, ref_ind = ref.kneighbors(queries)
        assert_allclose(dist, ref_dist, rtol=1e-7, atol=1e-7)
        gaps = np.diff(ref_dist, axis=1).min()
        assert gaps > 1e-6  # no near-ties on this data: the same neighbours
        assert_array_equal(ind, ref_ind)
        for mode in ("connectivity", "distance"):
            graph = ours.kneighbors_graph(queries, mode=mode)
            expected = ref.kneighbors_graph(queries, mode=mode)
            assert_array_equal(graph.indices, expected.indices)
            assert_allclose(graph.data, expected.data, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_pruned_first_path_gives_the_kernels_answer(metric, monkeypatch):
    # Where the pruned search serves, it answers the queries with few
    # neighbours and the kernel the others: the same answer, bit for bit, as
    # the kernel alone (algorithm='brute'), through both paths.
    X, Q = blob_images(600, 8, 0), blob_images(30, 8, 1)
    brute = BlockNearestNeighbors(metric=metric, algorithm="brute").fit(X)
    pruned = BlockNearestNeighbors(metric=metric, algorithm="pruned").fit(X)
    calls = []
    by_kernel = _radius._by_kernel
    monkeypatch.setattr(
        _radius, "_by_kernel", lambda *args: calls.append(1) or by_kernel(*args)
    )
    dist = brute.kneighbors(Q, 40)[0]
    # The smallest 6th distance: every query of Q has its 32 nearest beyond
    # it, and the kernel is not needed; the median 32nd distance and an
    # infinite radius need it.
    radii = {dist[:, 5].min(): False, np.median(dist[:, 31]): True, np.inf: True}
    for radius, kernel_needed in radii.items():
        for queries in (Q, None):
            for sort_results in (False, True):
                calls.clear()
                ours = pruned.radius_neighbors(
                    queries, radius, sort_results=sort_results
                )
                if queries is not None:
                    assert bool(calls) == kernel_needed
                ref = brute.radius_neighbors(queries, radius, sort_results=sort_results)
                for a, b in zip(ours[0], ref[0]):
                    assert_array_equal(a, b)
                for a, b in zip(ours[1], ref[1]):
                    assert_array_equal(a, b)


def test_results_do_not_depend_on_blocks_or_threads():
    X, Q = _uint8_data(n=150, n_queries=37)
    radius = _median_distance(Q, X, "euclidean", 2)
    results = []
    for block_size, n_jobs in ((None, 1), ((3, 5), 2), ((8, 4), 2), (1, 1)):
        nn = BlockNearestNeighbors(
            radius=radius, block_size=block_size, n_jobs=n_jobs
        ).fit(X)
        results.append((nn.radius_neighbors(Q), nn.radius_neighbors()))
    for other in results[1:]:
        for ours, first in zip(other, results[0]):
            for a, b in zip(ours[0], first[0]):
                assert_array_equal(a, b)
            for a, b in zip(ours[1], first[1]):
                assert_array_equal(a, b)


def test_queries_are_searched_one_block_at_a_time(monkeypatch):
    # Memory holds one block's pairs: the kernel never gets more queries.
    X, Q = _uint8_data(n=50, n_queries=23)
    from fmnist.neighbors._brute import _radius as kernels

    seen = []
    entry_point = kernels.entry_point

    def recording(tile, key):
        kernel = entry_point(tile, key)

        def run(pairs, limit, exclude_self, blocks):
            seen.append(blocks.stop - blocks.start)
            return kernel(pairs, limit, exclude_self, blocks)

        return run

    monkeypatch.setattr(kernels, "entry_point", recording)
    nn = BlockNearestNeighbors(radius=np.inf, block_size=(4, 16), n_jobs=1).fit(X)
    dist, ind = nn.radius_neighbors(Q)
    assert seen == [4] * 5 + [3]
    assert sum(len(j) for j in ind) == 23 * 50


def test_image_stacks_and_other_query_dtypes():
    X, Q = _uint8_data(n_features=16)
    nn = BlockNearestNeighbors(radius=300).fit(X.reshape(-1, 4, 4))
    ind = nn.radius_neighbors(Q.reshape(-1, 4, 4), return_distance=False)
    for dtype in (np.float32, np.float64, np.int64):
        other = nn.radius_neighbors(Q.astype(dtype), return_distance=False)
        for a, b in zip(ind, other):
            assert_array_equal(a, b)
    half = nn.radius_neighbors(Q + 0.5, return_distance=False)  # float queries
    exact = exact_distances(Q + 0.5, X.astype(np.float64), "euclidean")
    for i, j in enumerate(half):
        assert_array_equal(j, np.flatnonzero(exact[i] <= 300))


def test_errors():
    X, Q = _float_data(n=10, n_queries=2)
    with pytest.raises(NotFittedError):
        BlockNearestNeighbors().radius_neighbors(Q)
    with pytest.raises(NotFittedError):
        BlockNearestNeighbors().radius_neighbors_graph(Q)
    msg = "The 'radius' parameter of BlockNearestNeighbors must be a float in the"
    with pytest.raises(ValueError, match=msg):
        BlockNearestNeighbors(radius=-1.0).fit(X)
    nn = BlockNearestNeighbors().fit(X)
    for radius in (-0.5, np.nan):
        with pytest.raises(ValueError, match="radius must be a real number >= 0"):
            nn.radius_neighbors(Q, radius=radius)
    with pytest.raises(TypeError, match="radius must be a real number >= 0"):
        nn.radius_neighbors(Q, radius="1")
    nn.set_params(radius=-2)
    with pytest.raises(ValueError, match=r"Got -2 instead"):
        nn.radius_neighbors(Q)
    nn.set_params(radius=1.0)
    with pytest.raises(ValueError, match="Unsupported mode"):
        nn.radius_neighbors_graph(Q, mode="weights")
    with pytest.raises(ValueError, match="X has 3 features"):
        nn.radius_neighbors(Q[:, :3])
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        nn.kneighbors(Q, n_neighbors=11)


def test_key_limit_keeps_every_key_within_the_radius():
    from fmnist.neighbors._metrics import resolve_metric

    euclidean, _ = resolve_metric("euclidean")
    # sqrt(2) rounds down: the key 2 has the distance np.sqrt(2).
    assert _radius.key_limit(euclidean, 2, np.sqrt(2), np.int64) == 2
    assert _radius.key_limit(euclidean, 2, 3.0, np.int64) == 9
    assert _radius.key_limit(euclidean, 2, np.inf, np.int64) == np.iinfo(np.int64).max
    manhattan, _ = resolve_metric("manhattan")
    assert _radius.key_limit(manhattan, 2, 7.5, np.int64) == 7
    assert _radius.key_limit(manhattan, 2, 0.0, np.float64) == 0.0


def test_pickle_and_clone():
    X, Q = _uint8_data()
    nn = BlockNearestNeighbors(radius=400.0, metric="manhattan", n_neighbors=3)
    nn.fit(X)
    before = nn.radius_neighbors(Q, radius=1500.0)
    loaded = pickle.loads(pickle.dumps(nn))
    after = loaded.radius_neighbors(Q, radius=1500.0)
    for a, b in zip(before[1], after[1]):
        assert_array_equal(a, b)
    assert_array_equal(nn.kneighbors(Q)[1], loaded.kneighbors(Q)[1])
    fresh = clone(nn)
    assert fresh.get_params() == nn.get_params()
    assert not hasattr(fresh, "n_samples_fit_")
