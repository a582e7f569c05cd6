"""ConvNetClassifier: learning, determinism, input handling, sklearn integration."""

import io
import os
import pickle
import sys

import numpy as np
import pytest
from _subprocess_helpers import run_python

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from scipy import sparse  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from fmnist import ConvNetClassifier  # noqa: E402
from fmnist.convnet import BatchAugmenter, ResidualCNN  # noqa: E402
from fmnist.convnet._hardware import native_bf16  # noqa: E402
from fmnist.convnet._progress import FitProgress  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def fitted(small_digits, fast_params):
    X, y = small_digits
    return ConvNetClassifier(**fast_params).fit(X, y)


# ----------------------------------------------------------------- learning
@pytest.mark.slow
@pytest.mark.realdata
def test_learns_fashion_mnist_subset(fashion_mnist_split):
    X_train, X_test, y_train, y_test = fashion_mnist_split
    clf = ConvNetClassifier(
        width=8, max_epochs=4, batch_size=64, augment="light", random_state=0
    )
    clf.fit(X_train[:4000], y_train[:4000])
    accuracy = clf.score(X_test[:1000], y_test[:1000])
    assert accuracy > 0.8, accuracy
    assert clf.image_shape_ == (28, 28)
    assert clf.n_epochs_ == 4
    assert len(clf.net_.history) == 4


@pytest.mark.slow
def test_learns_digits_8x8(digits):
    X, y = digits
    clf = ConvNetClassifier(
        width=8, max_epochs=8, lr=0.05, augment="none", tta=False, random_state=0
    )
    clf.fit(X[:1200], y[:1200])
    assert clf.image_shape_ == (8, 8)
    assert clf.n_features_in_ == 64
    assert clf.score(X[1200:], y[1200:]) > 0.85


# -------------------------------------------------------------- determinism
def test_same_seed_identical_predictions(small_digits, fast_params):
    X, y = small_digits
    params = dict(fast_params, augment="full", tta=True)
    a = ConvNetClassifier(**params).fit(X, y).predict_proba(X)
    b = ConvNetClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = ConvNetClassifier(**dict(params, random_state=1)).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


_PREDICT_SCRIPT = """
    import sys
    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from fmnist import ConvNetClassifier
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    clf = ConvNetClassifier(width=4, max_epochs=2, augment="full", tta=False,
                            random_state=0).fit(X[:200], y[:200])
    np.save(sys.argv[1], clf.predict_proba(X[:200]))
"""


@pytest.mark.slow
def test_same_seed_identical_across_processes(tmp_path):
    outputs = []
    for i in range(2):
        path = tmp_path / f"proba{i}.npy"
        run_python(_PREDICT_SCRIPT, path, env={**os.environ, "PYTHONHASHSEED": str(i)})
        outputs.append(np.load(path))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_fit_leaves_global_rngs_alone(small_digits, fast_params):
    X, y = small_digits
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()
    ConvNetClassifier(**dict(fast_params, augment="full", dropout=0.2)).fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)


# ------------------------------------------------------------ input handling
def test_input_layouts_give_identical_predictions(fitted, small_digits):
    X, _ = small_digits
    expected = fitted.predict_proba(X)
    for layout in (X.reshape(-1, 8, 8), X.reshape(-1, 1, 8, 8), X.tolist()):
        np.testing.assert_array_equal(fitted.predict_proba(layout), expected)


def test_3d_and_4d_training_input(small_digits, fast_params):
    X, y = small_digits
    flat = ConvNetClassifier(**fast_params).fit(X, y).predict_proba(X)
    for layout in (X.reshape(-1, 8, 8), X.reshape(-1, 1, 8, 8)):
        clf = ConvNetClassifier(**fast_params).fit(layout, y)
        assert clf.n_features_in_ == 64
        np.testing.assert_array_equal(clf.predict_proba(layout), flat)


def test_rectangular_images(small_digits, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(**dict(fast_params, image_shape=(4, -1))).fit(X, y)
    assert clf.image_shape_ == (4, 16)
    assert clf.predict(X.reshape(-1, 4, 16)).shape == (200,)
    with pytest.raises(ValueError, match="fitted on"):
        clf.predict(X.reshape(-1, 16, 4))
    clf = ConvNetClassifier(**dict(fast_params, image_shape=(1, -1))).fit(X[:, :10], y)
    assert clf.image_shape_ == (1, 10)
    for bad in [(3, -1), (8, 9), (0, 64), (-1, -1), (8,)]:
        with pytest.raises(ValueError, match="image_shape"):
            ConvNetClassifier(**dict(fast_params, image_shape=bad)).fit(X, y)


def test_pandas_input(small_digits, fast_params):
    pd = pytest.importorskip("pandas")
    X, y = small_digits
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    clf = ConvNetClassifier(**fast_params).fit(frame, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    assert clf.predict(frame).shape == (200,)


def test_uint8_input_is_scaled(small_digits, fast_params):
    X, y = small_digits
    pixels = (X * 15).astype(np.uint8)  # 0..240
    clf = ConvNetClassifier(**fast_params).fit(pixels, y)
    assert 0.0 < clf.mean_ < 1.0  # uint8 divided by 255 before the statistics
    np.testing.assert_allclose(clf.mean_, (pixels / 255).mean(), rtol=1e-6)
    np.testing.assert_allclose(clf.std_, (pixels / 255).std(), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
def test_dtypes(small_digits, dtype, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(**fast_params).fit(X.astype(dtype), y)
    proba = clf.predict_proba(X)  # float64 copies of the training pixels
    assert proba.dtype == np.float64
    # The scale is the training data's, whatever the dtype of the query.
    np.testing.assert_array_equal(proba, clf.predict_proba(X.astype(dtype)))


def test_string_and_noncontiguous_labels(small_digits, fast_params):
    X, y = small_digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])
    clf = ConvNetClassifier(**fast_params).fit(X, names[y])
    assert isinstance(clf.classes_, np.ndarray)
    np.testing.assert_array_equal(clf.classes_, np.sort(names))
    assert set(clf.predict(X)) <= set(names)

    odd = y * 10 + 3
    clf = ConvNetClassifier(**fast_params).fit(X, odd)
    np.testing.assert_array_equal(clf.classes_, np.arange(10) * 10 + 3)
    assert set(clf.predict(X)) <= set(clf.classes_)


def test_predict_proba_is_float64_summing_to_one(fitted, small_digits):
    X, _ = small_digits
    for tta in (False, True):
        proba = clone(fitted).set_params(tta=tta).fit(*small_digits).predict_proba(X)
        assert proba.dtype == np.float64
        assert proba.shape == (200, 10)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert (proba >= 0).all()
    np.testing.assert_array_equal(
        fitted.predict(X), fitted.classes_[fitted.predict_proba(X).argmax(axis=1)]
    )


def test_single_sample_prediction(fitted, small_digits):
    X, _ = small_digits
    assert fitted.predict(X[:1]).shape == (1,)


_BAD_X = {
    "nan": (lambda X: np.where(np.arange(64) == 3, np.nan, X), ValueError, "NaN"),
    "inf": (lambda X: np.where(np.arange(64) == 3, np.inf, X), ValueError, "infinity"),
    "1d": (lambda X: X[:, 0], ValueError, "2D array"),
    "5d": (lambda X: X.reshape(-1, 1, 1, 8, 8), ValueError, "dim"),
    "non-square": (lambda X: X[:, :10], ValueError, "not a perfect square"),
    "non-square-3d": (lambda X: X.reshape(-1, 4, 16), ValueError, "square"),
    "4d-channels": (lambda X: X.reshape(-1, 4, 4, 4), ValueError, "one channel"),
    "sparse": (lambda X: sparse.csr_matrix(X), TypeError, "dense data is required"),
    "strings": (lambda X: X.astype(str), ValueError, "string"),
    "empty": (lambda X: X[:0], ValueError, "0 sample"),
}


@pytest.mark.parametrize("case", sorted(_BAD_X))
def test_bad_X_raises_clear_error(small_digits, case, fast_params):
    X, y = small_digits
    make, error, match = _BAD_X[case]
    bad = make(X)
    y_bad = y[: bad.shape[0]]
    with pytest.raises(error, match=match):
        ConvNetClassifier(**fast_params).fit(bad, y_bad)


def test_bad_y_raises_clear_error(small_digits, fast_params):
    X, y = small_digits
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ConvNetClassifier(**fast_params).fit(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        ConvNetClassifier(**fast_params).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        ConvNetClassifier(**fast_params).fit(X, np.linspace(0, 1, len(X)))


def test_predict_checks_features(fitted, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="features"):
        fitted.predict(np.zeros((2, 784)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(np.full((2, 64), np.nan))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(max_epochs=0), "max_epochs"),
        # a bad augment: test_budgets.py::test_bad_auto_params_raise
        (dict(precision="half"), "precision"),
        (dict(module=ResidualCNN(n_classes=10)), "module"),
        (dict(validation_fraction=1.5), "validation_fraction"),
    ],
)
def test_bad_params_raise(small_digits, params, match, fast_params):
    with pytest.raises(ValueError, match=match):
        ConvNetClassifier(**dict(fast_params, **params)).fit(*small_digits)


# ---------------------------------------------------------- sklearn tooling
@pytest.mark.parametrize("n_jobs", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_grid_search_over_lr(small_digits, n_jobs, fast_params):
    X, y = small_digits
    search = GridSearchCV(
        ConvNetClassifier(**dict(fast_params, max_epochs=1, n_threads=1)),
        {"lr": [0.01, 0.1]},
        cv=2,
        n_jobs=n_jobs,
        error_score="raise",  # a fit failing in a worker fails the test
    )
    search.fit(X, y)
    assert search.predict(X).shape == (200,)


def test_pipeline_and_cross_val_score(small_digits, fast_params):
    X, y = small_digits
    pipe = make_pipeline(FunctionTransformer(np.sqrt), ConvNetClassifier(**fast_params))
    scores = cross_val_score(pipe, X, y, cv=2, error_score="raise")
    assert scores.shape == (2,)


def test_calibrated_classifier_cv(small_digits, fast_params):
    X, y = small_digits
    calibrated = CalibratedClassifierCV(ConvNetClassifier(**fast_params), cv=2)
    proba = calibrated.fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# ---------------------------------------------- validation and early stopping
@pytest.mark.slow
def test_early_stopping_uses_training_data_and_restores_best(digits):
    X, y = digits
    X, y = X[:500], y[:500]
    clf = ConvNetClassifier(
        width=4,
        max_epochs=12,
        lr=0.5,
        augment="none",
        tta=False,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        # The network's own probabilities, to recompute its validation loss.
        calibration_fraction=None,
        random_state=0,
    ).fit(X, y)
    valid = clf.validation_indices_
    assert len(valid) == 100 and len(np.unique(valid)) == 100
    assert valid.min() >= 0 and valid.max() < 500
    # Stratified: every class keeps (about) its share in the held-out part.
    np.testing.assert_allclose(
        np.bincount(y[valid], minlength=10) / 100,
        np.bincount(y, minlength=10) / 500,
        atol=0.011,
    )
    history = clf.net_.history
    trained = sum(b.get("train_batch_size", 0) for b in history[0]["batches"])
    assert trained == 400
    assert clf.n_epochs_ == len(history) <= 12
    # The restored weights are those of the best epoch of early stopping.
    stopper = dict(clf.net_.callbacks_)["early_stopping"]
    best_loss = history[stopper.best_epoch_ - 1, "valid_loss"]
    proba = clf.predict_proba(X[valid]).clip(1e-30)
    smoothing = clf.label_smoothing
    log_p = np.log(proba)
    loss = -(1 - smoothing) * log_p[np.arange(100), y[valid]] - smoothing * log_p.mean(
        axis=1
    )
    np.testing.assert_allclose(loss.mean(), best_loss, rtol=1e-4)


def test_validation_fraction_without_early_stopping(small_digits, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(**dict(fast_params, validation_fraction=0.25)).fit(X, y)
    assert len(clf.validation_indices_) == 50
    assert clf.n_epochs_ == 2
    assert "valid_acc" in clf.net_.history[-1]


def test_no_hidden_validation_split(fitted):
    assert fitted.validation_indices_ is None
    assert fitted.net_.train_split is None
    assert "valid_loss" not in fitted.net_.history[-1]


# -------------------------------------------------- threads, device, verbosity
class _RecordThreads(Callback):
    def initialize(self):
        self.seen_ = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.seen_.append(torch.get_num_threads())


def test_n_threads_is_scoped_and_callbacks_are_copied(small_digits, fast_params):
    before = torch.get_num_threads()
    callback = _RecordThreads()
    clf = ConvNetClassifier(**dict(fast_params, n_threads=1, callbacks=[callback]))
    clf.fit(*small_digits)
    assert torch.get_num_threads() == before
    recorded = dict(clf.net_.callbacks_)
    (copied,) = [cb for cb in recorded.values() if isinstance(cb, _RecordThreads)]
    assert copied is not callback
    assert copied.seen_ == [1, 1]


def test_device_auto_is_resolved_but_kept(fitted):
    assert fitted.get_params()["device"] == "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert fitted.device_ == expected
    assert fitted.precision_ == ("bfloat16" if native_bf16(expected) else "float32")


def test_verbose(small_digits, capsys, fast_params):
    ConvNetClassifier(**fast_params).fit(*small_digits)
    assert capsys.readouterr().out == ""
    ConvNetClassifier(**dict(fast_params, verbose=1)).fit(*small_digits)
    captured = capsys.readouterr()
    assert "train_loss" in captured.out and "epoch" in captured.out
    assert captured.err == ""  # no progress bar where stderr is not a terminal


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_inside_epochs_on_a_terminal(
    small_digits, monkeypatch, capsys, fast_params
):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(FitProgress, "mininterval", 0)  # draw every batch
    clf = ConvNetClassifier(**dict(fast_params, verbose=1, batch_size=50))
    clf.fit(*small_digits)
    drawn = terminal.getvalue()
    # 200 samples in batches of 50: the bar counts 4 batches in each of 2 epochs,
    # with the time left in the whole fit.
    assert "epoch 1/2" in drawn and "epoch 2/2" in drawn
    assert "/4 [" in drawn and "fit left=" in drawn and "loss=" in drawn
    assert "train_loss" in capsys.readouterr().out  # the epoch rows still print
    pickle.loads(pickle.dumps(clf))  # the bar is not part of the fitted state

    monkeypatch.setattr(sys, "stderr", _Terminal())
    ConvNetClassifier(**fast_params).fit(*small_digits)  # verbose=0: silent everywhere
    assert sys.stderr.getvalue() == ""


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_precision(small_digits, precision, fast_params):
    clf = ConvNetClassifier(**dict(fast_params, precision=precision)).fit(*small_digits)
    assert clf.precision_ == precision
    assert clf.predict(small_digits[0]).shape == (200,)


# ---------------------------------------------------------- custom modules
class _TinyNet(torch.nn.Module):
    def __init__(self, n_classes, hidden=8):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(64, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, n_classes),
        )

    def forward(self, x):
        return self.layers(x)


def test_custom_module_class(small_digits, fast_params):
    clf = ConvNetClassifier(
        **dict(fast_params, module=_TinyNet, module_params={"hidden": 5})
    ).fit(*small_digits)
    assert isinstance(clf.net_.module_, _TinyNet)
    assert clf.n_parameters_ == 64 * 5 + 5 + 5 * 10 + 10


def test_architecture_knobs(small_digits, fast_params):
    clf = ConvNetClassifier(**dict(fast_params, width=2, depth=2, dropout=0.5))
    clf.fit(*small_digits)
    module = clf.net_.module_
    assert isinstance(module, ResidualCNN)
    assert module.dropout.p == 0.5
    assert module.classifier.in_features == 16


# ------------------------------------------------------------- augmentation
def test_augmenter_is_batchwise_and_reproducible():
    x = torch.randn(64, 1, 28, 28)
    a = BatchAugmenter(seed=3)(x)
    b = BatchAugmenter(seed=3)(x)
    assert a.shape == x.shape
    assert torch.equal(a, b)
    assert not torch.equal(a, x)
    assert torch.equal(BatchAugmenter(shift=0, flip=False, erase=0.0)(x), x)


def test_augmenter_translation_and_flip_are_exact():
    x = torch.arange(2 * 16, dtype=torch.float32).view(2, 1, 4, 4)
    out = BatchAugmenter(shift=1, flip=False, erase=0.0, fill=-1.0, seed=0)(x)
    for image, shifted in zip(x, out):
        # Every output is the input moved by at most one pixel, padded with -1.
        padded = torch.nn.functional.pad(image, (1, 1, 1, 1), value=-1.0)
        windows = [padded[:, r : r + 4, c : c + 4] for r in range(3) for c in range(3)]
        assert any(torch.equal(shifted, w) for w in windows)
    flipped = BatchAugmenter(shift=0, flip=True, erase=0.0, seed=0)(x)
    for image, out_image in zip(x, flipped):
        assert torch.equal(out_image, image) or torch.equal(out_image, image.flip(-1))


# ------------------------------------------------------ weight averaging
def test_weight_average_follows_the_decay_with_warm_up():
    from types import SimpleNamespace

    from fmnist.convnet._training import WeightAverage

    module = torch.nn.Linear(1, 1, bias=False)
    net = SimpleNamespace(module_=module)
    with torch.no_grad():
        module.weight.fill_(0.0)
    callback = WeightAverage(decay=0.5).initialize()
    callback.on_train_begin(net)
    expected = 0.0
    for t, value in enumerate([1.0, 2.0, 4.0, 8.0], start=1):
        with torch.no_grad():
            module.weight.fill_(value)
        callback.on_batch_end(net, training=True)
        callback.on_batch_end(net, training=False)  # validation: no step
        decay = min(0.5, (1 + t) / (10 + t))
        expected = decay * expected + (1 - decay) * value
    assert callback.n_steps_ == 4
    assert callback.average_["weight"].item() == pytest.approx(expected)
    callback.on_train_end(net)
    assert module.weight.item() == pytest.approx(expected)
    assert callback.trained_state_["weight"].item() == 8.0


def test_predict_uses_the_averaged_weights(small_digits, fast_params):
    X, y = small_digits
    clf = ConvNetClassifier(**dict(fast_params, ema_decay=0.9)).fit(X, y)
    callback = dict(clf.net_.callbacks_)["weight_average"]
    state = clf.net_.module_.state_dict()
    for key, average in callback.average_.items():
        assert torch.equal(state[key], average), key
    averaged_proba = clf.predict_proba(X)
    clf.net_.module_.load_state_dict(callback.trained_state_, strict=False)
    assert not np.allclose(clf.predict_proba(X), averaged_proba)


def test_no_weight_average_without_ema_decay_or_with_early_stopping(
    digits, fast_params
):
    X, y = digits
    plain = ConvNetClassifier(**dict(fast_params, ema_decay=None)).fit(X[:200], y[:200])
    assert "weight_average" not in dict(plain.net_.callbacks_)
    stopped = ConvNetClassifier(**dict(fast_params, ema_decay=0.9, early_stopping=True))
    stopped.fit(X, y)
    assert "weight_average" not in dict(stopped.net_.callbacks_)


def test_bad_ema_decay_raises(small_digits, fast_params):
    with pytest.raises(ValueError, match="ema_decay"):
        ConvNetClassifier(**dict(fast_params, ema_decay=1.0)).fit(*small_digits)

