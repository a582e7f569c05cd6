"""``metric="precomputed"`` (dense matrices and sparse neighbour graphs),
fitting on a fitted index, and multi-output targets."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import pairwise_distances
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import BallTree, KDTree, KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import Pipeline

from fmnist import BlockKNNClassifier, BlockKNNTransformer


def _integer_points(n, n_features, seed):
    """Small integer rows: their squared distances are exact, ties frequent."""
    return np.random.default_rng(seed).integers(0, 4, size=(n, n_features))


def _brute_reference(D, k, exclude_self=False):
    """k nearest columns of each row: by (distance, index), in plain Python."""
    dist, ind = [], []
    for i, row in enumerate(D):
        order = sorted(
            (value, j) for j, value in enumerate(row) if not (exclude_self and j == i)
        )[:k]
        dist.append([v for v, _ in order])
        ind.append([j for _, j in order])
    return np.array(dist, dtype=float), np.array(ind)


@pytest.mark.parametrize("exclude_self", [False, True])
def test_dense_matrix_gives_the_exact_neighbours_with_ties_to_the_lower_index(
    exclude_self,
):
    X = _integer_points(40, 3, seed=0)
    queries = X if exclude_self else _integer_points(15, 3, seed=1)
    # Squared euclidean distances of integers: exact, with many ties.
    D_train = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1).astype(float)
    D_query = ((queries[:, None, :] - X[None, :, :]) ** 2).sum(-1).astype(float)
    clf = BlockKNNClassifier(n_neighbors=6, metric="precomputed")
    clf.fit(D_train, np.arange(40) % 3)
    dist, ind = clf.kneighbors(None if exclude_self else D_query)
    want_dist, want_ind = _brute_reference(D_query, 6, exclude_self)
    np.testing.assert_array_equal(ind, want_ind)
    np.testing.assert_array_equal(dist, want_dist)
    # The same neighbours as the search on the features (same tie rule).
    features = BlockKNNClassifier(n_neighbors=6, metric="sqeuclidean").fit(
        X, np.arange(40) % 3
    )
    np.testing.assert_array_equal(
        features.kneighbors(None if exclude_self else queries)[1], ind
    )


def test_dense_matrix_larger_than_one_block_matches_the_reference():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, size=(300, 2))
    D = np.abs(X[:, None, :] - X[None, :, :]).sum(-1).astype(float)
    clf = BlockKNNClassifier(n_neighbors=4, metric="precomputed").fit(D, X[:, 0])
    dist, ind = clf.kneighbors(None)
    want_dist, want_ind = _brute_reference(D, 4, exclude_self=True)
    np.testing.assert_array_equal(ind, want_ind)
    np.testing.assert_array_equal(dist, want_dist)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
def test_sparse_graph_reads_its_stored_entries_only(fmt):
    X = _integer_points(30, 2, seed=4).astype(float)
    queries = _integer_points(8, 2, seed=5).astype(float)
    transformer = BlockKNNTransformer(n_neighbors=5, mode="distance").fit(X)
    G_train = transformer.transform(X).asformat(fmt)
    G_query = transformer.transform(queries).asformat(fmt)
    clf = BlockKNNClassifier(n_neighbors=3, metric="precomputed")
    clf.fit(G_train, np.arange(30) % 2)
    direct = BlockKNNClassifier(n_neighbors=3).fit(X, np.arange(30) % 2)
    for Q, Q_features in ((G_query, queries), (None, None)):
        dist, ind = clf.kneighbors(Q)
        want_dist, want_ind = direct.kneighbors(Q_features)
        np.testing.assert_array_equal(ind, want_ind)
        np.testing.assert_array_equal(dist, want_dist)
    np.testing.assert_array_equal(clf.predict(G_query), direct.predict(queries))


def test_sparse_graph_needs_enough_entries_and_is_not_modified():
    dense = np.array([[0.0, 2.0, 0.0], [2.0, 0.0, 3.0], [0.0, 3.0, 0.0]])
    graph = sparse.csr_matrix(dense)
    before = (graph.data.copy(), graph.indices.copy(), graph.indptr.copy())
    clf = BlockKNNClassifier(n_neighbors=1, metric="precomputed").fit(graph, [0, 1, 0])
    with pytest.raises(ValueError, match="2 neighbors per samples are required"):
        clf.kneighbors(None)
    for a, b in zip(before, (graph.data, graph.indices, graph.indptr)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([[0.0, -1.0], [1.0, 0.0]]), "Negative values"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN|finite"),
        (np.zeros((2, 3)), "must be square"),
        (sparse.dia_matrix(np.eye(2)), "format is not supported"),
    ],
)
def test_bad_precomputed_matrices_are_refused(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        BlockKNNClassifier(n_neighbors=1, metric="precomputed").fit(bad, [0, 1])


def test_query_matrix_must_have_a_column_per_training_sample():
    clf = BlockKNNClassifier(n_neighbors=1, metric="precomputed")
    clf.fit(np.zeros((3, 3)), [0, 1, 0])
    with pytest.raises(ValueError, match="3 features"):
        clf.predict(np.zeros((2, 4)))


def test_changing_to_precomputed_after_fit_asks_for_a_new_fit():
    clf = BlockKNNClassifier(n_neighbors=1).fit(np.eye(3), [0, 1, 0])
    clf.set_params(metric="precomputed")
    with pytest.raises(ValueError, match="call fit again"):
        clf.predict(np.eye(3))


def test_cross_validation_splits_the_matrix_by_rows_and_columns():
    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    y = rng.integers(0, 3, size=40)
    D = pairwise_distances(X)
    on_features = cross_val_score(BlockKNNClassifier(), X, y)
    on_matrix = cross_val_score(BlockKNNClassifier(metric="precomputed"), D, y)
    np.testing.assert_array_equal(on_features, on_matrix)


def test_graph_pipeline_reuses_the_cached_graph_across_a_grid(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 5, size=(120, 4)).astype(float)
    y = (X[:, 0] + X[:, 1] > 4).astype(int)
    pipe = Pipeline(
        [
            ("graph", BlockKNNTransformer(n_neighbors=10, mode="distance")),
            ("knn", BlockKNNClassifier(metric="precomputed")),
        ],
        memory=str(tmp_path),
    )
    grid = GridSearchCV(pipe, {"knn__n_neighbors": [1, 3, 5, 9]}, cv=3).fit(X, y)
    plain = GridSearchCV(BlockKNNClassifier(), {"n_neighbors": [1, 3, 5, 9]}, cv=3)
    plain.fit(X, y)
    np.testing.assert_array_equal(
        grid.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )
    # One graph per fold (3) and the refit (1) were computed, then reused.
    cached = [p for p in tmp_path.rglob("output.pkl")]
    assert len(cached) == 4


@pytest.mark.parametrize(
    "make_index",
    [
        lambda X: NearestNeighbors().fit(X),
        lambda X: BlockKNNTransformer().fit(X),
        BallTree,
        KDTree,
    ],
)
def test_fit_takes_a_fitted_index(make_index):
    X = np.random.default_rng(2).random((20, 3))
    y = np.arange(20) % 2
    from_index = BlockKNNClassifier(n_neighbors=2).fit(make_index(X), y)
    from_rows = BlockKNNClassifier(n_neighbors=2).fit(X, y)
    np.testing.assert_array_equal(
        from_index.kneighbors(X)[1], from_rows.kneighbors(X)[1]
    )


def test_multi_output_votes_per_column_as_scikit_learn():
    rng = np.random.default_rng(5)
    X = rng.integers(0, 6, size=(60, 3))
    y = np.column_stack([rng.integers(0, 3, size=60), 10 * rng.integers(1, 3, 60)])
    queries = rng.integers(0, 6, size=(10, 3))
    for weights in ("uniform", "distance"):
        ours = BlockKNNClassifier(n_neighbors=5, weights=weights).fit(X, y)
        theirs = KNeighborsClassifier(
            n_neighbors=5, weights=weights, algorithm="brute"
        ).fit(X, y)
        assert ours.outputs_2d_ and len(ours.classes_) == 2
        # Ties in the neighbour order may differ from scikit-learn's; the
        # votes are compared where the k-th distance is not tied.
        dist = ours.kneighbors(queries, n_neighbors=6)[0]
        clear = dist[:, 4] < dist[:, 5]
        np.testing.assert_array_equal(
            ours.predict(queries)[clear], theirs.predict(queries)[clear]
        )
        for p_ours, p_theirs in zip(
            ours.predict_proba(queries), theirs.predict_proba(queries)
        ):
            np.testing.assert_allclose(p_ours[clear], p_theirs[clear])
    with pytest.raises(ValueError, match="single-output"):
        ours.search_index()


def test_column_vector_y_warns_and_is_one_output():
    X = np.arange(10.0).reshape(-1, 1)
    y = (np.arange(10) > 4).astype(int).reshape(-1, 1)
    with pytest.warns(DataConversionWarning, match="column-vector"):
        clf = BlockKNNClassifier(n_neighbors=3).fit(X, y)
    assert not clf.outputs_2d_
    assert clf.predict(X).shape == (10,)
