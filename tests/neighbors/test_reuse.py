"""Reuse of neighbour searches across calls: identical results, content keys,
bounded memory, an off switch, threads and pickling."""

import pickle
import threading

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score, validation_curve

from fmnist import BlockKNNClassifier
from fmnist.neighbors import SearchCache, search_cache


@pytest.fixture
def cache():
    previous = search_cache.max_bytes
    search_cache.clear()
    yield search_cache
    search_cache.max_bytes = previous
    search_cache.clear()


def _problem(n=240, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 6, (n, d), dtype=np.uint8)
    y = rng.integers(0, 3, n)
    return X, y


def _grid(X, y):
    grid = GridSearchCV(
        BlockKNNClassifier(),
        {
            "n_neighbors": [1, 3, 5, 7, 9],
            "metric": ["euclidean", "manhattan", "cosine"],
            "weights": ["uniform", "distance"],
        },
        cv=5,
    )
    return grid.fit(X, y).cv_results_


def test_grid_search_results_identical_with_and_without_reuse(cache):
    X, y = _problem()
    cache.max_bytes = 0
    without = _grid(X, y)
    assert len(cache) == 0
    cache.max_bytes = 64 << 20
    with_reuse = _grid(X, y)
    for name in ("params", "mean_test_score", "rank_test_score", "std_test_score"):
        assert list(map(str, with_reuse[name])) == list(map(str, without[name]))
    for split in range(5):
        np.testing.assert_array_equal(
            with_reuse[f"split{split}_test_score"], without[f"split{split}_test_score"]
        )
    # 3 metrics x 5 folds searches; the other 135 score calls were hits.
    assert cache.misses == 15
    assert cache.hits == 3 * 5 * 5 * 2 - 15


def test_cross_val_score_and_validation_curve_reuse(cache):
    X, y = _problem(seed=1)
    est = BlockKNNClassifier(metric="manhattan")
    first = cross_val_score(est, X, y, cv=4)
    assert (cache.misses, cache.hits) == (4, 0)  # one search per fold
    other = est.set_params(weights="distance", n_neighbors=9)
    again = cross_val_score(other, X, y)  # 5 other folds: 5 searches
    assert (cache.misses, cache.hits) == (9, 0)
    est.set_params(weights="uniform", n_neighbors=5)
    curve = validation_curve(
        est, X, y, param_name="n_neighbors", param_range=[1, 5, 9], cv=4
    )
    # The 4 folds' test searches are reused for every k; the training-set
    # scores need one new search per fold, reused for the other two k.
    assert (cache.misses, cache.hits) == (13, 12 + 8)
    cache.max_bytes = 0
    np.testing.assert_array_equal(
        cross_val_score(BlockKNNClassifier(metric="manhattan"), X, y, cv=4), first
    )
    np.testing.assert_array_equal(
        cross_val_score(
            BlockKNNClassifier(metric="manhattan", weights="distance", n_neighbors=9),
            X,
            y,
        ),
        again,
    )
    reference = validation_curve(
        est, X, y, param_name="n_neighbors", param_range=[1, 5, 9], cv=4
    )
    for a, b in zip(curve, reference):
        np.testing.assert_array_equal(a, b)


def test_repeated_calls_hit_and_return_copies(cache):
    X, y = _problem()
    est = BlockKNNClassifier(7).fit(X, y)
    dist, ind = est.kneighbors(X[:30])
    misses = cache.misses
    proba = est.predict_proba(X[:30])
    est.predict(X[:30])
    d3, i3 = est.kneighbors(X[:30], n_neighbors=3)
    assert cache.misses == misses and cache.hits >= 3
    np.testing.assert_array_equal(d3, dist[:, :3])
    np.testing.assert_array_equal(i3, ind[:, :3])
    dist[:] = -1  # a caller writing into a result cannot corrupt the cache
    np.testing.assert_array_equal(est.kneighbors(X[:30])[1], ind)
    assert (est.kneighbors(X[:30])[0] >= 0).all()
    np.testing.assert_array_equal(est.predict_proba(X[:30]), proba)


def test_array_changed_in_place_after_fit_is_never_stale(cache):
    X, y = _problem()
    est = BlockKNNClassifier(1, metric="manhattan").fit(X, y)
    assert np.shares_memory(est._fit_X, X)  # uint8 training data is not copied
    Q = X[:10].copy()
    before = est.kneighbors(Q)
    X[:10] = 5 - X[:10]  # the training rows change under the model
    after = est.kneighbors(Q)
    fresh = BlockKNNClassifier(1, metric="manhattan").fit(X.copy(), y).kneighbors(Q)
    np.testing.assert_array_equal(after[0], fresh[0])
    np.testing.assert_array_equal(after[1], fresh[1])
    assert not np.array_equal(after[0], before[0])
    Q[0] = 0  # and so does a query array
    np.testing.assert_array_equal(
        est.kneighbors(Q)[0],
        BlockKNNClassifier(1, metric="manhattan").fit(X.copy(), y).kneighbors(Q)[0],
    )


def test_memory_bound_and_off_switch(cache):
    X, y = _problem(n=400)
    est = BlockKNNClassifier(5).fit(X, y)
    cache.max_bytes = 3 * 400 * 16 * 16  # about three results of 400 queries
    for shift in range(8):
        est.kneighbors(np.roll(X, shift, axis=1))
    assert cache.nbytes <= cache.max_bytes and len(cache) == 3
    cache.max_bytes = 0
    assert len(cache) == 0 and cache.nbytes == 0
    est.kneighbors(X)
    assert len(cache) == 0
    with pytest.raises(ValueError, match="max_bytes"):
        cache.max_bytes = -1


def test_size_from_the_environment(monkeypatch):
    monkeypatch.setenv("FMNIST_KNN_CACHE_MB", "0.5")
    assert SearchCache().max_bytes == 1 << 19
    monkeypatch.setenv("FMNIST_KNN_CACHE_MB", "0")
    assert SearchCache().max_bytes == 0
    monkeypatch.setenv("FMNIST_KNN_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="FMNIST_KNN_CACHE_MB"):
        SearchCache()


def test_threads_share_the_cache_safely(cache):
    X, y = _problem(n=300)
    ests = [
        BlockKNNClassifier(k, metric=m).fit(X, y) for k in (1, 4) for m in ("l1", "l2")
    ]
    expected = [e.predict_proba(X) for e in ests]
    cache.clear()
    cache.max_bytes = 2 * 300 * 16 * 16  # small: entries are evicted under load
    errors = []
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        for _ in range(5):
            for e, exp in zip(ests, expected):
                if not np.array_equal(e.predict_proba(X), exp):
                    errors.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert cache.nbytes <= cache.max_bytes


def test_pickle_carries_no_cache(cache):
    X, y = _problem()
    est = BlockKNNClassifier(5).fit(X, y)
    size = len(pickle.dumps(est))
    for shift in range(5):
        est.predict(np.roll(X, shift, axis=0))
    assert len(cache) == 5
    assert len(pickle.dumps(est)) == size
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_digest_of_large_arrays_is_the_same_on_any_thread_count(monkeypatch):
    from fmnist.neighbors import _cache

    monkeypatch.setattr(_cache, "CHUNK_BYTES", 1000)  # 12 chunks and a partial one
    rows = np.random.default_rng(0).integers(0, 256, (250, 50), dtype=np.uint8)
    first = _cache.digest(rows)
    assert all(_cache.digest(rows, n) == first for n in (2, 3, 13, 64))
    for flat in (0, 999, 1000, 12_345, rows.size - 1):  # a byte of each chunk kind
        changed = rows.copy()
        changed.flat[flat] ^= 1
        assert _cache.digest(changed, 2) != first, flat
    assert _cache.digest(rows.reshape(500, 25), 2) != first  # shape counts
    assert _cache.digest(rows[:1], 2) != _cache.digest(rows[:1, :10], 2)


def test_small_batches_on_large_rows_are_searched_without_hashing(cache, monkeypatch):
    from fmnist.neighbors import _cache

    hashed = []
    monkeypatch.setattr(
        _cache, "digest", lambda a, n=1, _d=_cache.digest: hashed.append(a) or _d(a, n)
    )
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (6000, 784), dtype=np.uint8)  # over CHUNK_BYTES
    assert X.nbytes > _cache.CHUNK_BYTES
    est = BlockKNNClassifier(3).fit(X, np.arange(6000) % 4)
    small = X[: _cache.SMALL_BATCH - 1]
    first = est.kneighbors(small)
    assert est.kneighbors(small)[1].tolist() == first[1].tolist()
    assert (cache.hits, cache.misses, len(cache), hashed) == (0, 0, 0, [])
    big = X[: _cache.SMALL_BATCH]
    est.kneighbors(big)
    est.kneighbors(big)
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    np.testing.assert_array_equal(est.kneighbors(big)[1][:-1], first[1])
