"""The metrics of the generic search, metric_params and callable metrics,
against SciPy's cdist, scikit-learn's pairwise distances and its brute force."""

import pickle
import warnings

import numba
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics.pairwise import haversine_distances, nan_euclidean_distances
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier, KNeighborsTransformer

from fmnist import BlockKNNClassifier, BlockKNNTransformer
from fmnist.neighbors import search_cache

N_TRAIN, N_QUERY, N_FEATURES = 40, 9, 5
RTOL = 1e-9

FLOAT_METRICS = ["braycurtis", "canberra", "correlation", "hamming"]
BOOLEAN_METRICS = [
    "dice",
    "jaccard",
    "rogerstanimoto",
    "russellrao",
    "sokalsneath",
    "yule",
]


@numba.njit
def njit_manhattan(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        total += abs(x[i] - y[i])
    return total


def python_manhattan(x, y):
    return float(np.abs(x - y).sum())


def python_correlation(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(cdist(x[None], y[None], "correlation")[0, 0])


def _data(dtype, seed=0, n_train=N_TRAIN, n_features=N_FEATURES):
    """Training rows and queries of ``dtype``, values that give no NaN
    distance for the metrics tested (no all-zero or constant rows)."""
    rng = np.random.default_rng(seed)
    shape = (n_train + N_QUERY, n_features)
    if dtype == np.bool_:
        A = rng.random(shape) < 0.5
        A[:, 0] = True  # every row has a true feature
        A[:, 1] = ~A[:, 2]  # and a false one
    elif np.dtype(dtype).kind == "i":
        A = rng.integers(1, 30, shape).astype(dtype)
        A[:, 0] = 0  # whole numbers from 0: zeros in canberra's terms
    else:
        A = rng.normal(size=shape).astype(dtype)
    return A[:n_train], A[n_train:]


def _all_distances(est, Q):
    """Every training row's distance, ordered by training index."""
    dist, ind = est.kneighbors(Q, n_neighbors=est.n_samples_fit_)
    out = np.empty_like(dist)
    np.put_along_axis(out, ind, dist, axis=1)
    return out


def _labels(n=N_TRAIN):
    return np.arange(n) % 3


def _assert_neighbours_like_sklearn(ours, ref, Q, k, rtol=RTOL):
    """Distances within RTOL and, for queries with no near-tie around the
    k-th neighbour, the same neighbours (in order where no near-tie)."""
    n_fit = ours.n_samples_fit_
    dist, ind = ours.kneighbors(Q, n_neighbors=n_fit)
    ref_dist, ref_ind = ref.kneighbors(Q, n_neighbors=n_fit)
    np.testing.assert_allclose(dist, ref_dist, rtol=rtol, atol=1e-12)
    gaps = np.diff(ref_dist, axis=1) > 10 * rtol * np.maximum(1.0, ref_dist[:, 1:])
    for q in range(len(Q)):
        clear = np.flatnonzero(gaps[q, :k])  # gaps up to the k-th
        if k - 1 in clear:
            assert set(ind[q, :k]) == set(ref_ind[q, :k])
        for pos in range(k):
            before = pos == 0 or gaps[q, pos - 1]
            if before and gaps[q, pos]:
                assert ind[q, pos] == ref_ind[q, pos]


# --------------------------------------------------------------------------
# distances against SciPy and scikit-learn


def test_every_dense_brute_force_metric_of_sklearn_is_taken():
    from sklearn.neighbors import VALID_METRICS

    from fmnist.neighbors import METRIC_ALIASES

    assert set(VALID_METRICS["brute"]) - {"precomputed"} == set(METRIC_ALIASES)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("metric", FLOAT_METRICS)
def test_distances_match_cdist(metric, dtype):
    X, Q = _data(dtype)
    if metric == "braycurtis":  # see test_braycurtis_of_negative_values
        X, Q = abs(X), abs(Q)
    est = BlockKNNClassifier(metric=metric).fit(X, _labels())
    expected = cdist(Q.astype(np.float64), X.astype(np.float64), metric)
    np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=RTOL)


def test_braycurtis_of_negative_values():
    # scikit-learn's brute force on float data divides by sum(|x| + |y|), as
    # its DistanceMetric does, SciPy by sum(|x + y|): the same for
    # non-negative values only. The estimator follows its brute force.
    X, Q = _data(np.float64, seed=16)
    est = BlockKNNClassifier(metric="braycurtis").fit(X, _labels())
    expected = abs(Q[:, None] - X).sum(-1) / (abs(Q[:, None]) + abs(X)).sum(-1)
    np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=RTOL)
    ref = KNeighborsClassifier(5, metric="braycurtis", algorithm="brute")
    _assert_neighbours_like_sklearn(est, ref.fit(X, _labels()), Q, 5)


@pytest.mark.parametrize("metric", BOOLEAN_METRICS + ["hamming"])
def test_boolean_distances_match_cdist(metric):
    X, Q = _data(np.bool_)
    est = BlockKNNClassifier(metric=metric).fit(X, _labels())
    expected = cdist(Q, X, metric)
    np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=RTOL)


@pytest.mark.parametrize("metric", BOOLEAN_METRICS)
def test_boolean_metrics_convert_other_data_to_boolean(metric):
    X, Q = _data(np.int64)
    with pytest.warns(DataConversionWarning, match="converted to boolean"):
        est = BlockKNNClassifier(metric=metric).fit(X, _labels())
    expected = cdist(Q != 0, X != 0, metric)
    np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=RTOL)


def test_boolean_distances_by_hand():
    x = np.array([[1, 1, 0, 0, 0]], dtype=bool)
    y = np.array([[1, 0, 1, 0, 0]], dtype=bool)
    # both 1, x only 1, y only 1, neither 2 of 5 features
    expected = {
        "dice": 2 / 4,
        "jaccard": 2 / 3,
        "rogerstanimoto": 4 / 7,
        "russellrao": 4 / 5,
        "sokalsneath": 4 / 5,
        "yule": 2 / 3,
        "hamming": 2 / 5,
    }
    for metric, value in expected.items():
        est = BlockKNNClassifier(n_neighbors=1, metric=metric).fit(y, [0])
        dist, _ = est.kneighbors(x)
        assert dist[0, 0] == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_seuclidean_and_mahalanobis_with_given_parameters(dtype):
    X, Q = _data(dtype)
    rng = np.random.default_rng(1)
    V = rng.random(N_FEATURES) + 0.5
    A = rng.normal(size=(N_FEATURES, N_FEATURES))
    VI = A @ A.T + np.eye(N_FEATURES)
    Xf, Qf = X.astype(np.float64), Q.astype(np.float64)
    for metric, params in (("seuclidean", {"V": V}), ("mahalanobis", {"VI": VI})):
        est = BlockKNNClassifier(metric=metric, metric_params=params)
        est.fit(X, _labels())
        expected = cdist(Qf, Xf, metric, **params)
        np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("p", [0.5, 1, 3])
def test_weighted_minkowski(dtype, p):
    X, Q = _data(dtype)
    w = np.random.default_rng(2).random(N_FEATURES)
    est = BlockKNNClassifier(metric="minkowski", metric_params={"w": w}, p=p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # p < 1
        est.fit(X, _labels())
    assert est.effective_metric_ == "minkowski"
    expected = cdist(Q.astype(np.float64), X.astype(np.float64), "minkowski", p=p, w=w)
    np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=RTOL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_minkowski_below_one_warns_as_sklearn(dtype):
    X, Q = _data(dtype)
    with pytest.warns(UserWarning, match="Mind that for 0 < p < 1"):
        est = BlockKNNClassifier(metric="minkowski", p=0.5).fit(X, _labels())
    expected = cdist(Q.astype(np.float64), X.astype(np.float64), "minkowski", p=0.5)
    np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=RTOL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_haversine(dtype):
    rng = np.random.default_rng(3)
    X = (rng.random((N_TRAIN, 2)) * [np.pi, 2 * np.pi] - [np.pi / 2, np.pi]).astype(
        dtype
    )
    Q = X[:N_QUERY] + dtype(0.01)
    est = BlockKNNClassifier(metric="haversine").fit(X, _labels())
    expected = haversine_distances(Q.astype(np.float64), X.astype(np.float64))
    np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=1e-8)


def test_haversine_needs_two_features():
    with pytest.raises(ValueError, match="only defined for 2 features"):
        BlockKNNClassifier(metric="haversine").fit(np.ones((4, 3)), [0, 1, 0, 1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nan_euclidean(dtype):
    X, Q = _data(dtype)
    rng = np.random.default_rng(4)
    X[rng.random(X.shape) < 0.2] = np.nan
    Q[rng.random(Q.shape) < 0.2] = np.nan
    est = BlockKNNClassifier(metric="nan_euclidean").fit(X, _labels())
    expected = nan_euclidean_distances(Q.astype(np.float64), X.astype(np.float64))
    got = _all_distances(est, Q)
    np.testing.assert_allclose(got, expected, rtol=1e-7, equal_nan=True)
    # NaN is refused by every other metric, as in scikit-learn
    with pytest.raises(ValueError, match="NaN"):
        BlockKNNClassifier(metric="canberra").fit(X, _labels())


# --------------------------------------------------------------------------
# neighbours against scikit-learn's brute force


@pytest.mark.parametrize(
    "metric, params",
    [
        ("braycurtis", None),
        ("canberra", None),
        ("correlation", None),
        ("seuclidean", {"V": np.arange(1.0, N_FEATURES + 1)}),
        ("mahalanobis", {"VI": np.diag(1 / np.arange(1.0, N_FEATURES + 1))}),
        ("minkowski", {"w": np.arange(1.0, N_FEATURES + 1), "p": 3}),
        ("minkowski", {"p": 0.5}),
    ],
)
def test_neighbours_match_sklearn_brute(metric, params):
    X, Q = _data(np.float64, seed=5)
    y = _labels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # p in metric_params, p < 1
        ours = BlockKNNClassifier(5, metric=metric, metric_params=params).fit(X, y)
        ref = KNeighborsClassifier(
            5, metric=metric, metric_params=params, algorithm="brute"
        ).fit(X, y)
    _assert_neighbours_like_sklearn(ours, ref, Q, 5)
    np.testing.assert_allclose(ours.predict_proba(Q), ref.predict_proba(Q))


@pytest.mark.parametrize("metric", BOOLEAN_METRICS + ["hamming"])
def test_boolean_neighbour_distances_match_sklearn_brute(metric):
    X, Q = _data(np.bool_, seed=6)
    y = _labels()
    ours = BlockKNNClassifier(5, metric=metric).fit(X, y)
    ref = KNeighborsClassifier(5, metric=metric, algorithm="brute").fit(X, y)
    # Boolean distances tie often: the sorted distances, not the indices.
    np.testing.assert_allclose(ours.kneighbors(Q)[0], ref.kneighbors(Q)[0], rtol=RTOL)


@pytest.mark.parametrize("metric", ["seuclidean", "mahalanobis"])
def test_parameters_derived_from_training_rows_as_sklearn(metric):
    # scikit-learn derives V (VI) from the training samples for kneighbors()
    # without queries, its only case where they may be left out.
    X, Q = _data(np.float64, seed=7)
    y = _labels()
    ours = BlockKNNClassifier(5, metric=metric).fit(X, y)
    if metric == "seuclidean":
        V = np.var(X, axis=0, ddof=1)
        np.testing.assert_allclose(ours.effective_metric_params_["V"], V)
        params = {"V": V}
    else:
        VI = np.linalg.inv(np.cov(X.T)).T
        np.testing.assert_allclose(ours.effective_metric_params_["VI"], VI)
        params = {"VI": VI}
    ref = KNeighborsClassifier(
        5, metric=metric, metric_params=params, algorithm="brute"
    ).fit(X, y)
    _assert_neighbours_like_sklearn(ours, ref, Q, 5)
    dist, ind = ours.kneighbors()
    ref_dist, ref_ind = ref.kneighbors()
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-8)
    # ... and the derived parameters are those of the training rows only
    expected = cdist(Q, X, metric, **params)
    np.testing.assert_allclose(_all_distances(ours, Q), expected, rtol=1e-8)


def test_kneighbors_without_queries_leaves_each_sample_out():
    X, _ = _data(np.float64, seed=8)
    ours = BlockKNNClassifier(3, metric="canberra").fit(X, _labels())
    ref = KNeighborsClassifier(3, metric="canberra", algorithm="brute")
    ref.fit(X, _labels())
    dist, ind = ours.kneighbors()
    ref_dist, ref_ind = ref.kneighbors()
    np.testing.assert_allclose(dist, ref_dist, rtol=RTOL)
    assert not np.any(ind == np.arange(N_TRAIN)[:, None])


@pytest.mark.parametrize("n_jobs, block_size", [(1, None), (2, 3), (2, (2, 7))])
def test_threads_and_blocks_do_not_change_results(n_jobs, block_size):
    X, Q = _data(np.float32, seed=9, n_train=100)
    Q = np.repeat(Q, 5, axis=0)
    y = _labels(100)
    one = BlockKNNClassifier(7, metric="braycurtis", n_jobs=1, block_size=(64, 64))
    other = BlockKNNClassifier(
        7, metric="braycurtis", n_jobs=n_jobs, block_size=block_size
    )
    d1, i1 = one.fit(X, y).kneighbors(Q)
    d2, i2 = other.fit(X, y).kneighbors(Q)
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(i1, i2)


def test_ties_go_to_the_lower_training_index():
    X = np.array([[1, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool)
    est = BlockKNNClassifier(4, metric="jaccard", block_size=1).fit(X, [0, 1, 0, 1])
    dist, ind = est.kneighbors([[1, 0, 1]])
    np.testing.assert_array_equal(ind, [[0, 2, 1, 3]])
    np.testing.assert_array_equal(dist, [[0.0, 0.0, 2 / 3, 2 / 3]])


def test_transformer_takes_the_new_metrics():
    X, Q = _data(np.float64, seed=10)
    params = {"w": np.arange(1.0, N_FEATURES + 1)}
    ours = BlockKNNTransformer(n_neighbors=4, metric="minkowski", metric_params=params)
    ref = KNeighborsTransformer(
        n_neighbors=4, metric="minkowski", metric_params=params, algorithm="brute"
    )
    got = ours.fit(X).transform(Q).toarray()
    expected = ref.fit(X).transform(Q).toarray()
    np.testing.assert_allclose(got, expected, rtol=RTOL)


# --------------------------------------------------------------------------
# metric_params


def test_p_in_metric_params_takes_precedence_with_sklearn_warning():
    X, Q = _data(np.float64)
    with pytest.warns(SyntaxWarning, match="Parameter p is found in metric_params"):
        est = BlockKNNClassifier(metric="minkowski", p=1, metric_params={"p": 3})
        est.fit(X, _labels())
    assert est.effective_metric_ == "minkowski"
    assert est.effective_metric_params_ == {"p": 3.0, "w": None}
    np.testing.assert_allclose(
        _all_distances(est, Q), cdist(Q, X, "minkowski", p=3), rtol=RTOL
    )


def test_minkowski_w_none_is_unweighted():
    X, _ = _data(np.float64)
    est = BlockKNNClassifier(metric="minkowski", p=2, metric_params={"w": None})
    assert est.fit(X, _labels()).effective_metric_ == "euclidean"


def test_changed_metric_params_are_not_answered_from_the_cache():
    X, Q = _data(np.float64, seed=11)
    est = BlockKNNClassifier(metric="seuclidean", metric_params={"V": np.ones(5)})
    est.fit(X, _labels())
    first = _all_distances(est, Q)
    V = np.arange(1.0, 6.0)
    est.set_params(metric_params={"V": V})
    np.testing.assert_allclose(_all_distances(est, Q), cdist(Q, X, "seuclidean", V=V))
    assert not np.allclose(first, _all_distances(est, Q))
    # the same dict changed in place is seen too
    est.metric_params["V"] = np.ones(5)
    np.testing.assert_allclose(_all_distances(est, Q), first)


@pytest.mark.parametrize(
    "metric, params, error, match",
    [
        ("canberra", {"V": np.ones(5)}, ValueError, "not parameters of the"),
        ("minkowski", {"w": np.ones(4)}, ValueError, r"shape \(5,\)"),
        ("minkowski", {"w": -np.ones(5)}, ValueError, "negative weights"),
        ("minkowski", {"w": np.ones(5), "p": np.inf}, ValueError, "finite p"),
        ("seuclidean", {"V": np.ones((5, 5))}, ValueError, r"shape \(5,\)"),
        ("mahalanobis", {"VI": np.ones(5)}, ValueError, "square matrix"),
        ("mahalanobis", {"V": np.ones((5, 5))}, ValueError, "singular"),
        ("minkowski", {"w": "heavy"}, TypeError, "array of numbers"),
        (njit_manhattan, {"scale": 2}, ValueError, "numba-compiled"),
    ],
)
def test_bad_metric_params(metric, params, error, match):
    X, _ = _data(np.float64)
    est = BlockKNNClassifier(metric=metric, metric_params=params)
    with pytest.raises(error, match=match):
        est.fit(X, _labels())


def test_mahalanobis_takes_v_as_scipy_does():
    X, Q = _data(np.float64, seed=17)
    V = np.diag(np.arange(1.0, N_FEATURES + 1)) + 0.5
    est = BlockKNNClassifier(metric="mahalanobis", metric_params={"V": V})
    est.fit(X, _labels())
    expected = cdist(Q, X, "mahalanobis", VI=np.linalg.inv(V))
    np.testing.assert_allclose(_all_distances(est, Q), expected, rtol=1e-8)


def test_metric_params_must_be_a_dict():
    est = BlockKNNClassifier(metric="canberra", metric_params=[("V", 1)])
    with pytest.raises(ValueError, match="'metric_params' parameter"):
        est.fit([[0.0], [1.0]], [0, 1])


def test_singular_training_covariance_is_reported():
    X = np.ones((6, 3))
    X[:, 0] = np.arange(6)
    with pytest.raises(ValueError, match="covariance of the training rows"):
        BlockKNNClassifier(metric="mahalanobis").fit(X, np.arange(6) % 2)


# --------------------------------------------------------------------------
# callables


@pytest.mark.parametrize("function", [njit_manhattan, python_manhattan])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_callable_metric_matches_manhattan(function, dtype):
    X, Q = _data(dtype, seed=12)
    y = _labels()
    ours = BlockKNNClassifier(5, metric=function).fit(X, y)
    assert ours.effective_metric_ is function
    ref = KNeighborsClassifier(5, metric="manhattan", algorithm="brute").fit(X, y)
    # scikit-learn computes float32 distances in float32
    rtol = 1e-6 if dtype == np.float32 else RTOL
    _assert_neighbours_like_sklearn(ours, ref, Q, 5, rtol)
    np.testing.assert_allclose(_all_distances(ours, Q), cdist(Q, X, "cityblock"))


def test_python_callable_gets_metric_params_and_float_rows():
    seen = []

    def scaled(x, y, scale):
        seen.append((x.dtype, y.dtype))
        return scale * float(np.abs(x - y).sum())

    X, Q = _data(np.int64, seed=13)
    est = BlockKNNClassifier(metric=scaled, metric_params={"scale": 2.0})
    est.fit(X, _labels())
    np.testing.assert_allclose(_all_distances(est, Q), 2 * cdist(Q, X, "cityblock"))
    assert set(seen) == {(np.dtype(np.float64), np.dtype(np.float64))}


def test_njit_callable_gets_float64_rows():
    @numba.njit
    def first_difference(x, y):
        return x[0] - y[0] + 1000.0  # uint8 arithmetic would wrap around

    X = np.array([[0, 0], [200, 0], [255, 0]], dtype=np.uint8)
    est = BlockKNNClassifier(3, metric=first_difference).fit(X, [0, 1, 2])
    dist, ind = est.kneighbors([[100, 0]])
    np.testing.assert_array_equal(ind, [[2, 1, 0]])
    np.testing.assert_array_equal(dist, [[845.0, 900.0, 1100.0]])


def test_callable_searches_are_not_reused():
    X, Q = _data(np.float64, seed=14)
    search_cache.clear()
    est = BlockKNNClassifier(metric=njit_manhattan).fit(X, _labels())
    est.kneighbors(Q)
    est.kneighbors(Q)
    assert len(search_cache) == 0 and search_cache.hits == 0


def test_clone_pickle_and_grid_search_over_metric():
    X, Q = _data(np.float64, seed=15, n_train=60)
    y = _labels(60)
    est = BlockKNNClassifier(3, metric=njit_manhattan)
    assert clone(est).metric is njit_manhattan
    fitted = est.fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.kneighbors(Q)[1], fitted.kneighbors(Q)[1])
    grid = GridSearchCV(
        BlockKNNClassifier(3),
        {"metric": ["canberra", "braycurtis", njit_manhattan, "euclidean"]},
        cv=3,
    ).fit(X, y)
    ref = GridSearchCV(
        KNeighborsClassifier(3, algorithm="brute"),
        {"metric": ["canberra", "braycurtis", "manhattan", "euclidean"]},
        cv=3,
    ).fit(X, y)
    np.testing.assert_allclose(
        grid.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize("metric", ["correlation", python_correlation])
def test_undefined_distances_are_nan_and_ranked_last(metric):
    # A constant row has no correlation with anything: 0 / 0, NaN in SciPy.
    X = np.array([[1.0, 2, 3], [2, 2, 2], [0, 0, 0], [5, 1, 0]])
    est = BlockKNNClassifier(4, metric=metric).fit(X, [0, 1, 0, 1])
    dist, ind = est.kneighbors(X[:2])
    np.testing.assert_array_equal(ind, [[0, 3, 1, 2], [0, 1, 2, 3]])
    assert np.isnan(dist[0, 2:]).all() and np.isnan(dist[1]).all()
    np.testing.assert_allclose(
        dist[0, :2], cdist(X[:1], X[[0, 3]], "correlation")[0], atol=1e-15
    )


def test_zero_variance_divides_as_numpy():
    X = np.array([[0.0, 1.0], [0.0, 2.0], [1.0, 4.0]])
    est = BlockKNNClassifier(3, metric="seuclidean", metric_params={"V": [0.0, 1.0]})
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = cdist(X[:1], X, "seuclidean", V=[0.0, 1.0])
    dist, ind = est.fit(X, [0, 1, 0]).kneighbors(X[:1])
    # NaN, NaN and inf: NaN ranks as +inf, ties by the training index
    np.testing.assert_array_equal(ind, [[0, 1, 2]])
    np.testing.assert_array_equal(dist, expected)
    assert np.isnan(dist[0, :2]).all() and dist[0, 2] == np.inf


def test_python_callable_gets_its_parameters_as_given():
    seen = set()

    def weighted(x, y, w, p):
        seen.add((w, p))
        return float(np.abs(x - y).sum())

    X, Q = _data(np.float64, seed=18)
    est = BlockKNNClassifier(metric=weighted, metric_params={"w": None, "p": 7})
    est.fit(X, _labels())
    est.kneighbors(Q)
    assert seen == {(None, 7)}
    assert est.effective_metric_params_ == {"w": None, "p": 7}
