"""ConvNetClassifier(warm_start=True): fit continues from the current weights."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from fmnist import ConvNetClassifier  # noqa: E402


@pytest.fixture(scope="module")
def fast_params(fast_params):
    """The shared settings (conftest.py), in batches of 64."""
    return {**fast_params, "batch_size": 64}


def _weights(clf):
    return {k: v.detach().clone() for k, v in clf.net_.module_.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_second_fit_starts_from_the_first_fits_weights(
    small_digits, monkeypatch, fast_params
):
    X, y = small_digits
    clf = ConvNetClassifier(warm_start=True, **fast_params).fit(X, y)
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

    fresh = ConvNetClassifier(**fast_params).fit(X, y)
    assert not _same(_weights(clf), _weights(fresh))


def test_warm_start_false_trains_a_new_network(small_digits, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(**fast_params).fit(X, y)
    again = _weights(clf.fit(X, y))
    fresh = _weights(ConvNetClassifier(**fast_params).fit(X, y))
    assert _same(again, fresh)


def test_warm_start_on_an_unfitted_estimator_is_a_plain_fit(small_digits, fast_params):
    X, y = small_digits
    warm = ConvNetClassifier(warm_start=True, **fast_params).fit(X, y)
    cold = ConvNetClassifier(**fast_params).fit(X, y)
    np.testing.assert_array_equal(warm.predict_proba(X), cold.predict_proba(X))


def test_warm_start_keeps_the_input_scale_and_normalisation(small_digits, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(warm_start=True, **fast_params).fit(X, y)
    mean, std, scale = clf.mean_, clf.std_, (clf.input_dtype_, clf.input_range_)
    clf.fit(X[:100] * 0.5, y[:100])  # other statistics, same classes
    assert (clf.mean_, clf.std_) == (mean, std)
    assert (clf.input_dtype_, clf.input_range_) == scale


def test_warm_start_with_other_classes_raises(small_digits, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(warm_start=True, **fast_params).fit(X, y)
    keep = y < 5
    with pytest.raises(ValueError, match=r"warm_start=True.*classes \[0, 1, 2, 3, 4\]"):
        clf.fit(X[keep], y[keep])
    with pytest.raises(ValueError, match="features"):
        clf.fit(X[:, :36], y)


def test_warm_start_with_another_network_raises(small_digits, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(warm_start=True, **fast_params).fit(X, y)
    clf.set_params(width=8)
    with pytest.raises(ValueError, match="do not fit this estimator's network"):
        clf.fit(X, y)


def test_warm_start_after_pickling_continues(small_digits, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(**fast_params).fit(X, y)
    first = _weights(clf)
    restored = pickle.loads(pickle.dumps(clf)).set_params(warm_start=True)
    restored.fit(X, y)
    # Continuing is the same as continuing without the round trip.
    direct = clf.set_params(warm_start=True).fit(X, y)
    assert not _same(_weights(restored), first)
    np.testing.assert_allclose(
        restored.predict_proba(X), direct.predict_proba(X), atol=1e-6
    )
