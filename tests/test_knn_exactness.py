"""Exact kNN answers off the benchmark path: wide rows on every SIMD path,
cosine of parallel rows, Minkowski with p = inf, and queries the fitted dtype
cannot hold."""

import tracemalloc

import numpy as np
import pytest
from _subprocess_helpers import (
    SIMD_TARGETS,
    finish_python,
    require_simd_target,
    run_python,
    runs_here,
    simd_target_env,
    start_python,
    stop_python,
)
from sklearn.neighbors import KNeighborsClassifier

from fmnist import BlockKNNClassifier

# --------------------------------------------------------------------------
# wide uint8 rows, every SIMD code path

_WIDE_CHILD = """
    import sys
    import numpy as np
    from fmnist import BlockKNNClassifier
    from fmnist.neighbors import _search

    # Brute force takes the panel tiles (AVX2, AVX-512) for any batch here.
    _search.PANELS["min_queries"] = 1

    def exact_sqeuclidean(Q, X):
        Q, X = Q.astype(np.int64), X.astype(np.int64)
        return ((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1)

    rng = np.random.default_rng(0)
    for width in map(int, sys.argv[1:]):
        # All-0 and all-255 training rows, the query equal to the all-255 row,
        # plus bright and dark random rows.
        X = np.zeros((6, width), np.uint8)
        X[1] = 255
        X[2] = rng.integers(200, 256, width)
        X[3] = rng.integers(0, 50, width)
        X[4] = rng.integers(0, 256, width)
        X[5] = X[2] // 2  # not parallel to X[2] (odd values round down)
        y = np.arange(6)
        Q = np.stack([X[1], X[2], X[3] + 1, np.full(width, 254, np.uint8)])
        ref = exact_sqeuclidean(Q, X)
        order = np.argsort(ref, axis=1, kind="stable")
        for metric in ("sqeuclidean", "euclidean", "manhattan", "cosine"):
            for n_jobs in (1, 2):
                est = BlockKNNClassifier(6, metric=metric, n_jobs=n_jobs).fit(X, y)
                dist, ind = est.kneighbors(Q)
                assert np.isfinite(dist).all(), (width, metric, dist)
                if metric == "sqeuclidean":
                    assert (dist == np.take_along_axis(ref, order, 1)).all(), width
                    assert (ind == order).all(), (width, ind)
                elif metric == "euclidean":
                    assert (ind == order).all(), (width, ind)
                    expected = np.sqrt(np.take_along_axis(ref, order, 1))
                    assert np.allclose(dist, expected)
                elif metric == "manhattan":
                    diff = Q.astype(np.int64)[:, None] - X.astype(np.int64)
                    l1 = np.abs(diff).sum(-1)
                    assert (dist == np.sort(l1, axis=1)).all(), width
                else:
                    # The all-255 query is parallel to the all-255 row only;
                    # the all-254 query too. Both get exactly 0, rank it first.
                    for row, nearest in ((0, 1), (3, 1), (1, 2)):
                        got = (dist[row, 0], ind[row, 0])
                        assert got == (0.0, nearest), (width, row, got)
                    assert (dist[:, 1:] > 0).all()
                    assert (dist <= 2).all()
                one = est.set_params(n_neighbors=1)
                assert (one.predict(Q[:2]) == [1, 2]).all(), (width, metric)

    # The pruned search on this code path: image-like rows, against brute force.
    from fmnist.neighbors._search import kneighbors
    from fmnist.neighbors._spec import SearchSpec

    yy, xx = np.mgrid[:28, :28]
    def images(n):
        c = rng.uniform(0, 28, (n, 2, 1, 1))
        w = rng.uniform(2, 14, (n, 1, 1))
        img = np.exp(-((yy - c[:, 0]) ** 2 + (xx - c[:, 1]) ** 2) / w**2) * 255
        return np.round(img).astype(np.uint8).reshape(n, -1)
    Y, X = images(3000), images(60)
    for metric in ("manhattan", "euclidean", "sqeuclidean", "cosine"):
        for n_jobs in (1, 2):
            results = []
            for algorithm in ("brute", "pruned"):
                spec = SearchSpec.build(
                    metric, 2, np.uint8, algorithm=algorithm, n_jobs=n_jobs
                )
                results.append(kneighbors(spec, X, Y, 7, reuse=False))
            for got, want in zip(results[1], results[0]):
                assert (got == want).all(), ("pruned", metric, n_jobs)
    # One order on every target: four lanes, (l0 + l1) + (l2 + l3), then the
    # rest, each square added with one rounding (fma, by fractions here).
    from fractions import Fraction
    from fmnist.neighbors._kernels._tiles import _squares_1x4

    def fma(d, acc):
        return float(Fraction(d) * Fraction(d) + Fraction(acc))

    for n in (7, 785):
        A = rng.standard_normal((5, n)).astype(np.float32)
        for j, got in zip(range(1, 5), _squares_1x4(A, A, 0, 1, 2, 3, 4)):
            d = [float(a) - float(b) for a, b in zip(A[0], A[j])]
            lanes = [0.0] * 4
            for t in range(n - n % 4):
                lanes[t % 4] = fma(d[t], lanes[t % 4])
            want = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
            for t in range(n - n % 4, n):
                want = fma(d[t], want)
            assert got == want, (n, j, got, want)
    print("ok")
"""

WIDTHS = [784, 34_000, 66_000, 150_000]


_PLAN_CHILD = """
    from numba.core.registry import cpu_target
    from fmnist.neighbors._kernels._simd import target_features, plan, row_groups
    features = target_features(cpu_target.target_context)
    print(plan(features, "sad"), plan(features, "dot"), len(row_groups(features, 4)))
"""

# (sad widths, bias), (dot widths, bias) of each target, and the groups a
# 4 x 4 tile's query rows run in (two halves with 16 vector registers).
EXPECTED_PLANS = {
    "x86-64": "((16,), 0) ((8,), 0) 2",
    "haswell": "((32, 16), 0) ((16, 8), 0) 2",
    "skylake-avx512": "((64,), 0) ((32,), 0) 1",
    "cascadelake": "((64,), 0) ((32,), 128) 1",
}


@pytest.mark.parametrize("target", list(SIMD_TARGETS))
def test_each_simd_target_compiles_its_own_path(target, tmp_path):
    # NUMBA_CPU_NAME alone keeps the host's features: the child must really
    # compile the target's narrower code, not this machine's.
    env = simd_target_env(target, tmp_path / "cache")
    out = run_python(_PLAN_CHILD, env=env, timeout=120)
    assert out.stdout.strip() == EXPECTED_PLANS[target]


@pytest.fixture(scope="module")
def simd_children(request, tmp_path_factory):
    """The wide-row child of every SIMD target this run selects, started
    together: each spends about a minute compiling on one core, so on a
    machine with several cores they finish in a fraction of the time they
    take one after another."""
    test = "test_uint8_searches_are_exact_on_every_simd_path"
    selected = {
        item.callspec.params["target"]
        for item in request.session.items
        if getattr(item, "originalname", None) == test
    }
    children = {}
    for target in SIMD_TARGETS:
        if target in selected and runs_here(target):
            env = simd_target_env(target, tmp_path_factory.mktemp(f"nb-{target}"))
            children[target] = start_python(_WIDE_CHILD, *WIDTHS, env=env)
    yield children
    stop_python(children.values())


@pytest.mark.slow
@pytest.mark.parametrize("target", list(SIMD_TARGETS))
def test_uint8_searches_are_exact_on_every_simd_path(target, simd_children):
    require_simd_target(target)
    out = finish_python(simd_children[target], timeout=600)
    assert out.stdout.split()[-1] == "ok"


def test_wide_uint8_rows_are_exact_here():
    """The same check in this process, on the host's own code path."""
    rng = np.random.default_rng(1)
    for width in (66_000, 150_000):
        X = np.zeros((3, width), np.uint8)
        X[1] = 255
        X[2] = rng.integers(0, 256, width)
        est = BlockKNNClassifier(3, metric="euclidean").fit(X, [0, 1, 2])
        dist, ind = est.kneighbors(X[1:2])
        assert ind[0, 0] == 1 and dist[0, 0] == 0.0
        np.testing.assert_allclose(dist[0, 2], 255 * np.sqrt(width))
        assert est.set_params(n_neighbors=1).predict(X[1:2])[0] == 1
        cos = BlockKNNClassifier(3, metric="cosine").fit(X, [0, 1, 2])
        dist, ind = cos.kneighbors(X[1:2])
        assert (dist[0, 0], ind[0, 0]) == (0.0, 1)
        assert dist[0, 2] == 1.0  # the all-zero row


# --------------------------------------------------------------------------
# cosine: parallel directions are exactly 0, ties by training index


def test_cosine_of_one_feature_rows_is_exactly_zero():
    X = np.array([[1.0026], [0.2163]])
    q = np.array([[1.519]])
    est = BlockKNNClassifier(2, metric="cosine", weights="distance").fit(X, [0, 1])
    dist, ind = est.kneighbors(q)
    np.testing.assert_array_equal(dist, [[0.0, 0.0]])
    np.testing.assert_array_equal(ind, [[0, 1]])
    ref = KNeighborsClassifier(2, metric="cosine", weights="distance").fit(X, [0, 1])
    np.testing.assert_array_equal(est.predict_proba(q), [[0.5, 0.5]])
    np.testing.assert_array_equal(est.predict_proba(q), ref.predict_proba(q))


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_cosine_query_equal_to_a_training_row_ranks_it_first(dtype):
    X = np.array([[2, 3], [7, 1], [1, 2], [3, 5], [2, 4]], dtype=dtype)
    est = BlockKNNClassifier(5, metric="cosine").fit(X, np.arange(5))
    dist, ind = est.kneighbors(np.array([[1, 2]], dtype=dtype))
    # Rows 2 ([1, 2]) and 4 ([2, 4]) point the same way: both exactly 0,
    # the lower index first; every other row is strictly farther.
    np.testing.assert_array_equal(ind[0, :2], [2, 4])
    np.testing.assert_array_equal(dist[0, :2], [0.0, 0.0])
    assert (dist[0, 2:] > 0).all()


def test_cosine_integer_rows_parallel_but_not_by_a_power_of_two():
    X = np.array([[3, 6, 9], [1, 2, 3], [2, 4, 7], [5, 10, 15]], dtype=np.uint8)
    est = BlockKNNClassifier(4, metric="cosine").fit(X, [0, 1, 2, 3])
    dist, ind = est.kneighbors(np.array([[7, 14, 21]], dtype=np.uint8))
    np.testing.assert_array_equal(ind[0], [0, 1, 3, 2])
    np.testing.assert_array_equal(dist[0, :3], [0.0, 0.0, 0.0])
    assert dist[0, 3] > 0


def test_cosine_more_near_parallel_rows_than_k_keeps_the_parallel_ones():
    # 255 * ones and rows that differ from it in one byte by one are within
    # 1e-12 of its direction at this width, but only the exact copies are
    # parallel. Non-parallel near rows come first by index.
    width = 70_000
    base = np.full(width, 254, np.uint8)
    near = np.repeat(base[None], 4, axis=0)
    for i in range(4):
        near[i, i] = 253
    X = np.vstack([near, base[None], base[None] // 2 * 2])
    est = BlockKNNClassifier(2, metric="cosine").fit(X, np.arange(len(X)))
    dist, ind = est.kneighbors(base[None])
    np.testing.assert_array_equal(ind, [[4, 5]])
    np.testing.assert_array_equal(dist, [[0.0, 0.0]])
    d_all, i_all = est.kneighbors(base[None], n_neighbors=len(X))
    np.testing.assert_array_equal(i_all[0, :2], [4, 5])
    assert (d_all[0, 2:] > 0).all()


# --------------------------------------------------------------------------
# Minkowski p = inf


def test_minkowski_p_inf_is_chebyshev():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 9, (40, 5)).astype(np.uint8)
    y = rng.integers(0, 3, 40)
    est = BlockKNNClassifier(4, metric="minkowski", p=np.inf).fit(X, y)
    assert est.effective_metric_ == "chebyshev"
    cheb = BlockKNNClassifier(4, metric="chebyshev").fit(X, y)
    ref = KNeighborsClassifier(4, metric="minkowski", p=np.inf).fit(X, y)
    np.testing.assert_array_equal(est.kneighbors(X)[0], cheb.kneighbors(X)[0])
    np.testing.assert_array_equal(est.kneighbors(X)[0], ref.kneighbors(X)[0])
    np.testing.assert_array_equal(est.predict(X), cheb.predict(X))


@pytest.mark.parametrize("p", [0.5, -np.inf, np.nan])
def test_minkowski_p_below_one_is_rejected(p):
    est = BlockKNNClassifier(metric="minkowski", p=p)
    with pytest.raises(ValueError, match="'p' parameter of BlockKNNClassifier"):
        est.fit([[0], [1]], [0, 1])


# --------------------------------------------------------------------------
# the kernel dtype is decided at fit


def test_fractional_query_does_not_copy_the_training_set():
    rng = np.random.default_rng(4)
    X = rng.integers(0, 256, (20_000, 784), dtype=np.uint8)
    y = rng.integers(0, 10, 20_000)
    Q = X[:8] + 0.25
    BlockKNNClassifier(5, metric="manhattan", n_jobs=1).fit(X[:50], y[:50]).predict(Q)
    # A fresh model: its first fractional query must not widen the training set.
    est = BlockKNNClassifier(5, metric="manhattan", n_jobs=1).fit(X, y)
    tracemalloc.start()
    try:
        dist, ind = est.kneighbors(Q)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes // 10, peak  # a float64 copy would be 8 x X.nbytes
    np.testing.assert_array_equal(ind[:, 0], np.arange(8))
    np.testing.assert_allclose(dist[:, 0], 0.25 * 784)
    assert est._fit_X is not None and est._fit_X.dtype == np.uint8


def test_set_params_after_fit_takes_effect_and_is_validated():
    X = np.array([[0, 0], [3, 4], [6, 8]], dtype=np.uint8)
    est = BlockKNNClassifier(1).fit(X, [0, 1, 2])
    np.testing.assert_allclose(est.kneighbors([[3, 0]])[0], [[3.0]])
    est.set_params(metric="manhattan")
    np.testing.assert_allclose(est.kneighbors([[3, 0]])[0], [[3.0]])
    assert est.kneighbors([[3, 0]], 2)[1].tolist() == [[0, 1]]
    est.set_params(metric="chebyshev")
    assert est.kneighbors([[3, 0]], 2)[1].tolist() == [[0, 1]]
    est.set_params(block_size=(0, 1))
    with pytest.raises(ValueError, match="'block_size' parameter"):
        est.predict([[3, 0]])


@pytest.mark.parametrize("block_size", [0, (1,), (1, 0), (2, 3, 4), "big", (1.5, 2)])
def test_block_size_shape_is_checked_at_fit(block_size):
    with pytest.raises(
        ValueError, match="'block_size' parameter of BlockKNNClassifier"
    ):
        BlockKNNClassifier(block_size=block_size).fit([[0], [1]], [0, 1])
