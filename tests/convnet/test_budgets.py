"""ConvNetClassifier at short budgets: batch size and augmentation follow them."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402

from fmnist import ConvNetClassifier  # noqa: E402
from fmnist.convnet._recipe import (  # noqa: E402
    MIN_STEPS,
    resolve_augment,
    resolve_batch_size,
)
from fmnist.convnet._training import n_train_batches  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def test_full_data_recipe_is_unchanged():
    # The default epochs on the 60,000 training images: batches of 256, full
    # augmentation.
    epochs = ConvNetClassifier().max_epochs
    assert resolve_batch_size("auto", 60000, epochs) == 256
    assert resolve_augment("auto", epochs) == "full"
    assert resolve_batch_size("auto", 60000, 1) == 256


@pytest.mark.parametrize(
    "n_train, max_epochs, expected",
    [(5000, 1, 16), (6000, 2, 32), (10000, 2, 64), (400, 20, 32), (1437, 20, 128),
     (20000, 3, 256), (100, 1, 16), (10, 5, 10)],
)
def test_auto_batch_size_gives_enough_steps(n_train, max_epochs, expected):
    batch_size = resolve_batch_size("auto", n_train, max_epochs)
    assert batch_size == expected
    steps = max_epochs * n_train_batches(n_train, batch_size)
    if batch_size > 16:
        assert steps >= MIN_STEPS
        # ... and twice the batch would not have been enough.
        assert max_epochs * n_train_batches(n_train, 2 * batch_size) < MIN_STEPS


def test_int_batch_size_is_used_as_given():
    assert resolve_batch_size(100, 5000, 1) == 100
    assert resolve_batch_size(512, 300, 1) == 300  # at most the data


@pytest.mark.parametrize(
    "augment, max_epochs, expected",
    [("auto", 1, "none"), ("auto", 11, "none"), ("auto", 12, "full"),
     ("auto", 40, "full"), ("light", 1, "light"), (True, 1, "full"),
     (False, 20, "none")],
)
def test_augment_preset(augment, max_epochs, expected):
    assert resolve_augment(augment, max_epochs) == expected


def test_fit_records_and_uses_the_resolved_values(digits):
    X, y = digits
    clf = ConvNetClassifier(max_epochs=1, width=4, tta=False, random_state=0)
    clf.fit(X[:400], y[:400])
    assert clf.batch_size == "auto" and clf.augment == "auto"
    assert clf.batch_size_ == 16 and clf.augment_ == "none"
    assert clf.net_.batch_size == 16
    assert clf.net_.augmenter is None
    assert len(clf.net_.history[-1, "batches"]) == 25  # 400 / 16 steps
    clf.set_params(batch_size=100, augment="light").fit(X[:400], y[:400])
    assert (clf.batch_size_, clf.augment_) == (100, "light")
    assert clf.net_.augmenter is not None


@pytest.mark.parametrize("params", [{"batch_size": "big"}, {"augment": "strong"}])
def test_bad_auto_params_raise(digits, params):
    X, y = digits
    with pytest.raises(ValueError, match=next(iter(params))):
        ConvNetClassifier(**params).fit(X[:50], y[:50])


def test_two_epochs_on_few_digits_learn(digits):
    # 500 images, 2 epochs: 62 steps of 16; batches of 256 (4 steps) learn
    # nothing (about 10% with seeds 0 and 1).
    X, y = digits
    clf = ConvNetClassifier(max_epochs=2, tta=False, n_threads=1, random_state=0)
    clf.fit(X[:500], y[:500])
    assert clf.batch_size_ == 16
    assert clf.score(X[500:1000], y[500:1000]) > 0.8


@pytest.mark.slow
def test_cross_val_score_on_small_folds(digits):
    X, y = digits
    clf = ConvNetClassifier(max_epochs=5, width=8, tta=False, random_state=0)
    scores = cross_val_score(clf, X[:300], y[:300], cv=3)
    assert scores.min() > 0.75, scores


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("seed", [0, 1])
def test_one_epoch_on_5000_fashion_images(fashion_mnist_split, seed):
    X_train, X_test, y_train, y_test = fashion_mnist_split
    clf = ConvNetClassifier(max_epochs=1, random_state=seed, n_threads=1)
    clf.fit(X_train[:5000], y_train[:5000])
    assert clf.score(X_test[:1000], y_test[:1000]) >= 0.80
