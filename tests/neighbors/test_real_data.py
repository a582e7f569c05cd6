"""BlockKNNClassifier on a real Fashion-MNIST subset, against sklearn's brute force.

Skipped locally when the data is absent; a failure in CI
(``FMNIST_REQUIRE_DATA=1``).
"""

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from fmnist import BlockKNNClassifier

pytestmark = pytest.mark.realdata

N_TRAIN, N_TEST, K = 10_000, 500, 5


@pytest.fixture(scope="module")
def subset(fashion_mnist_split):
    X_train, X_test, y_train, y_test = fashion_mnist_split
    return X_train[:N_TRAIN], X_test[:N_TEST], y_train[:N_TRAIN], y_test[:N_TEST]


def _exact_distances(q, X, metric):
    """Distances from one query to every training row (integer-exact for L1/L2)."""
    if metric == "cosine":
        q = q.astype(np.float64)
        Xf = X.astype(np.float64)
        norms = np.sqrt((Xf * Xf).sum(axis=1)) * np.sqrt(q @ q)
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = 1.0 - (Xf @ q) / norms
        dist[norms == 0] = 1.0
        return np.clip(dist, 0.0, 2.0)
    diff = np.abs(X.astype(np.int64) - q.astype(np.int64))
    if metric == "manhattan":
        return diff.sum(axis=1).astype(np.float64)
    return np.sqrt((diff * diff).sum(axis=1).astype(np.float64))


def _tie_at_kth(dist, k, rtol):
    kth = np.sort(dist)[k - 1]
    return np.count_nonzero(dist <= kth * (1 + rtol)) > k


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["manhattan", "euclidean", "cosine"])
def test_matches_sklearn_brute_on_real_images(subset, metric):
    X_train, X_test, y_train, y_test = subset
    est = BlockKNNClassifier(n_neighbors=K, metric=metric).fit(X_train, y_train)
    assert est._fit_X.dtype == np.uint8
    assert np.shares_memory(est._fit_X, X_train)
    ref = KNeighborsClassifier(n_neighbors=K, metric=metric, algorithm="brute")
    ref.fit(X_train, y_train)

    dist, ind = est.kneighbors(X_test)
    ref_dist, _ = ref.kneighbors(X_test)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-7, atol=1e-9)

    rtol = 1e-9 if metric == "cosine" else 0.0
    for i in range(0, N_TEST, 50):  # our distances are the exact ones
        exact = _exact_distances(X_test[i], X_train, metric)
        np.testing.assert_allclose(dist[i], exact[ind[i]], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dist[i], np.sort(exact)[:K], rtol=1e-12, atol=1e-12)

    pred, ref_pred = est.predict(X_test), ref.predict(X_test)
    differ = np.flatnonzero(pred != ref_pred)
    for i in differ:
        exact = _exact_distances(X_test[i], X_train, metric)
        assert _tie_at_kth(exact, K, rtol), f"query {i}: no tie at the k-th neighbor"
    assert differ.size <= 0.02 * N_TEST, f"{differ.size} differences, all ties"

    accuracy = est.score(X_test, y_test)
    assert accuracy > 0.78, accuracy
    assert abs(accuracy - ref.score(X_test, y_test)) <= differ.size / N_TEST
