"""The pretrained ConvNet, 16-bit weights files, digests and ``transform``."""

import hashlib
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.datasets import load_digits  # noqa: E402

import fmnist.convnet._pretrained as pretrained_module  # noqa: E402
from fmnist import ConvNetClassifier, load_pretrained_convnet  # noqa: E402
from fmnist.convnet._pretrained import PRETRAINED, write_compact_weights  # noqa: E402
from fmnist.datasets._cache import sha256_file  # noqa: E402


@pytest.fixture(scope="module")
def fast_params(fast_params):
    """The shared settings (conftest.py), one float32 thread, and the default
    augmentation and test-time augmentation."""
    settings = {k: v for k, v in fast_params.items() if k not in ("augment", "tta")}
    return {**settings, "n_threads": 1, "precision": "float32"}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300].astype(np.float32), y[:300]


@pytest.fixture(scope="module")
def fitted(digits, fast_params):
    return ConvNetClassifier(**fast_params).fit(*digits)


@pytest.fixture
def weights(fitted, tmp_path):
    path = tmp_path / "float32.pt"
    fitted.save_weights(path)
    return path


# ------------------------------------------------------------------ transform
def test_transform_returns_the_features_the_linear_layer_reads(
    fitted, digits, fast_params
):
    X, _ = digits
    clf = pickle.loads(pickle.dumps(fitted)).set_params(tta=False)
    features = clf.transform(X)
    assert features.shape == (len(X), 8 * fast_params["width"])
    assert features.dtype == np.float32
    module = clf.net_.module_
    with torch.no_grad():
        logits = module.classifier(torch.from_numpy(features)) * module.logit_scale
    proba = torch.softmax(logits, dim=1).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)


def test_transform_with_tta_averages_the_mirror_image(fitted, digits):
    X, _ = digits
    clf = pickle.loads(pickle.dumps(fitted))
    mirrored = X.reshape(-1, 8, 8)[:, :, ::-1].reshape(len(X), -1)
    clf.set_params(tta=False)
    expected = (clf.transform(X) + clf.transform(mirrored)) / 2
    clf.set_params(tta=True)
    np.testing.assert_allclose(clf.transform(X), expected, rtol=1e-5, atol=1e-6)


def test_a_frozen_network_feeds_knn_in_a_pipeline(fitted, digits):
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline

    from fmnist import BlockKNNClassifier

    X, y = digits
    before = {k: v.clone() for k, v in fitted.net_.module_.state_dict().items()}
    pipeline = make_pipeline(
        FrozenEstimator(fitted), BlockKNNClassifier(n_neighbors=3)
    ).fit(X, y)
    after = fitted.net_.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # not retrained
    knn = pipeline[-1]
    np.testing.assert_array_equal(knn.search_index().data, fitted.transform(X))
    assert pipeline.score(X, y) > 0.5


def test_transform_needs_a_network_with_embed(digits):
    assert hasattr(ConvNetClassifier(), "transform")
    clf = ConvNetClassifier(module=torch.nn.Flatten, max_epochs=1)
    assert not hasattr(clf, "transform")


# ------------------------------------------------------- 16-bit weights files
def test_compact_weights_are_half_the_size_and_predict_alike(
    fitted, weights, digits, fast_params
):
    X, _ = digits
    compact = weights.with_name("float16.pt")
    write_compact_weights(weights, compact)
    assert compact.stat().st_size < 0.6 * weights.stat().st_size
    stored = torch.load(compact, weights_only=True)["state_dict"]
    assert stored["classifier.weight"].dtype == torch.float16
    clf = ConvNetClassifier(width=fast_params["width"]).load_weights(compact)
    assert clf.net_.module_.classifier.weight.dtype == torch.float32
    np.testing.assert_allclose(
        clf.predict_proba(X), fitted.predict_proba(X), atol=2e-2
    )
    assert np.mean(clf.predict(X) == fitted.predict(X)) > 0.97
    assert not list(compact.parent.glob("*.tmp"))


def test_load_weights_checks_the_digest(weights, fast_params):
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert sha256_file(weights) == digest
    width = fast_params["width"]
    ConvNetClassifier(width=width).load_weights(weights, sha256=digest)
    with pytest.raises(ValueError, match="SHA-256 .* expected"):
        ConvNetClassifier(width=width).load_weights(weights, sha256="0" * 64)


def test_truncated_weights_file_is_a_clear_error(weights, fast_params):
    truncated = weights.with_name("truncated.pt")
    truncated.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a readable weights file"):
        ConvNetClassifier(width=fast_params["width"]).load_weights(truncated)


# ---------------------------------------------------------------- the shipped
def test_load_pretrained_rejects_parameters_of_the_network():
    with pytest.raises(ValueError, match="width"):
        load_pretrained_convnet(width=16)
    with pytest.raises(ValueError, match="max_epochs"):
        load_pretrained_convnet(max_epochs=3)


def test_load_pretrained_refuses_a_damaged_or_missing_file(
    monkeypatch, weights, fast_params
):
    monkeypatch.setattr(pretrained_module, "_weights_path", lambda: weights)
    monkeypatch.setitem(PRETRAINED, "params", {"width": fast_params["width"]})
    monkeypatch.setitem(PRETRAINED, "sha256", sha256_file(weights))
    assert load_pretrained_convnet(n_threads=1).n_features_in_ == 64
    monkeypatch.setitem(PRETRAINED, "sha256", "f" * 64)
    with pytest.raises(ValueError, match="damaged"):
        load_pretrained_convnet()
    missing = weights.with_name("missing.pt")
    monkeypatch.setattr(pretrained_module, "_weights_path", lambda: missing)
    with pytest.raises(ValueError, match="missing"):
        load_pretrained_convnet()


def test_the_shipped_file_matches_its_digest():
    path = pretrained_module._weights_path()
    assert sha256_file(path) == PRETRAINED["sha256"]
    assert path.stat().st_size < 10 * 2**20
    clf = load_pretrained_convnet(n_threads=1, tta=False)
    assert clf.n_features_in_ == 784 and clf.image_shape_ == (28, 28)
    assert clf.classes_.tolist() == list(range(10))
    assert clf.transform(np.zeros((3, 784), np.uint8)).shape == (3, 256)


@pytest.mark.realdata
@pytest.mark.slow
def test_pretrained_test_accuracy_is_the_recorded_one(fashion_mnist_split):
    # float32 on every machine (bfloat16 is chosen only where it is native).
    _, X_test, _, y_test = fashion_mnist_split
    clf = load_pretrained_convnet(precision="float32")
    assert clf.score(X_test, y_test) == PRETRAINED["test_accuracy"]
