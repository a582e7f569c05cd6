"""BlockKNNClassifier against scikit-learn's brute-force kNN and a NumPy reference."""

import re

import numpy as np
import pytest
from _knn_helpers import exact_distances
from _subprocess_helpers import run_python
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.neighbors import KNeighborsClassifier

from fmnist import BlockKNNClassifier

METRICS = ["euclidean", "sqeuclidean", "manhattan", "cosine", "chebyshev", "minkowski"]


def _inverse_plus_one(dist):
    return 1.0 / (1.0 + dist)


WEIGHTS = ["uniform", "distance", _inverse_plus_one]


# --------------------------------------------------------------------------
# NumPy reference


def _reference_kneighbors(X, Y, k, metric, p=2, exclude_self=False):
    """Top-k by (distance, training index): the documented tie rule."""
    dist = exact_distances(X, Y, metric, p)
    if exclude_self:
        np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, axis=1), order


def _reference_proba(dist, ind, y, est, weights):
    """Class fractions of the given neighbours, weighted as sklearn does."""
    if weights == "uniform":
        w = np.ones_like(dist)
    elif weights == "distance":
        with np.errstate(divide="ignore"):
            w = 1.0 / dist
        zero = np.isinf(w)
        w[zero.any(axis=1)] = zero[zero.any(axis=1)]
    else:
        w = weights(dist)
    labels = np.searchsorted(est.classes_, y[ind])
    votes = np.zeros((len(dist), len(est.classes_)))
    for j in range(ind.shape[1]):
        votes[np.arange(len(dist)), labels[:, j]] += w[:, j]
    return votes / votes.sum(axis=1, keepdims=True)


def _tie_at_kth(dist_row, k, rtol=1e-9):
    """Whether the k-th smallest distance is shared with a sample beyond the k-th."""
    kth = np.sort(dist_row)[k - 1]
    tol = rtol * max(1.0, abs(kth))
    return np.count_nonzero(dist_row <= kth + tol) > k


def _near_tied_vote(proba_row, rtol=1e-9):
    top = np.sort(proba_row)[-2:]
    return len(top) == 2 and top[1] - top[0] <= rtol * max(1.0, top[1])


def _assert_differences_are_ties(X_train, X_test, k, metric, p, pred, expected, proba):
    """Every differing prediction has a tie at the k-th neighbor or a tied vote."""
    differ = np.flatnonzero(pred != expected)
    if differ.size == 0:
        return 0
    dist = exact_distances(X_test[differ], X_train, metric, p)
    for row, i in enumerate(differ):
        assert _tie_at_kth(dist[row], k) or _near_tied_vote(proba[i]), (
            f"query {i}: predicted {pred[i]!r}, sklearn {expected[i]!r}, no tie"
        )
    return differ.size


def _exact_integer_metric(metric, p):
    if metric == "minkowski":
        return p in (1, 2)
    return metric != "cosine"


def _sklearn(n_neighbors, metric, p, weights):
    return KNeighborsClassifier(
        n_neighbors=n_neighbors,
        metric=metric,
        p=p,
        weights=weights,
        algorithm="brute",
    )


# --------------------------------------------------------------------------
# equivalence with scikit-learn


@st.composite
def _problems(draw):
    # Narrow rows, rows that reach every SIMD tile width and its tails, and a
    # few wide ones.
    n_features = draw(
        st.one_of(st.integers(1, 6), st.integers(7, 200), st.sampled_from([784, 1031]))
    )
    n_train = draw(st.integers(1, 40))
    n_test = draw(st.integers(1, 17))
    k = draw(st.integers(1, min(n_train, 7)))
    integer = draw(st.booleans())
    high = draw(st.sampled_from([2, 5, 255]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if integer:
        X = rng.integers(0, high + 1, (n_train + n_test, n_features), dtype=np.uint8)
    else:
        X = rng.normal(size=(n_train + n_test, n_features)) * high
    y = rng.integers(0, draw(st.integers(1, 4)), n_train)
    block_size = draw(st.sampled_from([None, 1, 2, 3, 7, 16, (2, 5)]))
    return X[:n_train], X[n_train:], y, k, block_size


@pytest.mark.parametrize("weights", WEIGHTS, ids=["uniform", "distance", "callable"])
@pytest.mark.parametrize("metric", METRICS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=_problems(), p=st.sampled_from([1, 1.5, 2, 3]))
def test_matches_sklearn_brute(metric, weights, problem, p):
    X_train, X_test, y, k, block_size = problem
    ours = BlockKNNClassifier(
        k, metric=metric, p=p, weights=weights, block_size=block_size
    ).fit(X_train, y)
    ref = _sklearn(k, metric, p, weights).fit(X_train, y)

    dist, ind = ours.kneighbors(X_test)
    ref_dist, _ = ref.kneighbors(X_test)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-7, atol=1e-9)

    # Indices follow the tie rule exactly (integer data have exact distances).
    exp_dist, exp_ind = _reference_kneighbors(X_test, X_train, k, metric, p)
    np.testing.assert_allclose(dist, exp_dist, rtol=1e-7, atol=1e-9)
    if X_train.dtype == np.uint8 and _exact_integer_metric(metric, p):
        np.testing.assert_array_equal(ind, exp_ind)

    proba = ours.predict_proba(X_test)
    pred = ours.predict(X_test)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(pred, ours.classes_[np.argmax(proba, axis=1)])
    ref_proba = ref.predict_proba(X_test)
    same = np.array(
        [not _tie_at_kth(row, k) for row in exact_distances(X_test, X_train, metric, p)]
    )
    # sklearn's cosine of two rows pointing the same way is 0 only up to
    # rounding; with distance weights its zero-distance rule then differs from
    # the exact answer. Compare those rows with the exact reference instead.
    rounding = ((dist == 0) != (ref_dist == 0)).any(axis=1)
    assert not rounding.any() or metric == "cosine"
    same &= ~rounding
    if rounding.any() and X_train.dtype == np.uint8:
        np.testing.assert_array_equal(dist[rounding] == 0, exp_dist[rounding] == 0)
        np.testing.assert_allclose(
            proba[rounding],
            _reference_proba(exp_dist[rounding], exp_ind[rounding], y, ours, weights),
        )
    np.testing.assert_allclose(proba[same], ref_proba[same], rtol=1e-9, atol=1e-12)
    _assert_differences_are_ties(
        X_train, X_test, k, metric, p, pred, ref.predict(X_test), proba
    )


def test_tie_check_detects_ties():
    assert _tie_at_kth(np.array([0.0, 1.0, 1.0, 2.0]), 2)
    assert not _tie_at_kth(np.array([0.0, 1.0, 1.5, 2.0]), 2)
    assert not _tie_at_kth(np.array([1.0, 1.0, 2.0]), 2)


def test_lower_training_index_wins_ties():
    X = np.array([[0], [2], [2], [2], [4]], dtype=np.uint8)
    y = [0, 1, 2, 3, 4]
    est = BlockKNNClassifier(n_neighbors=2).fit(X, y)
    dist, ind = est.kneighbors([[1], [3]])
    np.testing.assert_array_equal(ind, [[0, 1], [1, 2]])
    np.testing.assert_array_equal(dist, [[1, 1], [1, 1]])


def test_vote_tie_goes_to_smallest_label():
    X = np.array([[0], [1], [2], [3]], dtype=np.uint8)
    for labels, expected in [([7, 3, 3, 7], 3), (["b", "a", "a", "b"], "a")]:
        est = BlockKNNClassifier(n_neighbors=4).fit(X, labels)
        assert est.predict([[0]])[0] == expected
        np.testing.assert_array_equal(est.predict_proba([[0]]), [[0.5, 0.5]])


@pytest.mark.parametrize("labels", [["cat", "dog", "eel"], [-5, 10, 1000]])
def test_arbitrary_labels(labels):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (60, 10), dtype=np.uint8)
    codes = rng.integers(0, 3, 60)
    y = np.asarray(labels)[codes]
    est = BlockKNNClassifier(n_neighbors=3).fit(X, y)
    np.testing.assert_array_equal(est.classes_, np.sort(labels))
    assert isinstance(est.classes_, np.ndarray)
    pred = est.predict(X[:10])
    assert set(pred) <= set(labels)
    expected = _sklearn(3, "euclidean", 2, "uniform").fit(X, y).predict(X[:10])
    np.testing.assert_array_equal(pred, expected)


# --------------------------------------------------------------------------
# kneighbors(X=None) and zero distances


def test_kneighbors_none_excludes_self_with_duplicates():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 4, (30, 3), dtype=np.uint8)
    X = np.vstack([X, X[:5], X[:5]])  # every one of the first 5 rows 3 times
    y = rng.integers(0, 2, len(X))
    est = BlockKNNClassifier(n_neighbors=4).fit(X, y)
    dist, ind = est.kneighbors()
    assert not np.any(ind == np.arange(len(X))[:, None])
    exp_dist, exp_ind = _reference_kneighbors(X, X, 4, "euclidean", exclude_self=True)
    np.testing.assert_array_equal(dist, exp_dist)
    np.testing.assert_array_equal(ind, exp_ind)
    ref_dist, _ = _sklearn(4, "euclidean", 2, "uniform").fit(X, y).kneighbors()
    np.testing.assert_allclose(dist, ref_dist)
    assert np.all(dist[:5, :2] == 0)  # each duplicated row sees its two copies
    np.testing.assert_array_equal(est.kneighbors(return_distance=False), ind)
    # predict(None) votes over those neighbours, and score(None, y) scores it.
    labels = y[ind]
    expected = np.array([np.bincount(row, minlength=2).argmax() for row in labels])
    np.testing.assert_array_equal(est.predict(None), expected)
    assert est.score(None, y) == np.mean(expected == y)


def test_kneighbors_none_n_neighbors_errors():
    X = np.arange(5, dtype=np.uint8)[:, None]
    est = BlockKNNClassifier(n_neighbors=5).fit(X, [0, 1, 0, 1, 0])
    msg = "Expected n_neighbors < n_samples_fit, but n_neighbors = 5, n_samples_fit = 5"
    with pytest.raises(ValueError, match=msg):
        est.kneighbors()
    assert est.kneighbors(n_neighbors=4)[1].shape == (5, 4)
    msg = "Expected n_neighbors <= n_samples_fit, but n_neighbors = 6, n_samples_f"
    with pytest.raises(ValueError, match=msg):
        est.kneighbors(X, n_neighbors=6)
    with pytest.raises(ValueError, match="Expected n_neighbors > 0. Got 0"):
        est.kneighbors(X, n_neighbors=0)
    with pytest.raises(TypeError, match="enter integer value"):
        est.kneighbors(X, n_neighbors=1.5)


@pytest.mark.parametrize(
    ("n_neighbors", "error", "message"),
    [
        (0, ValueError, "Expected n_neighbors > 0. Got 0"),
        (6, ValueError, "Expected n_neighbors <= n_samples_fit, but n_neighbors = 6"),
        (2.0, TypeError, "n_neighbors does not take <class 'float'> value"),
        (True, TypeError, "n_neighbors does not take <class 'bool'> value"),
    ],
)
def test_n_neighbors_is_checked_alike_everywhere(n_neighbors, error, message):
    # The estimator, the search spine and the sharded search share one check.
    from fmnist.distributed._search import _check_search
    from fmnist.neighbors import SearchSpec
    from fmnist.neighbors import search as kneighbors

    X = np.arange(5, dtype=np.uint8)[:, None]
    est = BlockKNNClassifier(n_neighbors=1).fit(X, [0, 1, 0, 1, 0])
    spec = SearchSpec.build("euclidean", 2, np.uint8)
    for call in (
        lambda: est.kneighbors(X, n_neighbors=n_neighbors),
        lambda: kneighbors(spec, X, X, n_neighbors),
        lambda: _check_search(X.shape, X.shape, n_neighbors),
    ):
        with pytest.raises(error, match=re.escape(message)):
            call()


def test_n_neighbors_larger_than_training_set_at_predict():
    est = BlockKNNClassifier(n_neighbors=4).fit([[0], [1], [2]], [0, 1, 1])
    with pytest.raises(ValueError, match="n_neighbors = 4, n_samples_fit = 3"):
        est.predict([[1]])


@pytest.mark.parametrize("n_neighbors", [0, -1, 1.5, "3"])
def test_bad_n_neighbors_parameter(n_neighbors):
    est = BlockKNNClassifier(n_neighbors=n_neighbors)
    with pytest.raises((ValueError, TypeError), match="'n_neighbors' parameter"):
        est.fit([[0], [1]], [0, 1])


def test_distance_weights_with_zero_distances():
    X = np.array([[0, 0], [0, 0], [1, 1], [3, 3], [3, 3]], dtype=np.uint8)
    y = np.array([0, 1, 1, 2, 2])
    est = BlockKNNClassifier(n_neighbors=3, weights="distance").fit(X, y)
    ref = _sklearn(3, "euclidean", 2, "distance").fit(X, y)
    Q = np.array([[0, 0], [3, 3], [2, 2], [1, 1]], dtype=np.uint8)
    proba = est.predict_proba(Q)
    # Zero-distance neighbors weigh 1, the rest 0.
    np.testing.assert_allclose(proba[0], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(proba[1], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(proba[3], [0.0, 1.0, 0.0])
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba, ref.predict_proba(Q))
    np.testing.assert_array_equal(est.predict(Q), ref.predict(Q))
    # On the training data itself (kneighbors(None)) duplicates are at 0.
    proba_train = est.predict_proba(None)
    assert np.all(np.isfinite(proba_train))
    np.testing.assert_allclose(proba_train[3], [0.0, 0.0, 1.0])


def test_callable_weights():
    X = np.arange(6, dtype=np.uint8)[:, None]
    y = [0, 0, 0, 1, 1, 1]
    est = BlockKNNClassifier(n_neighbors=3, weights=_inverse_plus_one).fit(X, y)
    ref = _sklearn(3, "euclidean", 2, _inverse_plus_one).fit(X, y)
    Q = np.array([[2.4], [2.6], [5.0]])
    np.testing.assert_allclose(est.predict_proba(Q), ref.predict_proba(Q))
    np.testing.assert_array_equal(est.predict(Q), ref.predict(Q))

    def zero(dist):
        return np.zeros_like(dist)

    est = BlockKNNClassifier(n_neighbors=3, weights=zero).fit(X, y)
    with pytest.raises(ValueError, match="All neighbors of some sample is getting"):
        est.predict(Q)
    with pytest.raises(ValueError, match="All neighbors of some sample is getting"):
        est.predict_proba(Q)


# --------------------------------------------------------------------------
# parameters


def test_unknown_metric_lists_the_choices():
    # sokalmichener: a SciPy metric scikit-learn's brute force no longer takes.
    est = BlockKNNClassifier(metric="sokalmichener")
    with pytest.raises(ValueError, match="'metric' parameter of BlockKNNClassifier"):
        est.fit([[0], [1]], [0, 1])
    with pytest.raises(ValueError, match="'manhattan'"):
        est.fit([[0], [1]], [0, 1])


@pytest.mark.parametrize(
    "params",
    # block_size: test_exactness.py::test_block_size_shape_is_checked_at_fit
    [{"p": 0}, {"weights": "gaussian"}, {"n_jobs": 0}],
)
def test_bad_parameters(params):
    with pytest.raises(ValueError, match="parameter of BlockKNNClassifier must be"):
        BlockKNNClassifier(**params).fit([[0], [1]], [0, 1])


@pytest.mark.parametrize(
    "metric, p, effective",
    [
        ("l1", 2, "manhattan"),
        ("cityblock", 2, "manhattan"),
        ("l2", 2, "euclidean"),
        ("minkowski", 1, "manhattan"),
        ("minkowski", 2, "euclidean"),
        ("minkowski", 3, "minkowski"),
        ("cosine", 3, "cosine"),
    ],
)
def test_metric_aliases(metric, p, effective):
    rng = np.random.default_rng(2)
    X = rng.integers(0, 256, (40, 5), dtype=np.uint8)
    y = rng.integers(0, 3, 40)
    est = BlockKNNClassifier(metric=metric, p=p).fit(X, y)
    assert est.effective_metric_ == effective
    ref = BlockKNNClassifier(metric=effective, p=p).fit(X, y)
    np.testing.assert_array_equal(est.kneighbors(X[:7])[0], ref.kneighbors(X[:7])[0])


def test_fit_does_not_change_parameters():
    est = BlockKNNClassifier(metric="l1", p=1, block_size=(4, 8), n_jobs=1)
    est.fit([[0], [1], [2], [3], [4]], [0, 1, 0, 1, 0])
    assert est.get_params()["metric"] == "l1"
    assert est.get_params()["block_size"] == (4, 8)


# --------------------------------------------------------------------------
# input validation and the dtype policy


def _small_problem(dtype=np.uint8, n=40, d=6, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, d)).astype(dtype)
    y = rng.integers(0, 3, n)
    return X, y


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([[0.0, np.nan], [1.0, 2.0]], ValueError, "NaN"),
        ([[0.0, np.inf], [1.0, 2.0]], ValueError, "infinity"),
        (np.array([[1 + 1j, 0], [0, 1]]), ValueError, "Complex data not supported"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError, "could not"),
        (np.array([["a", "b"], ["c", "d"]]), ValueError, "strings"),
        (np.empty((0, 2)), ValueError, "0 sample"),
        ([0.0, 1.0], ValueError, "Expected 2D array"),
        (np.zeros((2, 2, 2, 2)), ValueError, "dim 4"),
        (
            np.array([[1.5, 2], [2, 3]], dtype=np.float128),
            TypeError,
            "Unsupported data type",
        )
        if hasattr(np, "float128")
        else ([[0, np.nan], [1, 1]], ValueError, "NaN"),
    ],
)
def test_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        BlockKNNClassifier(n_neighbors=1).fit(X, [0, 1])
    if np.asarray(X).ndim == 2 and len(X):
        est = BlockKNNClassifier(n_neighbors=1).fit([[0, 0], [1, 1]], [0, 1])
        with pytest.raises(error, match=match):
            est.predict(X)


def test_wrong_feature_count_and_not_fitted():
    from sklearn.exceptions import NotFittedError

    X, y = _small_problem()
    with pytest.raises(NotFittedError):
        BlockKNNClassifier().predict(X)
    est = BlockKNNClassifier().fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but BlockKNNClassifier"):
        est.predict(X[:, :5])
    with pytest.raises(ValueError, match="Unknown label type"):
        BlockKNNClassifier().fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.parametrize(
    "dtype, values, stored",
    [
        (np.uint8, (0, 256), np.uint8),
        (np.int64, (0, 256), np.uint8),
        (np.uint16, (0, 256), np.uint8),
        (np.bool_, (0, 2), np.uint8),
        (np.int16, (-300, 300), np.int32),
        (np.int64, (-(10**6), 10**6), np.int32),
        (np.int64, (0, 2**40), np.float64),
        # Floats holding whole numbers are searched as the integers they are.
        (np.float16, (0, 256), np.uint8),
        (np.float32, (0, 256), np.uint8),
        (np.float64, (0, 256), np.uint8),
        (np.float64, (-300, 300), np.int32),
        (np.float16, (0, 256, 0.5), np.float32),
        (np.float32, (0, 256, 0.5), np.float32),
        (np.float64, (0, 256, 0.5), np.float64),
    ],
)
def test_dtype_policy(dtype, values, stored):
    rng = np.random.default_rng(4)
    X = rng.integers(*values[:2], (30, 4)).astype(dtype)
    if len(values) == 3:  # fractional values
        X += np.asarray(values[2], dtype=dtype)
    y = rng.integers(0, 2, 30)
    est = BlockKNNClassifier(n_neighbors=3).fit(X, y)
    assert est._fit_X.dtype == stored
    expected, _ = _reference_kneighbors(X.astype(np.float64), X, 3, "euclidean")
    np.testing.assert_allclose(est.kneighbors(X)[0], expected, rtol=1e-12)


@pytest.mark.parametrize(
    "dtype, high, searched",
    [
        (np.uint8, 256, np.float32),
        (np.int16, 300, np.float32),
        (np.int64, 2**24 + 1, np.float32),
        (np.int64, 2**24 + 2, np.float64),  # 2**24 + 1 is not a float32
        (np.float16, 2, np.float32),
        (np.float64, 2, np.float64),
    ],
)
def test_queries_on_float32_rows_keep_their_values(dtype, high, searched):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 6)).astype(np.float32)
    est = BlockKNNClassifier(n_neighbors=3).fit(X, np.arange(40) % 2)
    Q = rng.integers(0, high, (5, 6)).astype(dtype)
    Q[0, 0] = high - 1
    as_searched = est.search_index().spec.query_array(Q)
    assert as_searched.dtype == searched
    np.testing.assert_array_equal(as_searched.astype(np.float64), Q.astype(np.float64))
    expected, _ = _reference_kneighbors(Q.astype(np.float64), X, 3, "euclidean")
    np.testing.assert_allclose(est.kneighbors(Q)[0], expected, rtol=1e-6)


def test_uint8_is_not_copied_and_inputs_are_not_written(tmp_path):
    X, y = _small_problem()
    X.flags.writeable = False
    X_before, y_before = X.copy(), y.copy()
    est = BlockKNNClassifier().fit(X, y)
    assert np.shares_memory(est._fit_X, X)
    Q = X[:10].copy()
    Q.flags.writeable = False
    est.predict(Q)
    est.kneighbors(None)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_memmap_is_not_copied(tmp_path, dtype):
    X, y = _small_problem(dtype)
    if dtype == np.float32:
        X = X + np.float32(0.25)  # not whole numbers: stored as float32
    path = tmp_path / "X.dat"
    np.asarray(X).tofile(path)
    mm = np.memmap(path, dtype=dtype, mode="r", shape=X.shape)
    est = BlockKNNClassifier(n_neighbors=3).fit(mm, y)
    assert np.shares_memory(est._fit_X, mm)
    np.testing.assert_array_equal(est.predict(mm[:7]), est.predict(X[:7]))


def test_fortran_and_strided_inputs():
    X, y = _small_problem()
    est = BlockKNNClassifier(n_neighbors=3).fit(X, y)
    expected = est.kneighbors(X[::2])
    for Q in (np.asfortranarray(X[::2]), np.repeat(X, 2, axis=0)[::4], X[::2, ::1]):
        np.testing.assert_array_equal(est.kneighbors(Q)[1], expected[1])
    est_f = BlockKNNClassifier(n_neighbors=3).fit(np.asfortranarray(X), y)
    np.testing.assert_array_equal(est_f.kneighbors(X[::2])[1], expected[1])


def test_image_stacks_are_flattened():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 50)
    est = BlockKNNClassifier(n_neighbors=3, metric="manhattan").fit(images, y)
    assert est.n_features_in_ == 784
    flat = BlockKNNClassifier(n_neighbors=3, metric="manhattan").fit(
        images.reshape(50, -1), y
    )
    np.testing.assert_array_equal(est.predict(images[:9]), flat.predict(images[:9]))
    np.testing.assert_array_equal(
        est.predict(images[:9].reshape(9, -1)), flat.predict(images[:9])
    )
    assert est.predict(images[:2].tolist()).shape == (2,)
    dask_array = pytest.importorskip("dask.array")
    stack = dask_array.from_array(images[:9], chunks=3)
    np.testing.assert_array_equal(est.predict(stack), flat.predict(images[:9]))
    with pytest.raises(ValueError, match="X has 392 features"):
        est.predict(images[:2, :14])


def test_float_queries_on_integer_model_are_not_truncated():
    X = np.array([[0], [10]], dtype=np.uint8)
    est = BlockKNNClassifier(n_neighbors=1).fit(X, ["low", "high"])
    # 5.4 would be a tie (then "high" by the label rule) if truncated to 5.
    assert est.predict([[5.4]])[0] == "high"
    assert est.predict([[4.6]])[0] == "low"
    np.testing.assert_allclose(est.kneighbors([[5.4]])[0], [[4.6]])
    assert est.predict([[-3.0]])[0] == "low"
    assert est.predict([[300.0]])[0] == "high"
    assert est.predict(np.array([[5.4]], dtype=np.float32))[0] == "high"


def test_whole_float_queries_take_the_exact_integer_path():
    X, y = _small_problem()
    est = BlockKNNClassifier(n_neighbors=4, metric="manhattan").fit(X, y)
    d_int, i_int = est.kneighbors(X[:15])
    d_flt, i_flt = est.kneighbors(X[:15].astype(np.float64))
    np.testing.assert_array_equal(i_int, i_flt)
    np.testing.assert_array_equal(d_int, d_flt)


def test_fractional_queries_make_no_copy_of_the_training_data():
    X, y = _small_problem()
    est = BlockKNNClassifier(n_neighbors=4, metric="euclidean").fit(X, y)
    stored = est._fit_X
    arrays_before = {k for k, v in vars(est).items() if isinstance(v, np.ndarray)}
    Q = X[:12] + 0.5
    dist, ind = est.kneighbors(Q)
    exp_dist, exp_ind = _reference_kneighbors(Q, X.astype(np.float64), 4, "euclidean")
    np.testing.assert_allclose(dist, exp_dist, rtol=1e-12)
    np.testing.assert_array_equal(ind, exp_ind)
    # The fitted state is unchanged: no widened copy was made or kept.
    assert est._fit_X is stored and est._fit_X.dtype == np.uint8
    assert {k for k, v in vars(est).items() if isinstance(v, np.ndarray)} == (
        arrays_before
    )


def test_pandas_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = _small_problem(d=4)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = BlockKNNClassifier(n_neighbors=3).fit(df, pd.Series(y))
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c", "d"])
    assert est._fit_X.dtype == np.uint8
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(est.predict(df), est.predict(X))
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(df.set_axis(["x", "y", "z", "w"], axis=1))


def test_digits_any_number_of_features():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    est = BlockKNNClassifier(n_neighbors=3).fit(X[:1200], y[:1200])
    assert est._fit_X.dtype == np.uint8  # whole numbers 0..16 stored as uint8
    frac = BlockKNNClassifier(n_neighbors=3).fit(X[:1200] + 0.5, y[:1200])
    assert frac._fit_X.dtype == np.float64
    np.testing.assert_array_equal(frac.predict(X[1200:] + 0.5), est.predict(X[1200:]))
    as_int = BlockKNNClassifier(n_neighbors=3).fit(X[:1200].astype(int), y[:1200])
    assert as_int._fit_X.dtype == np.uint8  # 0..16: stored exactly as uint8
    np.testing.assert_array_equal(as_int.predict(X[1200:]), est.predict(X[1200:]))
    ref = _sklearn(3, "euclidean", 2, "uniform").fit(X[:1200], y[:1200])
    pred = est.predict(X[1200:])
    n_diff = _assert_differences_are_ties(
        X[:1200],
        X[1200:],
        3,
        "euclidean",
        2,
        pred,
        ref.predict(X[1200:]),
        est.predict_proba(X[1200:]),
    )
    assert n_diff <= 5
    assert est.score(X[1200:], y[1200:]) > 0.95


# --------------------------------------------------------------------------
# model selection and persistence


def test_grid_search_in_a_pipeline():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X, y = _small_problem(n=90, d=5)
    y = (X[:, 0] > 127).astype(int)
    pipe = make_pipeline(MinMaxScaler(), BlockKNNClassifier())
    grid = GridSearchCV(
        pipe,
        {
            "blockknnclassifier__n_neighbors": [1, 3, 7],
            "blockknnclassifier__metric": ["euclidean", "manhattan", "cosine"],
        },
        cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.8
    assert len(grid.cv_results_["params"]) == 9
    best = grid.best_estimator_
    np.testing.assert_array_equal(grid.predict(X[:5]), best.predict(X[:5]))
    np.testing.assert_array_equal(grid.predict_proba(X[:5]), best.predict_proba(X[:5]))
    bare = GridSearchCV(
        BlockKNNClassifier(), {"n_neighbors": [1, 5], "metric": ["l1", "cosine"]}, cv=3
    ).fit(X, y)
    # The winner is the best mean test score, refit on all the data.
    means = bare.cv_results_["mean_test_score"]
    assert bare.best_params_ == bare.cv_results_["params"][int(np.argmax(means))]
    refit = BlockKNNClassifier(**bare.best_params_).fit(X, y)
    np.testing.assert_array_equal(bare.predict(X), refit.predict(X))


def test_cross_val_score_and_clone():
    from sklearn.base import clone, is_classifier
    from sklearn.decomposition import PCA
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = _small_problem(n=90, d=5)
    est = BlockKNNClassifier(n_neighbors=3, metric="manhattan", weights="distance")
    scores = cross_val_score(make_pipeline(PCA(3), est), X, y, cv=3)
    from sklearn.model_selection import StratifiedKFold

    expected = [
        make_pipeline(PCA(3), clone(est)).fit(X[tr], y[tr]).score(X[te], y[te])
        for tr, te in StratifiedKFold(3).split(X, y)
    ]
    np.testing.assert_allclose(scores, expected)
    assert is_classifier(make_pipeline(PCA(3), est))
    fitted = clone(est).fit(X, y)
    cloned = clone(fitted)
    assert cloned.get_params() == est.get_params()
    assert not hasattr(cloned, "classes_")


def _fitted_for_pickle():
    X, y = _small_problem()
    return BlockKNNClassifier(n_neighbors=3).fit(X, y.astype(str)), X


def test_pickle_round_trip():
    import pickle

    est, X = _fitted_for_pickle()
    est.predict(X[:3] + 0.5)
    data = pickle.dumps(est)
    assert len(data) < 2 * est._fit_X.nbytes + 10_000
    loaded = pickle.loads(data)
    state = est.__getstate__()
    assert all(
        isinstance(v, (np.ndarray, str, int, float, type(None), tuple))
        for v in state.values()
    )
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.predict(X[:3] + 0.5), est.predict(X[:3] + 0.5))
    np.testing.assert_array_equal(loaded.classes_, est.classes_)


@pytest.mark.slow
def test_pickle_loads_in_a_fresh_process(tmp_path):
    import pickle

    est, X = _fitted_for_pickle()
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X.npy", X[:10])
    code = (
        "import pickle, sys, warnings, numpy as np\n"
        "warnings.simplefilter('error')\n"
        "est = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "print(','.join(est.predict(np.load(sys.argv[2]))))\n"
    )
    out = run_python(code, tmp_path / "model.pkl", tmp_path / "X.npy", timeout=120)
    assert out.stdout.strip().split(",") == list(est.predict(X[:10]))


def test_pickle_from_another_version_warns():
    import pickle

    from fmnist.neighbors import InconsistentVersionWarning

    est, X = _fitted_for_pickle()
    state = est.__getstate__()
    assert state["_fmnist_version"] == __import__("fmnist").__version__
    state["_fmnist_version"] = "0.0.1"
    other = BlockKNNClassifier.__new__(BlockKNNClassifier)
    with pytest.warns(InconsistentVersionWarning, match="from fmnist version 0.0.1"):
        other.__setstate__(state)
    assert issubclass(InconsistentVersionWarning, UserWarning)
    np.testing.assert_array_equal(other.predict(X[:5]), est.predict(X[:5]))
    # A pickle from the same version loads silently.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(est))


def test_unfitted_pickle_round_trip():
    import pickle

    est = pickle.loads(pickle.dumps(BlockKNNClassifier(metric="cosine")))
    assert est.get_params()["metric"] == "cosine"
    assert not hasattr(est, "_search_spec")
