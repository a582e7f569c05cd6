"""Scale-out on dask: sharded exact search, block prediction, grid search.

One small ``LocalCluster`` (2 worker processes, 1 thread each, bound to
127.0.0.1) is shared by the whole module and shuts down after it.
"""

import os

import numpy as np
import pytest
from _ci import require
from _knn_helpers import knn_search
from _subprocess_helpers import run_python

distributed = require("distributed")
da = require("dask.array")

from fmnist import BlockKNNClassifier  # noqa: E402
from fmnist.distributed import (  # noqa: E402
    TrainingShards,
    predict_blocks,
    scatter_shards,
    sharded_kneighbors,
    sharded_predict,
    worker_env,
)
from fmnist.distributed._search import _reduce_pairwise, merge_topk  # noqa: E402
from fmnist.distributed._shards import _shard_bounds  # noqa: E402

TIMEOUT = 60  # seconds for any single cluster call


@pytest.fixture(scope="module")
def client():
    """A 2-process cluster with one thread per worker, numba/torch capped at 1."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
            env=worker_env(1),
        ) as cluster,
        distributed.Client(cluster, timeout=TIMEOUT) as client,
    ):
        client.wait_for_workers(2, timeout=TIMEOUT)
        yield client


# --------------------------------------------------------------------------
# Merge logic, without a cluster: every shard split of small tie-heavy data.


def _reference_topk(X_train, X_query, k, offset=0):
    """Brute-force top-k by (distance, index) with manhattan on exact values."""
    dist = np.abs(X_query[:, None, :] - X_train[None, :, :]).sum(axis=2)
    dist = dist.astype(np.float64)
    ind = np.broadcast_to(np.arange(X_train.shape[0]), dist.shape)
    order = np.lexsort((ind, dist), axis=1)[:, :k]
    return (
        np.take_along_axis(dist, order, axis=1),
        np.take_along_axis(ind, order, axis=1).astype(np.intp) + offset,
    )


def _direct_submit(func, *args):
    return func(*args)


@pytest.mark.parametrize("n_train", range(1, 10))
def test_merge_matches_global_topk_for_every_split(n_train):
    rng = np.random.default_rng(n_train)
    # Two binary features: at most 4 distinct rows, so most distances tie.
    X_train = rng.integers(0, 2, size=(n_train, 2)).astype(np.int64)
    X_query = rng.integers(0, 2, size=(7, 2)).astype(np.int64)
    for n_shards in range(1, n_train + 1):
        starts, stops = _shard_bounds(n_train, n_shards)
        for k in range(1, n_train + 1):
            parts = [
                _reference_topk(X_train[a:b], X_query, min(k, b - a), offset=a)
                for a, b in zip(starts, stops)
            ]
            dist, ind = _reduce_pairwise(_direct_submit, parts, k)
            ref_dist, ref_ind = _reference_topk(X_train, X_query, k)
            np.testing.assert_array_equal(dist, ref_dist)
            np.testing.assert_array_equal(ind, ref_ind)


def test_merge_float_distances_and_order_of_arguments():
    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(50, 3))
    X_query = rng.normal(size=(11, 3))
    k = 8
    a = _reference_topk(X_train[:20], X_query, k)
    b = _reference_topk(X_train[20:], X_query, k, offset=20)
    ref = _reference_topk(X_train, X_query, k)
    for first, second in [(a, b), (b, a)]:
        dist, ind = merge_topk(first, second, k)
        np.testing.assert_array_equal(dist, ref[0])
        np.testing.assert_array_equal(ind, ref[1])


def test_merge_ties_go_to_the_lower_global_index():
    dist = np.zeros((1, 2))
    high = (dist, np.array([[7, 9]]))
    low = (dist, np.array([[3, 8]]))
    _, ind = merge_topk(high, low, 3)
    np.testing.assert_array_equal(ind, [[3, 7, 8]])


@pytest.mark.parametrize("n_samples", [1, 2, 7, 10, 101])
def test_shard_bounds_cover_rows_once(n_samples):
    for n_shards in range(1, n_samples + 1):
        starts, stops = _shard_bounds(n_samples, n_shards)
        assert starts[0] == 0 and stops[-1] == n_samples
        np.testing.assert_array_equal(starts[1:], stops[:-1])
        sizes = stops - starts
        assert sizes.min() >= 1 and sizes.max() - sizes.min() <= 1


# --------------------------------------------------------------------------
# Optional dependency and thread settings.


@pytest.mark.slow
def test_missing_dask_raises_clear_import_error():
    result = run_python(
        """
        import sys
        for name in ("dask", "dask.array", "distributed"):
            sys.modules[name] = None
        import numpy as np
        import fmnist
        import fmnist.distributed as fd
        assert fd.worker_env(1)["NUMBA_NUM_THREADS"] == "1"
        calls = [
            lambda: fd.sharded_kneighbors(None, np.zeros((2, 2)), np.zeros((1, 2))),
            lambda: fd.scatter_shards(None, np.zeros((2, 2))),
            lambda: fd.predict_blocks(None, np.zeros((2, 2))),
            lambda: fd.sharded_predict(None, None, np.zeros((1, 2))),
        ]
        for call in calls:
            try:
                call()
            except ImportError as err:
                assert 'pip install "fmnist[distributed]"' in str(err), err
            else:
                raise AssertionError("no ImportError")
        print("ok")
        """,
        timeout=120,
    )
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("n_threads", [0, -1, 1.5, True, "2"])
def test_worker_env_rejects_bad_thread_counts(n_threads):
    with pytest.raises(ValueError, match="n_threads must be an int >= 1"):
        worker_env(n_threads)


def _thread_settings():
    import numba
    import torch

    return (
        os.environ.get("NUMBA_NUM_THREADS"),
        numba.config.NUMBA_NUM_THREADS,
        numba.get_num_threads(),
        torch.get_num_threads(),
    )


@pytest.mark.slow
def test_workers_are_capped_to_one_thread(client):
    settings = client.run(_thread_settings)
    assert len(settings) == 2
    for value in settings.values():
        assert value == ("1", 1, 1, 1)


# --------------------------------------------------------------------------
# Shards on the cluster.


def test_scatter_shards_places_one_shard_per_worker(client):
    X = np.arange(30, dtype=np.uint8).reshape(10, 3)
    shards = scatter_shards(client, X, n_shards=3)
    try:
        assert isinstance(shards, TrainingShards)
        assert shards.n_shards == 3 and shards.n_samples == 10
        assert len(set(shards.workers[:2])) == 2
        parts = client.gather(shards.futures)
        np.testing.assert_array_equal(np.concatenate(parts), X)
        assert "n_shards=3" in repr(shards)
    finally:
        shards.release()
    with pytest.raises(ValueError, match="n_shards <= n_samples"):
        scatter_shards(client, X, n_shards=11)
    with pytest.raises(ValueError, match="n_shards must be an int"):
        scatter_shards(client, X, n_shards=0)


def test_sharded_kneighbors_validates_before_sending(client):
    X = np.zeros((4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        sharded_kneighbors(client, X, X, n_neighbors=5)
    with pytest.raises(ValueError, match="features"):
        sharded_kneighbors(client, X, np.zeros((1, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="metric must be one of"):
        sharded_kneighbors(client, X, X, 2, metric="sokalmichener")
    with pytest.raises(ValueError, match="p must be"):
        sharded_kneighbors(client, X, X, 2, metric="minkowski", p=0)
    dist, ind = sharded_kneighbors(client, X, X[:0], n_neighbors=2)
    assert dist.shape == (0, 2) and ind.shape == (0, 2)


# --------------------------------------------------------------------------
# Block prediction.


def test_predict_blocks_with_sklearn_estimator_one_row_and_empty_chunks(client):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, size=40)]
    clf = KNeighborsClassifier(n_neighbors=3).fit(X, y)
    X_query = rng.normal(size=(9, 4))
    X_dask = da.from_array(X_query, chunks=((1, 0, 5, 3), (2, 2)))
    y_dask = predict_blocks(clf, X_dask)
    assert y_dask.chunks == ((1, 0, 5, 3),)
    np.testing.assert_array_equal(y_dask.compute(), clf.predict(X_query))
    proba = predict_blocks(clf, X_dask, method="predict_proba").compute()
    np.testing.assert_allclose(proba, clf.predict_proba(X_query))
    empty = predict_blocks(clf, da.zeros((0, 4), chunks=(1, 4))).compute()
    assert empty.shape == (0,) and empty.dtype == y.dtype


# --------------------------------------------------------------------------
# Sharded search == single-machine search.


def _tie_heavy_uint8(rng, n_samples, n_features=6):
    """Rows drawn from a few distinct patterns, so most distances tie."""
    patterns = rng.integers(0, 256, size=(4, n_features), dtype=np.uint8)
    return patterns[rng.integers(0, 4, size=n_samples)]


# The other metrics and dtypes are compared with BlockKNNClassifier below.
CASES = [
    # (dtype, metric, p)
    ("uint8", "chebyshev", 2),
    ("int32", "sqeuclidean", 2),
]


@pytest.mark.parametrize("dtype, metric, p", CASES)
def test_sharded_kneighbors_matches_kneighbors_search(client, dtype, metric, p):

    rng = np.random.default_rng(1)
    if dtype in ("uint8", "int32"):
        X_train = _tie_heavy_uint8(rng, 23).astype(dtype)
        X_query = _tie_heavy_uint8(rng, 9).astype(dtype)
        X_query[0] = X_train[5]  # exact duplicate of a training row
    else:
        X_train = rng.normal(size=(23, 6)).astype(dtype)
        X_train[10:14] = X_train[3]  # duplicated rows: tied distances
        X_query = rng.normal(size=(9, 6)).astype(dtype)
    # 23 rows in 3 and 5 shards: shards of 7-8 and 4-5 rows, so k=11
    # exceeds every shard.
    for n_shards in (3, 5):
        for k in (1, 11):
            dist, ind = sharded_kneighbors(
                client,
                X_train,
                X_query,
                k,
                metric=metric,
                p=p,
                n_shards=n_shards,
                timeout=TIMEOUT,
            )
            ref_dist, ref_ind = knn_search(
                X_query, X_train, k, metric=metric, p=p, convert_queries=True
            )
            np.testing.assert_array_equal(ind, ref_ind)
            np.testing.assert_array_equal(dist, ref_dist)
            assert dist.dtype == np.float64 and ind.dtype == np.intp


def test_sharded_kneighbors_reuses_scattered_shards(client):

    rng = np.random.default_rng(2)
    X_train = _tie_heavy_uint8(rng, 17)
    shards = scatter_shards(client, X_train, n_shards=4)
    try:
        for n_queries in (1, 6):
            X_query = _tie_heavy_uint8(rng, n_queries)
            dist, ind = sharded_kneighbors(
                client, shards, X_query, 17, metric="manhattan", timeout=TIMEOUT
            )
            ref = knn_search(
                X_query, X_train, 17, metric="manhattan", convert_queries=True
            )
            np.testing.assert_array_equal(ind, ref[1])
            np.testing.assert_array_equal(dist, ref[0])
        # float queries on uint8 shards: the shards are widened on the workers.
        X_float = X_query + np.float32(0.25)
        dist, ind = sharded_kneighbors(client, shards, X_float, 5, timeout=TIMEOUT)
        ref = knn_search(X_float, X_train.astype(np.float32), 5, convert_queries=True)
        np.testing.assert_array_equal(ind, ref[1])
        np.testing.assert_array_equal(dist, ref[0])
    finally:
        shards.release()
    with pytest.raises(ValueError, match="released"):
        sharded_kneighbors(client, shards, X_query)


# 29 training rows: 4 shards of 7-8 rows, so n_neighbors=9 spans shards.
KNN_CASES = [
    # (fit dtype, query kind, metric, p, weights)
    ("uint8", "same", "manhattan", 2, "uniform"),
    ("uint8", "same", "euclidean", 2, "distance"),
    ("uint8", "fractional", "l1", 2, "uniform"),
    ("float32", "same", "cosine", 2, "distance"),
    ("float64", "same", "minkowski", 3, "uniform"),
]


@pytest.mark.parametrize("fit_dtype, queries, metric, p, weights", KNN_CASES)
def test_sharded_search_and_vote_match_block_knn(
    client, fit_dtype, queries, metric, p, weights
):
    rng = np.random.default_rng(3)
    X = _tie_heavy_uint8(rng, 29)
    X_query = _tie_heavy_uint8(rng, 8)
    X_query[:2] = X[[4, 20]]  # zero distances
    if fit_dtype != "uint8":
        X = X.astype(fit_dtype) / 7
        X_query = X_query.astype(fit_dtype) / 7
    if queries == "fractional":
        X_query = X_query + 0.5  # float64 queries on a uint8 model
    # String labels, so that the vote's tie rule (smallest label) matters.
    y = np.array(["boot", "coat", "dress"])[rng.integers(0, 3, size=29)]
    for k in (1, 4, 9):
        clf = BlockKNNClassifier(k, metric=metric, p=p, weights=weights).fit(X, y)
        dist, ind = clf.kneighbors(X_query)
        got_dist, got_ind = sharded_kneighbors(
            client, X, X_query, k, metric=metric, p=p, n_shards=4, timeout=TIMEOUT
        )
        np.testing.assert_array_equal(got_ind, ind)
        np.testing.assert_array_equal(got_dist, dist)
        shards = scatter_shards(client, clf, n_shards=4)
        try:
            np.testing.assert_array_equal(
                sharded_predict(client, clf, X_query, shards=shards, timeout=TIMEOUT),
                clf.predict(X_query),
            )
            np.testing.assert_array_equal(
                sharded_predict(
                    client,
                    clf,
                    X_query,
                    method="predict_proba",
                    shards=shards,
                    timeout=TIMEOUT,
                ),
                clf.predict_proba(X_query),
            )
        finally:
            shards.release()


def test_sharded_predict_scatters_when_no_shards_given(client):
    rng = np.random.default_rng(4)
    X = _tie_heavy_uint8(rng, 12)
    y = rng.integers(0, 3, size=12)
    clf = BlockKNNClassifier(n_neighbors=7, metric="manhattan").fit(X, y)
    X_query = _tie_heavy_uint8(rng, 5)
    for n_shards in (None, 5):
        got = sharded_predict(client, clf, X_query, n_shards=n_shards, timeout=TIMEOUT)
        np.testing.assert_array_equal(got, clf.predict(X_query))
    # Empty input is refused exactly as the estimator refuses it.
    with pytest.raises(ValueError, match="0 sample"):
        clf.predict(X_query[:0])
    with pytest.raises(ValueError, match="0 sample"):
        sharded_predict(client, clf, X_query[:0])


def test_sharded_predict_rejects_wrong_inputs(client):
    from sklearn.exceptions import NotFittedError
    from sklearn.neighbors import KNeighborsClassifier

    X = np.arange(20, dtype=np.uint8).reshape(10, 2)
    y = np.arange(10) % 2
    clf = BlockKNNClassifier(n_neighbors=3).fit(X, y)
    with pytest.raises(TypeError, match="predict_blocks"):
        sharded_predict(client, KNeighborsClassifier().fit(X, y), X)
    with pytest.raises(NotFittedError):
        sharded_predict(client, BlockKNNClassifier(), X)
    with pytest.raises(ValueError, match="method must be"):
        sharded_predict(client, clf, X, method="score")
    other = scatter_shards(client, X[:9])
    try:
        with pytest.raises(ValueError, match="scatter_shards\\(client, estimator\\)"):
            sharded_predict(client, clf, X, shards=other)
    finally:
        other.release()
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        sharded_predict(client, BlockKNNClassifier(11).fit(X, y), X)


def test_pickling_a_fitted_block_knn_keeps_it_usable():
    # Sending a fitted classifier to a dask worker (or joblib, or
    # copy.copy) pickles it. Afterwards the local object must still predict
    # float queries on integer training data.
    import pickle

    X = np.arange(20, dtype=np.uint8).reshape(10, 2)
    y = np.arange(10) % 2
    clf = BlockKNNClassifier(n_neighbors=3).fit(X, y)
    expected = clf.predict(X + 0.5)
    pickle.dumps(clf)
    np.testing.assert_array_equal(clf.predict(X + 0.5), expected)
    assert "_fmnist_version" not in vars(clf)


# --------------------------------------------------------------------------
# Model selection under joblib's dask backend, and block prediction, with
# both fmnist estimators.


@pytest.fixture(scope="module")
def digits():
    """300 8x8 digit images as uint8 rows (pixel values 0-16), labels 0-9."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:300].astype(np.uint8), y[:300]


def _tiny_convnet(**params):
    from fmnist import ConvNetClassifier

    defaults = dict(
        max_epochs=1,
        width=4,
        batch_size=64,
        augment="none",
        tta=False,
        n_threads=1,
        device="cpu",
        random_state=0,
    )
    return ConvNetClassifier(**{**defaults, **params})


def _run_on_cluster(client, func, scatter=None):
    """Run ``func`` under joblib's dask backend; return its result and tasks."""
    import joblib

    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_config(backend="dask", n_jobs=-1, scatter=scatter):
            result = func()
    return result, len(stream.data)


def test_grid_search_block_knn_on_dask_equals_local(client, digits):
    from sklearn.model_selection import GridSearchCV

    X, y = digits
    grid = {"n_neighbors": [1, 3, 7], "metric": ["manhattan", "euclidean"]}
    local = GridSearchCV(BlockKNNClassifier(), grid, cv=3).fit(X, y)
    # X and y are sent to the workers once, not with every task.
    remote, n_tasks = _run_on_cluster(
        client,
        lambda: GridSearchCV(BlockKNNClassifier(), grid, cv=3).fit(X, y),
        scatter=[X, y],
    )
    assert n_tasks > 0  # the fits ran on the cluster
    assert remote.best_params_ == local.best_params_
    for key in ("mean_test_score", *(f"split{i}_test_score" for i in range(3))):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    np.testing.assert_array_equal(remote.predict(X[:20]), local.predict(X[:20]))


def test_cross_val_score_on_dask_equals_local(client, digits):
    from sklearn.model_selection import cross_val_score

    X, y = digits
    clf = BlockKNNClassifier(n_neighbors=3, metric="manhattan")
    local = cross_val_score(clf, X, y, cv=4)
    remote, n_tasks = _run_on_cluster(client, lambda: cross_val_score(clf, X, y, cv=4))
    assert n_tasks > 0
    np.testing.assert_array_equal(remote, local)


@pytest.mark.slow
def test_grid_search_convnet_on_dask_equals_local(client, digits):
    require("skorch")
    from sklearn.model_selection import GridSearchCV, cross_val_score

    X, y = digits
    X, y = X[:120], y[:120]
    grid = {"lr": [0.02, 0.2]}
    local = GridSearchCV(_tiny_convnet(), grid, cv=2, refit=False).fit(X, y)
    remote, n_tasks = _run_on_cluster(
        client,
        lambda: GridSearchCV(_tiny_convnet(), grid, cv=2, refit=False).fit(X, y),
    )
    assert n_tasks > 0
    # Same seed, CPU and thread count on both sides: the same networks.
    assert remote.best_params_ == local.best_params_
    for key in ("split0_test_score", "split1_test_score"):
        np.testing.assert_allclose(remote.cv_results_[key], local.cv_results_[key])
    scores, _ = _run_on_cluster(
        client, lambda: cross_val_score(_tiny_convnet(lr=0.2), X, y, cv=2)
    )
    local_scores = [local.cv_results_[f"split{i}_test_score"][1] for i in range(2)]
    np.testing.assert_allclose(scores, local_scores)


def _one_row_and_empty_chunks(X):
    """``X`` as a dask array whose row chunks include a 1-row and an empty one."""
    n = X.shape[0]
    return da.from_array(X, chunks=((1, 0, n - 4, 3), (X.shape[1],)))


def test_predict_blocks_block_knn_equals_local(client, digits):
    X, y = digits
    clf = BlockKNNClassifier(n_neighbors=5, metric="manhattan").fit(X[:200], y[:200])
    X_query = X[200:]
    y_dask = predict_blocks(clf, _one_row_and_empty_chunks(X_query))
    np.testing.assert_array_equal(y_dask.compute(), clf.predict(X_query))
    proba = predict_blocks(
        clf, _one_row_and_empty_chunks(X_query), method="predict_proba"
    )
    np.testing.assert_array_equal(proba.compute(), clf.predict_proba(X_query))
    empty = predict_blocks(clf, da.zeros((0, 64), dtype=np.uint8, chunks=(5, 64)))
    assert empty.compute().shape == (0,)


def test_predict_blocks_convnet_equals_local(client, digits):
    require("skorch")
    X, y = digits
    clf = _tiny_convnet().fit(X[:200], y[:200])
    X_query = X[200:]
    y_dask = predict_blocks(clf, _one_row_and_empty_chunks(X_query))
    np.testing.assert_array_equal(y_dask.compute(), clf.predict(X_query))
    proba = predict_blocks(
        clf, _one_row_and_empty_chunks(X_query), method="predict_proba"
    )
    np.testing.assert_allclose(proba.compute(), clf.predict_proba(X_query), atol=1e-6)


@pytest.mark.slow
def test_dask_ml_parallel_post_fit_with_both_estimators(client, digits):
    require("skorch")
    wrappers = require("dask_ml.wrappers")
    X, y = digits
    X_query = da.from_array(X[200:], chunks=(1 + 40, 64))  # chunks of 41 and 59
    for clf in (BlockKNNClassifier(n_neighbors=3), _tiny_convnet()):
        wrapped = wrappers.ParallelPostFit(clf).fit(X[:200], y[:200])
        np.testing.assert_array_equal(
            wrapped.predict(X_query).compute(), wrapped.estimator.predict(X[200:])
        )
