"""ConvNetClassifier persistence: pickle, joblib, weights files, clone."""

import pickle

import numpy as np
import pytest
from _subprocess_helpers import run_python

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

import joblib  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

import fmnist._persistence as persistence_module  # noqa: E402
import fmnist.convnet._weights as weights_module  # noqa: E402
from fmnist import ConvNetClassifier, InconsistentVersionWarning  # noqa: E402


@pytest.fixture(scope="module")
def fast_params(fast_params):
    """The shared settings (conftest.py), with full augmentation and test-time
    augmentation."""
    return {**fast_params, "augment": "full", "tta": True}


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    names = np.array([f"digit {d}" for d in range(10)])
    return X[:200], names[y[:200]]


@pytest.fixture(scope="module")
def fitted(data, fast_params):
    return ConvNetClassifier(**fast_params).fit(*data)


def test_pickle_round_trip(fitted, data):
    X, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, fitted.classes_)
    assert restored.get_params() == fitted.get_params()
    assert len(restored.net_.history) == 2


_LOAD_SCRIPT = """
    import sys
    import joblib
    import numpy as np
    from sklearn.datasets import load_digits
    clf = joblib.load(sys.argv[1])
    X, _ = load_digits(return_X_y=True)
    np.save(sys.argv[2], clf.predict_proba(X[:200]))
    np.save(sys.argv[3], clf.predict(X[:200]))
"""


@pytest.mark.slow
def test_joblib_round_trip_in_a_fresh_process(fitted, data, tmp_path):
    X, _ = data
    model = tmp_path / "model.joblib"
    joblib.dump(fitted, model)
    proba, labels = tmp_path / "proba.npy", tmp_path / "labels.npy"
    run_python(_LOAD_SCRIPT, model, proba, labels)
    np.testing.assert_array_equal(np.load(proba), fitted.predict_proba(X))
    np.testing.assert_array_equal(np.load(labels), fitted.predict(X))


def test_unpickling_another_version_warns(fitted, monkeypatch):
    payload = pickle.dumps(fitted)
    monkeypatch.setattr(persistence_module, "__version__", "0.0.0-other")
    with pytest.warns(InconsistentVersionWarning, match="from fmnist version 0.1"):
        pickle.loads(payload)


def test_unpickling_same_version_is_silent(fitted, recwarn):
    pickle.loads(pickle.dumps(fitted))
    assert not [w for w in recwarn if "fmnist" in str(w.message)]


def test_weights_round_trip_into_a_new_estimator(fitted, data, tmp_path, fast_params):
    X, _ = data
    path = tmp_path / "weights.pt"
    fitted.save_weights(path)
    # Only tensors and plain Python values: safe for weights_only loading.
    state = torch.load(path, weights_only=True)
    assert state["classes"] == fitted.classes_.tolist()
    fresh = ConvNetClassifier(**fast_params).load_weights(path)
    np.testing.assert_array_equal(fresh.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(fresh.predict(X), fitted.predict(X))
    assert fresh.classes_.dtype == fitted.classes_.dtype
    assert fresh.n_features_in_ == 64


def test_load_weights_into_a_different_network_fails(fitted, tmp_path, fast_params):
    path = tmp_path / "weights.pt"
    fitted.save_weights(path)
    with pytest.raises(ValueError, match="do not fit"):
        ConvNetClassifier(**dict(fast_params, width=8)).load_weights(path)


def test_load_weights_from_another_version_warns(
    fitted, tmp_path, monkeypatch, fast_params
):
    path = tmp_path / "weights.pt"
    fitted.save_weights(path)
    monkeypatch.setattr(weights_module, "__version__", "0.0.0-other")
    with pytest.warns(UserWarning, match="saved by fmnist"):
        ConvNetClassifier(**fast_params).load_weights(path)


def test_save_weights_needs_a_fitted_estimator(tmp_path):
    with pytest.raises(NotFittedError):
        ConvNetClassifier().save_weights(tmp_path / "w.pt")


def test_clone_is_unfitted_and_shares_no_tensors(fitted, data):
    unfitted = clone(fitted)
    assert not hasattr(unfitted, "net_")
    with pytest.raises(NotFittedError):
        unfitted.predict(data[0])
    refit = unfitted.fit(*data)
    old = {p.data_ptr() for p in fitted.net_.module_.parameters()}
    new = {p.data_ptr() for p in refit.net_.module_.parameters()}
    assert not old & new
    assert refit.net_ is not fitted.net_
    # Same seed, same data: the clone trains to the same predictions.
    np.testing.assert_array_equal(refit.predict_proba(data[0]),
                                  fitted.predict_proba(data[0]))


def test_pickle_keeps_the_generators_independent(fitted, data):
    restored = pickle.loads(pickle.dumps(fitted))
    restored.fit(*data)
    np.testing.assert_array_equal(restored.predict_proba(data[0]),
                                  fitted.predict_proba(data[0]))
