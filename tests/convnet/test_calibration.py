"""ConvNetClassifier: the temperature of predict_proba, fitted on held-out rows."""

import io
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402

from fmnist import ConvNetClassifier  # noqa: E402
from fmnist.convnet._calibration import (  # noqa: E402
    TEMPERATURE_BOUNDS,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)
from fmnist.convnet._recipe import MIN_CALIBRATION_SAMPLES  # noqa: E402
from fmnist.convnet._training import n_train_batches  # noqa: E402


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _calibrated_sample(n, seed):
    """Logits, and classes drawn from their softmax: calibrated by design."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 10)) * 3.0
    p = _softmax(z)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return z, y


# ------------------------------------------------------------ the functions
@pytest.mark.parametrize("true_temperature", [0.4, 2.5])
def test_fitted_temperature_undoes_a_known_one(true_temperature):
    # Probabilities flattened (T > 1) or sharpened (T < 1) from calibrated
    # logits: the fitted temperature is the inverse, to sampling error.
    z, y = _calibrated_sample(20_000, seed=0)
    proba = _softmax(z / true_temperature)
    fitted = fit_temperature(proba, y)
    np.testing.assert_allclose(fitted, 1 / true_temperature, rtol=0.05)
    before, _ = expected_calibration_error(proba, y)
    after, _ = expected_calibration_error(apply_temperature(proba, fitted), y)
    assert after < 0.02 < before
    assert log_loss(y, apply_temperature(proba, fitted)) < log_loss(y, proba)


def test_fitted_temperature_is_bounded_when_every_row_is_right():
    proba = np.array([[0.6, 0.4], [0.3, 0.7], [0.55, 0.45]])
    assert fit_temperature(proba, [0, 1, 0]) == pytest.approx(TEMPERATURE_BOUNDS[0])
    assert fit_temperature(proba, [1, 0, 1]) <= TEMPERATURE_BOUNDS[1]


def test_temperature_keeps_the_order_of_each_row():
    z, _ = _calibrated_sample(500, seed=1)
    proba = _softmax(z)
    for temperature in (0.05, 0.5, 1.0, 3.0, 20.0):
        scaled = apply_temperature(proba, temperature)
        np.testing.assert_allclose(scaled.sum(axis=1), 1.0)
        assert (scaled.argmax(axis=1) == proba.argmax(axis=1)).all()
        assert np.isfinite(scaled).all()
    np.testing.assert_array_equal(apply_temperature(proba, 1.0), proba)
    # A zero probability stays (almost) zero and never becomes NaN.
    scaled = apply_temperature(np.array([[1.0, 0.0], [0.5, 0.5]]), 0.5)
    np.testing.assert_allclose(scaled, [[1.0, 0.0], [0.5, 0.5]])


def test_expected_calibration_error_by_hand():
    # Two bins: top 0.9 (3 rows, 2 right) and top 0.6 (1 row, right):
    # 3/4 * |2/3 - 0.9| + 1/4 * |1 - 0.6|.
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.4, 0.6]])
    y = np.array([0, 0, 0, 1])
    ece, table = expected_calibration_error(proba, y)
    assert ece == pytest.approx(0.75 * abs(2 / 3 - 0.9) + 0.25 * 0.4)
    assert [row["count"] for row in table] == [1, 3]


# ------------------------------------------------------------ the estimator
@pytest.fixture(scope="module")
def fast_params(fast_params):
    """The shared settings (conftest.py), 8 wide, 6 epochs, one thread, and
    the default test-time augmentation."""
    settings = {k: v for k, v in fast_params.items() if k != "tta"}
    return {**settings, "width": 8, "max_epochs": 6, "n_threads": 1}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def calibrated(digits, fast_params):
    # Heavy label smoothing: the network's own probabilities are far too
    # flat; 300 of 1,000 images are held out for the temperature.
    X, y = digits
    clf = ConvNetClassifier(
        **fast_params, label_smoothing=0.3, calibration_fraction=0.3
    )
    return clf.fit(X[:1000], y[:1000])


def _uncalibrated(clf):
    copy = pickle.loads(pickle.dumps(clf))
    copy.temperature_ = 1.0
    return copy


def test_temperature_is_fitted_on_the_held_out_rows(calibrated, digits):
    X, y = digits
    clf = calibrated
    assert len(clf.validation_indices_) == 300
    assert clf.temperature_ < 0.8  # sharpens the smoothed probabilities
    # It is the best temperature for those rows, computed again here.
    held = clf.validation_indices_
    proba = _uncalibrated(clf).predict_proba(X[held])
    assert clf.temperature_ == pytest.approx(fit_temperature(proba, y[held]))
    # Only the other 700 rows trained the network.
    train_batches = [b for b in clf.net_.history[0, "batches"] if "train_loss" in b]
    assert len(train_batches) == n_train_batches(700, clf.batch_size_)
    assert "valid_loss" in clf.net_.history[-1]


def test_calibrated_probabilities_on_unseen_images(calibrated, digits):
    X, y = digits
    raw = _uncalibrated(calibrated)
    unseen, y_unseen = X[1000:], y[1000:]
    proba, raw_proba = calibrated.predict_proba(unseen), raw.predict_proba(unseen)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert log_loss(y_unseen, proba) < log_loss(y_unseen, raw_proba)
    ece, _ = expected_calibration_error(proba, y_unseen)
    raw_ece, _ = expected_calibration_error(raw_proba, y_unseen)
    assert ece < raw_ece
    # predict is the argmax with or without the temperature.
    np.testing.assert_array_equal(calibrated.predict(unseen), raw.predict(unseen))
    np.testing.assert_array_equal(
        calibrated.predict(unseen), calibrated.classes_[proba.argmax(axis=1)]
    )


def test_temperature_survives_pickling_and_weights_files(calibrated, digits):
    X, _ = digits
    expected = calibrated.predict_proba(X[:20])
    restored = pickle.loads(pickle.dumps(calibrated))
    np.testing.assert_array_equal(restored.predict_proba(X[:20]), expected)
    buffer = io.BytesIO()
    calibrated.save_weights(buffer)
    buffer.seek(0)
    loaded = ConvNetClassifier(width=8).load_weights(buffer)
    assert loaded.temperature_ == calibrated.temperature_
    np.testing.assert_allclose(loaded.predict_proba(X[:20]), expected, rtol=1e-6)


def test_weights_files_without_a_temperature_load_uncalibrated(calibrated):
    buffer = io.BytesIO()
    calibrated.save_weights(buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    del state["temperature"]
    old = io.BytesIO()
    torch.save(state, old)
    old.seek(0)
    assert ConvNetClassifier(width=8).load_weights(old).temperature_ == 1.0


def test_none_holds_nothing_out(digits, fast_params):
    X, y = digits
    clf = ConvNetClassifier(**fast_params, calibration_fraction=None)
    clf.fit(X[:1000], y[:1000])
    assert clf.validation_indices_ is None and clf.temperature_ == 1.0


def test_too_few_images_hold_nothing_out(digits, fast_params):
    # 5% of 1,000 images is 50, below MIN_CALIBRATION_SAMPLES.
    X, y = digits
    assert 0.05 * 1000 < MIN_CALIBRATION_SAMPLES
    clf = ConvNetClassifier(**fast_params).fit(X[:1000], y[:1000])
    assert clf.validation_indices_ is None and clf.temperature_ == 1.0


def test_validation_split_serves_as_the_calibration_rows(digits, fast_params):
    X, y = digits
    clf = ConvNetClassifier(**fast_params, validation_fraction=0.2)
    clf.fit(X[:1000], y[:1000])
    assert len(clf.validation_indices_) == 200  # nothing more held out
    assert clf.temperature_ != 1.0
    clf.set_params(calibration_fraction=None).fit(X[:1000], y[:1000])
    assert len(clf.validation_indices_) == 200 and clf.temperature_ == 1.0


@pytest.mark.parametrize("fraction", [0, 1, 1.5, "0.1"])
def test_bad_calibration_fraction_raises(digits, fraction):
    X, y = digits
    with pytest.raises((ValueError, TypeError), match="calibration_fraction"):
        ConvNetClassifier(calibration_fraction=fraction).fit(X[:50], y[:50])
