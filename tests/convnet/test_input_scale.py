"""ConvNetClassifier: the input scale is decided in fit and applied to every input."""

import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.datasets import load_digits  # noqa: E402

from fmnist import ConvNetClassifier  # noqa: E402


@pytest.fixture(scope="module")
def fast_params(fast_params):
    """The shared settings (conftest.py), in batches of 64."""
    return {**fast_params, "batch_size": 64}


@pytest.fixture(scope="module")
def pixels():
    """Digits as uint8 pixels 0..240 (and their labels)."""
    X, y = load_digits(return_X_y=True)
    return (X[:200] * 15).astype(np.uint8), y[:200]


@pytest.fixture(scope="module")
def fitted_uint8(pixels, fast_params):
    X, y = pixels
    return ConvNetClassifier(**fast_params).fit(X, y)


def test_fit_records_the_input_dtype_and_range(fitted_uint8, pixels):
    X, _ = pixels
    assert fitted_uint8.input_dtype_ == "uint8"
    assert fitted_uint8.input_range_ == (float(X.min()), float(X.max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint16])
def test_float_copies_of_uint8_pixels_predict_identically(fitted_uint8, pixels, dtype):
    X, _ = pixels
    expected = fitted_uint8.predict_proba(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(
            fitted_uint8.predict_proba(X.astype(dtype)), expected
        )


def test_pickled_model_keeps_the_input_scale(fitted_uint8, pixels):
    X, _ = pixels
    clone = pickle.loads(pickle.dumps(fitted_uint8))
    np.testing.assert_array_equal(
        clone.predict_proba(X.astype(np.float32)), fitted_uint8.predict_proba(X)
    )


def test_saved_weights_keep_the_input_scale(
    fitted_uint8, pixels, tmp_path, fast_params
):
    X, _ = pixels
    fitted_uint8.save_weights(tmp_path / "w.pt")
    loaded = ConvNetClassifier(**fast_params).load_weights(tmp_path / "w.pt")
    assert loaded.input_dtype_ == "uint8"
    assert loaded.input_range_ == fitted_uint8.input_range_
    np.testing.assert_array_equal(
        loaded.predict_proba(X.astype(np.float32)), fitted_uint8.predict_proba(X)
    )


def test_query_far_outside_the_fitted_range_warns(pixels, fast_params):
    X, y = pixels
    clf = ConvNetClassifier(**fast_params).fit(X / 255.0, y)  # float64 in [0, 0.94]
    assert clf.input_dtype_ == "float64"
    assert clf.input_range_[1] == pytest.approx(240 / 255)
    with pytest.warns(UserWarning, match=r"\[0, 240\].*\[0, 0\.94.*float64"):
        clf.predict(X)  # the raw uint8 pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(X / 255.0)
        clf.predict(np.clip(X / 255.0 * 1.5 - 0.3, -1, 2))  # within one width


def test_constant_training_data_range(fast_params):
    X = np.zeros((20, 4))
    y = np.arange(20) % 2
    clf = ConvNetClassifier(**fast_params).fit(X, y)
    assert clf.input_range_ == (0.0, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(X + 0.5)
    with pytest.warns(UserWarning, match="far outside"):
        clf.predict(X + 5)
