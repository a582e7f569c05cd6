"""ConvNetClassifier(warm_start=True): fit continues from the current weights."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.datasets import load_digits  # noqa: E402

from fmnist import ConvNetClassifier  # noqa: E402

FAST = dict(
    width=4, max_epochs=2, batch_size=64, augment="none", tta=False, random_state=0
)


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:200], y[:200]


def _weights(clf):
    return {k: v.detach().clone() for k, v in clf.net_.module_.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_second_fit_starts_from_the_first_fits_weights(data, monkeypatch):
    X, y = data
    clf = ConvNetClassifier(warm_start=True, **FAST).fit(X, y)
    first = _weights(clf)
    first_net = clf.net_
    # Record the weights the second fit starts its first batch with.
    start = {}
    original = type(first_net).train_step

    def train_step(net, batch, **kwargs):
        if not start:
            start.update(
                {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
            )
        return original(net, batch, **kwargs)

    monkeypatch.setattr(type(first_net), "train_step", train_step)
    clf.fit(X, y)
    monkeypatch.undo()
    assert _same(start, first)
    assert not _same(_weights(clf), first)  # it trained on
    assert clf.n_epochs_ == 2
    assert len(clf.net_.history) == 2  # a new schedule over max_epochs
    lrs = clf.net_.history[0, "batches", :, "lr"]
    assert lrs[0] == pytest.approx(clf.lr / 10)  # the one-cycle starts afresh

    fresh = ConvNetClassifier(**FAST).fit(X, y)
    assert not _same(_weights(clf), _weights(fresh))


def test_warm_start_false_trains_a_new_network(data):
    X, y = data
    clf = ConvNetClassifier(**FAST).fit(X, y)
    again = _weights(clf.fit(X, y))
    fresh = _weights(ConvNetClassifier(**FAST).fit(X, y))
    assert _same(again, fresh)


def test_warm_start_on_an_unfitted_estimator_is_a_plain_fit(data):
    X, y = data
    warm = ConvNetClassifier(warm_start=True, **FAST).fit(X, y)
    cold = ConvNetClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(warm.predict_proba(X), cold.predict_proba(X))


def test_warm_start_keeps_the_input_scale_and_normalisation(data):
    X, y = data
    clf = ConvNetClassifier(warm_start=True, **FAST).fit(X, y)
    mean, std, scale = clf.mean_, clf.std_, (clf.input_dtype_, clf.input_range_)
    clf.fit(X[:100] * 0.5, y[:100])  # other statistics, same classes
    assert (clf.mean_, clf.std_) == (mean, std)
    assert (clf.input_dtype_, clf.input_range_) == scale


def test_warm_start_with_other_classes_raises(data):
    X, y = data
    clf = ConvNetClassifier(warm_start=True, **FAST).fit(X, y)
    keep = y < 5
    with pytest.raises(ValueError, match=r"warm_start=True.*classes \[0, 1, 2, 3, 4\]"):
        clf.fit(X[keep], y[keep])
    with pytest.raises(ValueError, match="features"):
        clf.fit(X[:, :36], y)


def test_warm_start_with_another_network_raises(data):
    X, y = data
    clf = ConvNetClassifier(warm_start=True, **FAST).fit(X, y)
    clf.set_params(width=8)
    with pytest.raises(ValueError, match="do not fit this estimator's network"):
        clf.fit(X, y)


def test_warm_start_after_pickling_continues(data):
    X, y = data
    clf = ConvNetClassifier(**FAST).fit(X, y)
    first = _weights(clf)
    restored = pickle.loads(pickle.dumps(clf)).set_params(warm_start=True)
    restored.fit(X, y)
    # Continuing is the same as continuing without the round trip.
    direct = clf.set_params(warm_start=True).fit(X, y)
    assert not _same(_weights(restored), first)
    np.testing.assert_allclose(
        restored.predict_proba(X), direct.predict_proba(X), atol=1e-6
    )
