"""BlockKNNTransformer and kneighbors_graph against scikit-learn.

The graphs are compared with :class:`sklearn.neighbors.KNeighborsTransformer`
and ``KNeighborsClassifier.kneighbors_graph`` (structure, values, container
and dtypes), then fed to the estimators that take a precomputed neighbors
graph. On integer-valued data both libraries compute every distance exactly,
so the downstream results must be identical, not merely close.
"""

import pickle

import numpy as np
import pytest
import sklearn
from _knn_helpers import exact_distances
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.cluster import DBSCAN, SpectralClustering
from sklearn.manifold import TSNE, Isomap
from sklearn.neighbors import (
    KNeighborsClassifier,
    KNeighborsTransformer,
    NearestNeighbors,
)
from sklearn.pipeline import Pipeline

from fmnist import BlockKNNClassifier, BlockKNNTransformer


def _float_data(n=60, n_queries=13, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, n_features)), rng.random((n_queries, n_features))


def _blobs(n=150, n_features=20, seed=0):
    """Integer-valued float64 data in three clusters, with no tied distances
    among the first neighbours (checked by the tests that rely on it)."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 20_000, size=(3, n_features))
    y = np.repeat(np.arange(3), n // 3)
    X = centres[y] + rng.integers(-1_000, 1_001, size=(len(y), n_features))
    return X.astype(np.float64), y


def _assert_same_graph(ours, ref, exact=False):
    """Same structure; the same values when both libraries compute them exactly."""
    assert type(ours) is type(ref)
    assert ours.format == "csr" and ours.shape == ref.shape
    assert ours.dtype == ref.dtype == np.float64
    assert ours.indices.dtype == ref.indices.dtype
    assert ours.indptr.dtype == ref.indptr.dtype
    assert_array_equal(ours.indptr, ref.indptr)
    assert_array_equal(ours.indices, ref.indices)  # same order: nearest first
    if exact:
        assert_array_equal(ours.data, ref.data)


def _assert_graph_values(ours, ref, A, B, metric, p):
    """Our distances against the exact ones, sklearn's within its own rounding.

    scikit-learn computes euclidean and cosine distances from matrix products
    (``|a|^2 - 2 a.b + |b|^2``), whose rounding depends on the BLAS kernel
    (AVX2 and AVX-512 builds differ) and grows with the rows' squared norms:
    a point's distance to itself comes out as 0 on one CPU and 2e-8 on
    another. So sklearn's values are compared within that bound, and ours
    with a reference computed from differences, which has no cancellation.
    """
    rows = np.repeat(np.arange(ours.shape[0]), np.diff(ours.indptr))
    exact = exact_distances(A, B, metric, p)[rows, ours.indices]
    assert_allclose(ours.data, exact, rtol=1e-12, atol=1e-15)
    if metric in ("euclidean", "cosine"):
        # Products of rows with squared norms n_a, n_b: the squared distance
        # is off by at most a few units of eps * (n_a + n_b).
        norms = (A**2).sum(axis=1)[rows] + (B**2).sum(axis=1)[ours.indices]
        if metric == "cosine":
            norms = np.full_like(norms, 2.0)
        bound = 64 * np.finfo(np.float64).eps * norms
        square = (lambda d: d**2) if metric == "euclidean" else (lambda d: d)
        assert np.all(np.abs(square(ours.data) - square(ref.data)) <= bound)
    else:  # sklearn takes differences too: the same values up to summation order
        assert_allclose(ours.data, ref.data, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["distance", "connectivity"])
@pytest.mark.parametrize(
    "metric, p",
    [
        ("euclidean", 2),
        ("manhattan", 2),
        ("chebyshev", 2),
        ("minkowski", 3),
        ("cosine", 2),
    ],
)
def test_matches_sklearn_transformer_on_float_data(mode, metric, p):
    X, Q = _float_data()
    params = dict(mode=mode, n_neighbors=4, metric=metric, p=p)
    ours = BlockKNNTransformer(**params)
    ref = KNeighborsTransformer(algorithm="brute", **params)
    for graphs, queries in [
        ((ours.fit_transform(X), ref.fit_transform(X)), X),
        ((ours.transform(Q), ref.transform(Q)), Q),
        ((ours.fit(X).transform(X), ref.fit(X).transform(X)), X),
    ]:
        _assert_same_graph(*graphs)
        if mode == "distance":
            _assert_graph_values(*graphs, queries, X, metric, p)
        else:
            assert_array_equal(graphs[0].data, graphs[1].data)
    assert ours.effective_metric_ == ref.effective_metric_
    assert ours.n_samples_fit_ == ref.n_samples_fit_ == X.shape[0]
    assert_array_equal(
        ours.get_feature_names_out(),
        [f"blockknntransformer{i}" for i in range(X.shape[0])],
    )
    assert len(ref.get_feature_names_out()) == len(ours.get_feature_names_out())


@pytest.mark.parametrize("mode", ["distance", "connectivity"])
def test_matches_sklearn_exactly_on_integer_data(mode):
    X, _ = _blobs()
    ours = BlockKNNTransformer(mode=mode, n_neighbors=6).fit_transform(X)
    ref = KNeighborsTransformer(mode=mode, n_neighbors=6).fit_transform(X)
    _assert_same_graph(ours, ref, exact=True)


def test_graph_layout():
    X, Q = _float_data(n=20, n_queries=3)
    graph = BlockKNNTransformer(n_neighbors=3).fit_transform(X)
    assert graph.nnz == 20 * 4
    assert_array_equal(graph.indptr, np.arange(0, 20 * 4 + 1, 4))
    # Each sample is its own nearest neighbour, stored as an explicit zero.
    assert_array_equal(graph.indices[::4], np.arange(20))
    assert_array_equal(graph.data[::4], 0.0)
    rows = graph.data.reshape(20, 4)
    assert np.all(np.diff(rows, axis=1) >= 0)

    connectivity = BlockKNNTransformer(mode="connectivity", n_neighbors=3).fit(X)
    graph = connectivity.transform(Q)
    assert graph.nnz == 3 * 3 and np.all(graph.data == 1.0)


def test_duplicates_follow_the_tie_rule():
    X = np.array([[0.0], [5.0], [0.0], [0.0], [9.0]])
    graph = BlockKNNTransformer(n_neighbors=1).fit_transform(X)
    # Rows 2 and 3 are duplicates of row 0: the lower index comes first.
    assert_array_equal(graph.indices.reshape(5, 2)[:, 0], [0, 1, 0, 0, 4])
    assert_array_equal(graph.indices.reshape(5, 2)[2:4, 1], [2, 2])


def test_too_many_neighbors_message_as_sklearn():
    X, _ = _float_data(n=5)
    for est in (
        BlockKNNTransformer(n_neighbors=5),
        KNeighborsTransformer(n_neighbors=5),
    ):
        with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
            est.fit_transform(X)
    # 'connectivity' does not add the sample itself.
    graph = BlockKNNTransformer(mode="connectivity", n_neighbors=5).fit_transform(X)
    assert graph.nnz == 25


@pytest.mark.parametrize("interface", ["spmatrix", "sparray"])
def test_sparse_interface_follows_sklearn_config(interface):
    X, _ = _float_data(n=10)
    with sklearn.config_context(sparse_interface=interface):
        ours = BlockKNNTransformer(n_neighbors=2).fit_transform(X)
        ref = KNeighborsTransformer(n_neighbors=2).fit_transform(X)
    assert type(ours) is type(ref)
    assert sparse.issparse(ours) and (interface == "sparray") == isinstance(
        ours, sparse.sparray
    )


def test_images_uint8_and_set_params():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(30, 4, 5), dtype=np.uint8)
    flat = images.reshape(30, -1)
    est = BlockKNNTransformer(n_neighbors=3)
    graph = est.fit_transform(images)
    _assert_same_graph(
        graph, KNeighborsTransformer(n_neighbors=3).fit_transform(flat), exact=True
    )
    assert est.n_features_in_ == 20
    # A search parameter changed after fit takes effect without a refit.
    est.set_params(metric="manhattan")
    ref = KNeighborsTransformer(n_neighbors=3, metric="manhattan").fit(flat)
    _assert_same_graph(est.transform(images[:7]), ref.transform(flat[:7]), exact=True)


def test_pickle_round_trip():
    X, Q = _float_data()
    est = BlockKNNTransformer(n_neighbors=4, metric="cosine").fit(X)
    loaded = pickle.loads(pickle.dumps(est))
    _assert_same_graph(loaded.transform(Q), est.transform(Q), exact=True)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("data", ["float", "ties"])
def test_precomputed_pipeline_predicts_as_block_classifier(weights, data, tmp_path):
    rng = np.random.default_rng(2)
    if data == "float":
        X, Q = _float_data(n=120, n_queries=40)
    else:  # few distinct values: many tied distances and tied votes
        X = rng.integers(0, 3, size=(120, 3)).astype(np.uint8)
        Q = rng.integers(0, 3, size=(40, 3)).astype(np.uint8)
    y = rng.integers(0, 4, size=X.shape[0])
    k = 5
    pipe = Pipeline(
        [
            ("knn", BlockKNNTransformer(n_neighbors=k)),
            (
                "clf",
                KNeighborsClassifier(
                    n_neighbors=k, metric="precomputed", weights=weights
                ),
            ),
        ],
        memory=str(tmp_path),
    )
    pipe.fit(X, y)
    expected = BlockKNNClassifier(n_neighbors=k, weights=weights).fit(X, y)
    assert_array_equal(pipe.predict(Q), expected.predict(Q))
    assert_allclose(pipe.predict_proba(Q), expected.predict_proba(Q))
    # Refitting reads the cached transformer from ``memory``.
    assert_array_equal(pipe.fit(X, y).predict(Q), expected.predict(Q))


def _graphs(X, **params):
    """Our graph and scikit-learn's, checked equal (no tie at the cut)."""
    ours = BlockKNNTransformer(**params).fit_transform(X)
    ref = KNeighborsTransformer(**params).fit_transform(X)
    _assert_same_graph(ours, ref, exact=True)
    return ours, ref


@pytest.mark.slow
def test_feeds_tsne():
    X, _ = _blobs()
    perplexity = 10
    ours, ref = _graphs(X, n_neighbors=int(3 * perplexity + 1))
    params = dict(
        metric="precomputed",
        init="random",
        perplexity=perplexity,
        max_iter=250,
        random_state=0,
    )
    emb = TSNE(**params).fit_transform(ours)
    assert emb.shape == (X.shape[0], 2) and np.isfinite(emb).all()
    assert_array_equal(emb, TSNE(**params).fit_transform(ref))


def test_feeds_isomap():
    X, y = _blobs()
    X = X[y == 0]  # one blob: a connected graph
    ours, ref = _graphs(X, n_neighbors=8)
    params = dict(
        n_neighbors=8, metric="precomputed", n_components=2, eigen_solver="dense"
    )
    emb = Isomap(**params).fit_transform(ours)
    assert emb.shape == (X.shape[0], 2) and np.isfinite(emb).all()
    assert_allclose(emb, Isomap(**params).fit_transform(ref), rtol=1e-10, atol=1e-10)


def test_feeds_dbscan():
    X, y = _blobs()
    ours, ref = _graphs(X, n_neighbors=10)
    # eps above every graph distance: the graph alone decides the clusters.
    labels = DBSCAN(eps=1e6, min_samples=5, metric="precomputed").fit_predict(ours)
    assert labels.shape == y.shape
    assert_array_equal(
        labels, DBSCAN(eps=1e6, min_samples=5, metric="precomputed").fit_predict(ref)
    )
    # The blobs are well apart: the clusters are the blobs.
    assert len(set(labels)) == 3 and -1 not in labels
    assert all(len(set(labels[y == c])) == 1 for c in range(3))


# One connected component per blob, as intended.
@pytest.mark.filterwarnings("ignore:Graph is not fully connected:UserWarning")
def test_feeds_spectral_clustering():
    X, y = _blobs()
    ours, ref = _graphs(X, mode="connectivity", n_neighbors=10)
    params = dict(
        n_clusters=3,
        affinity="precomputed_nearest_neighbors",
        n_neighbors=10,
        random_state=0,
    )
    labels = SpectralClustering(**params).fit_predict(ours)
    assert_array_equal(labels, SpectralClustering(**params).fit_predict(ref))
    assert all(len(set(labels[y == c])) == 1 for c in range(3))


def test_tsne_neighbour_step_is_the_same_graph():
    # TSNE(metric="euclidean") searches with NearestNeighbors and keeps each
    # sample's neighbours other than itself: the transformer's graph without
    # its first column.
    X, _ = _blobs()
    k = 31
    internal = NearestNeighbors(n_neighbors=k).fit(X).kneighbors_graph(mode="distance")
    ours = (
        BlockKNNClassifier(n_neighbors=k)
        .fit(X, np.zeros(len(X)))
        .kneighbors_graph(mode="distance")
    )
    _assert_same_graph(ours, internal, exact=True)


@pytest.mark.parametrize("mode", ["connectivity", "distance"])
@pytest.mark.parametrize("queries", [None, "other"])
@pytest.mark.parametrize("n_neighbors", [None, 1, 7])
def test_classifier_kneighbors_graph_matches_sklearn(mode, queries, n_neighbors):
    X, Q = _float_data()
    y = np.arange(X.shape[0]) % 3
    Xq = None if queries is None else Q
    ours = BlockKNNClassifier(n_neighbors=4).fit(X, y)
    ref = KNeighborsClassifier(n_neighbors=4, algorithm="brute").fit(X, y)
    _assert_same_graph(
        ours.kneighbors_graph(Xq, n_neighbors=n_neighbors, mode=mode),
        ref.kneighbors_graph(Xq, n_neighbors=n_neighbors, mode=mode),
    )


def test_classifier_kneighbors_graph_errors():
    X, _ = _float_data(n=6)
    est = BlockKNNClassifier(n_neighbors=2).fit(X, np.arange(6) % 2)
    with pytest.raises(ValueError, match='Unsupported mode.*"weird"'):
        est.kneighbors_graph(mode="weird")
    with pytest.raises(ValueError, match="Expected n_neighbors < n_samples_fit"):
        est.kneighbors_graph(n_neighbors=6)
    with pytest.raises(TypeError, match="n_neighbors does not take"):
        est.kneighbors_graph(n_neighbors=2.0)
