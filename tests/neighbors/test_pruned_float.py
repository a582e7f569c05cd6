"""The pruned search on float rows returns exactly what brute force returns.

Float rows (``X / 255``, standardised features) are pruned with the same
projection bounds as uint8 rows; the exact stage computes every distance
with the brute-force tile's own float64 lane sums, so the results must be
bit-identical, ties included.
"""

import numpy as np
import pytest
from _knn_helpers import assert_pruned_matches_brute, blob_images

from fmnist import BlockKNNClassifier
from fmnist.neighbors._kernels import _float_tiles
from fmnist.neighbors._plan import TrainingRows
from fmnist.neighbors._pruned import _code_tables
from fmnist.neighbors._pruned import _dispatch as _pruning
from fmnist.neighbors._spec import SearchSpec

METRICS = ["manhattan", "euclidean", "sqeuclidean", "cosine"]


def _images(n, seed, side=28, levels=256):
    return blob_images(n, side, seed, levels)


SCALINGS = {
    "div255_float32": lambda a: a / np.float32(255),
    "div255_float64": lambda a: a / 255.0,
    "standardised": lambda a: ((a - 60.0) / 90.0).astype(np.float32),
    "large": lambda a: a * 1e6,
    "small": lambda a: (a * 1e-7).astype(np.float32),
}


@pytest.mark.parametrize(
    "scaling, n_jobs",
    [(scaling, 1) for scaling in SCALINGS] + [("div255_float32", 2)],
)
@pytest.mark.parametrize("metric", METRICS)
def test_float_pruned_matches_brute(scaling, metric, n_jobs):
    convert = SCALINGS[scaling]
    Y, X = convert(_images(2500, 0)), convert(_images(61, 1))
    assert _pruning.applies(SearchSpec.build(metric, 2, Y.dtype), X, Y)
    for k in (1, 5, 12):
        assert_pruned_matches_brute(metric, X, Y, k, n_jobs, really_pruned=True)


@pytest.mark.parametrize("metric", METRICS)
def test_float_pruned_keeps_the_tie_rule(metric):
    # Three grey levels and duplicate rows: most distances tie exactly.
    rng = np.random.default_rng(3)
    base = _images(300, 2, side=12, levels=3) / np.float32(2)
    Y = base[rng.integers(0, 300, 2500)]
    X = np.concatenate([Y[:40], _images(40, 4, side=12, levels=3) / np.float32(2)])
    assert_pruned_matches_brute(metric, X, Y, 9, really_pruned=True)


@pytest.mark.parametrize("metric", METRICS)
def test_float_pruned_excludes_self_and_zero_rows(metric):
    Y = _images(2500, 6) / 255.0
    Y[:4] = 0.0  # rows of zeros: cosine distance 1 to everything
    _, ind = assert_pruned_matches_brute(
        metric, Y, Y, 5, n_jobs=2, exclude_self=True, really_pruned=True
    )
    assert not (ind == np.arange(len(Y))[:, None]).any()
    X = np.concatenate([np.zeros((2, Y.shape[1])), Y[4:10]])
    assert_pruned_matches_brute(metric, X, Y, 7, really_pruned=True)


@pytest.mark.parametrize("metric", ["manhattan", "cosine"])  # both kernels
def test_float_pruned_on_noise_and_mixed_dtypes(metric):
    rng = np.random.default_rng(5)
    Y = rng.standard_normal((2100, 70)).astype(np.float32)
    X = rng.standard_normal((15, 70))  # float64 queries, float32 rows
    assert_pruned_matches_brute(metric, X, Y, 4, really_pruned=True)
    # uint8 queries are searched as the float32 values they are.
    clf = BlockKNNClassifier(3, metric=metric).fit(Y, np.arange(len(Y)) % 3)
    Q = _images(9, 8)[:, :70]
    for got, want in zip(clf.kneighbors(Q), clf.kneighbors(Q.astype(np.float32))):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("width", [1, 2, 3, 8, 17, 63])
@pytest.mark.parametrize("kind", ["uint8", "float32", "float64", "pca"])
def test_few_features_are_pruned_exactly(width, kind):
    # Euclidean and cosine searches prune rows of any width (PCA outputs,
    # embeddings): ties, repeated rows, rows left out and zero rows included.
    rng = np.random.default_rng(width)
    n = 2500
    if kind == "uint8":
        Y = rng.integers(0, 4, (n, width)).astype(np.uint8)  # ties everywhere
    elif kind == "float32":
        Y = (rng.integers(0, 6, (n, width)) / 5).astype(np.float32)
    elif kind == "float64":
        Y = rng.standard_normal((n, width)) * 100.0
    else:  # components of falling variance, as PCA returns them
        Y = rng.standard_normal((n, width)) * np.logspace(3, 0, width)
    Y[7] = 0
    if kind == "uint8":
        others = rng.integers(0, 256, (30, width)).astype(np.uint8)
    else:
        others = (rng.standard_normal((30, width)) * Y.std()).astype(Y.dtype)
    X = np.concatenate([Y[:20], others])
    for metric in ("euclidean", "sqeuclidean", "cosine"):
        assert_pruned_matches_brute(metric, X, Y, 7, n_jobs=2, really_pruned=True)
        assert_pruned_matches_brute(
            metric, Y[:300], Y[:300], 4, exclude_self=True, really_pruned=True
        )


def test_floats_beyond_the_range_take_brute_force():
    Y = _images(2200, 9) * 1e120
    assert TrainingRows(Y).bound_tables("l2") is None
    assert TrainingRows(Y).bound_tables("l1") is None
    assert_pruned_matches_brute("euclidean", Y[:5], Y, 3)
    assert_pruned_matches_brute("manhattan", Y[:5], Y, 3)
    # In-range rows, a query far outside them: brute force for that call.
    Y = _images(2200, 9) / 255.0
    X = np.concatenate([Y[:3], np.full((1, Y.shape[1]), 1e30)])
    assert TrainingRows(Y).bound_tables("l2") is not None
    dist, _ = assert_pruned_matches_brute("euclidean", X, Y, 3)
    assert_pruned_matches_brute("euclidean", X[:3], Y, 3, really_pruned=True)
    assert (dist[-1] > 1e30).all()


def test_estimator_prunes_scaled_images():
    Y = _images(2500, 10) / 255.0
    y = np.arange(len(Y)) % 10
    X = _images(50, 11) / 255.0
    results = {}
    for algorithm in ("brute", "auto"):
        clf = BlockKNNClassifier(algorithm=algorithm).fit(Y, y)
        assert clf.search_index().data.dtype == np.float64
        results[algorithm] = clf.kneighbors(X), clf.predict(X)
    for got, want in zip(results["auto"][0], results["brute"][0]):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(results["auto"][1], results["brute"][1])


# --------------------------------------------------------------------------
# the lane sums: one order in every tile shape


def _reference(x, y, u=1.0, v=1.0, absolute=False):
    """The documented order in Python floats: four lanes over the whole
    groups, ``(l0 + l1) + (l2 + l3)``, then the rest one by one, each square
    (or absolute difference) added with one rounding (exact here through
    fractions)."""
    from fractions import Fraction

    def fma(d, acc):
        if absolute:
            return acc + abs(d)
        return float(Fraction(d) * Fraction(d) + Fraction(acc))

    n = len(x)
    whole = n - n % 4
    d = [float(a) * u - float(b) * v for a, b in zip(x, y)]
    lanes = [0.0] * 4
    for t in range(whole):
        lanes[t % 4] = fma(d[t], lanes[t % 4])
    total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
    for t in range(whole, n):
        total = fma(d[t], total)
    return total


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 3, 4, 7, 9, 784])
def test_lane_sums_are_one_order_in_every_tile(dtype, n):
    rng = np.random.default_rng(n)
    X = (rng.standard_normal((4, n)) * 10).astype(dtype)
    Y = (rng.standard_normal((5, n)) * 10).astype(dtype)
    norms = np.sqrt((X.astype(np.float64) ** 2).sum(1))
    y_norms = np.sqrt((Y.astype(np.float64) ** 2).sum(1))
    squares = _float_tiles._squares_4x4(X, Y, 0, 1, 2, 3, 1, 2, 3, 4)
    squares_1x4 = _float_tiles._squares_1x4
    one = [v for i in range(4) for v in squares_1x4(X, Y, i, 1, 2, 3, 4)]
    assert squares == tuple(one)
    ref = [_reference(X[i], Y[j]) for i in range(4) for j in (1, 2, 3, 4)]
    assert list(squares) == ref
    u = [1 / v if v else 1.0 for v in norms]
    v = [1 / w if w else 1.0 for w in y_norms]
    chords = _float_tiles._chords_4x4(X, Y, 0, 1, 2, 3, 1, 2, 3, 4, *u, *v[1:])
    chords_1x4 = _float_tiles._chords_1x4
    one = [c for i in range(4) for c in chords_1x4(X, Y, i, 1, 2, 3, 4, u[i], *v[1:])]
    assert chords == tuple(one)
    ref = [_reference(X[i], Y[j], u[i], v[j]) for i in range(4) for j in (1, 2, 3, 4)]
    assert list(chords) == ref
    sums = _float_tiles._abs_4x4(X, Y, 0, 1, 2, 3, 1, 2, 3, 4)
    one = [v for i in range(4) for v in _float_tiles._abs_1x4(X, Y, i, 1, 2, 3, 4)]
    assert sums == tuple(one)
    ref = [_reference(X[i], Y[j], absolute=True) for i in range(4) for j in range(1, 5)]
    assert list(sums) == ref


# --------------------------------------------------------------------------
# the code bound of float rows


@pytest.mark.parametrize("norm", ["euclidean", "unit", "manhattan"])
@pytest.mark.parametrize("scaling", ["div255_float32", "standardised", "noise"])
def test_code_bound_stays_below_the_distance(norm, scaling):
    unit, manhattan = norm == "unit", norm == "manhattan"
    rng = np.random.default_rng(12)
    if scaling == "noise":
        Y = rng.standard_normal((500, 50)).astype(np.float32)
        X = rng.standard_normal((30, 50)) * 3  # beyond the codes' range too
    else:
        Y, X = SCALINGS[scaling](_images(500, 13)), SCALINGS[scaling](_images(30, 14))
    tables = _code_tables.code_tables(Y, unit, manhattan)
    q_codes, q_sq, q_slack = tables.query_codes(X, unit)
    diff = q_codes.astype(np.int64)[:, None] - tables.codes.astype(np.int64)
    dots = q_codes.astype(np.int64) @ tables.codes.T.astype(np.int64)
    squares = (diff**2).sum(-1)
    np.testing.assert_array_equal(squares, q_sq[:, None] + tables.sqnorms - 2 * dots)
    code_distance = np.abs(diff).sum(-1) if manhattan else np.sqrt(squares)
    bound = tables.step * code_distance - tables.rests - q_slack[:, None]

    def scaled(A):
        A = A.astype(np.float64)
        if unit:
            norms = np.sqrt((A * A).sum(1, keepdims=True))
            A = A / np.where(norms > 0, norms, 1.0)
        return A

    diff = scaled(X)[:, None] - scaled(Y)
    exact = np.abs(diff).sum(-1) if manhattan else np.sqrt((diff**2).sum(-1))
    assert (bound <= exact).all()
    # And the bound is worth its cost: close to the distance for most pairs.
    tight = scaling == "div255_float32" and not unit
    assert np.median(bound / exact) > (0.99 if tight else 0.5)


def test_codes_of_scaled_images_are_the_images():
    # Images spanning 0..255 divided by 255: the codes are the pixel values
    # and the rests only the float32 rounding of x / 255.
    images = _images(300, 15)
    images[0, 0], images[0, 1] = 0, 255
    tables = _code_tables.code_tables(images / np.float32(255), unit=False)
    np.testing.assert_array_equal(tables.codes, images)
    assert tables.rests.max() < 1e-6
