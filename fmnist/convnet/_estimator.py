"""ConvNetClassifier: a residual CNN for square grey-scale images, via skorch."""

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils import check_random_state

from .._compat import Interval, StrOptions, _fit_context
from ._augment import AUGMENT_PRESETS, TTA_MODES
from ._calibration import fit_temperature
from ._hardware import resolve_device, resolve_precision, rng_devices
from ._input import validate_images
from ._networks import count_parameters
from ._prediction import PredictionMixin
from ._recipe import (
    build_net,
    resolve_augment,
    resolve_batch_size,
    training_tensors,
)
from ._saving import WeightsFileMixin
from ._training import torch_threads
from ._weights import load_module_state

__all__ = ["ConvNetClassifier"]


class ConvNetClassifier(
    PredictionMixin,
    WeightsFileMixin,
    ClassifierMixin,
    TransformerMixin,
    BaseEstimator,
    # Keep transform as defined (set_output would need get_feature_names_out).
    auto_wrap_output_keys=None,
):
    """Residual convolutional network for square grey-scale images.

    A scikit-learn classifier around a skorch ``NeuralNetClassifier``
    (built in :meth:`fit` and kept as ``net_``). Images are given as rows of
    ``side * side`` pixels (Fashion-MNIST: 784), as ``(n, side, side)`` or as
    ``(n, 1, side, side)`` arrays. The default recipe trains a ResNet-9-style
    network (16 base channels, 0.49M parameters) for 20 epochs with SGD-Nesterov,
    a one-cycle learning-rate schedule stepped every batch, label smoothing and
    batch-wise augmentation (random shifts, flips, random erasing), with a
    batch size and augmentation that follow the budget (see Notes), in
    bfloat16 autocast where the hardware computes it natively, and predicts with flip
    test-time augmentation. Trained on all 60,000 Fashion-MNIST training
    images it reached 94.44% and 94.65% test accuracy (seeds 0 and 1) with a
    fit of about 10 minutes on 2 CPU cores with native bfloat16; holding out
    3,000 of them for the temperature of :meth:`predict_proba` (the default,
    see ``calibration_fraction``), 94.44% (seed 0) in float32 on an AVX2-only
    CPU, with epochs of about 110 s there (see ``benchmarks/bench_convnet.py``).

    Parameters
    ----------
    max_epochs : int, default=20
        Passes over the training data. The schedule spans all of them.
    lr : float, default=0.2
        Peak learning rate of the one-cycle schedule.
    batch_size : int or "auto", default="auto"
        Training batch size. ``"auto"`` takes the largest of 256, 128, 64, 32
        and 16 that gives at least 200 optimizer steps over the fit
        (``max_epochs`` times the batches per epoch), so that short runs on
        small data learn: 256 for 20 epochs on 60,000 images, 16 for one
        epoch on 5,000. The resolved value is ``batch_size_``.
    weight_decay : float, default=5e-4
        L2 weight decay of the SGD optimizer.
    momentum : float, default=0.9
        Nesterov momentum of the SGD optimizer.
    augment : {"auto", "full", "light", "none"} or bool, default="auto"
        Training-time augmentation applied to whole batches: ``"full"`` =
        random shifts of up to 2 pixels, horizontal flips and random erasing;
        ``"light"`` = shifts and flips; ``"none"`` (or False) = nothing.
        True means ``"full"``. ``"auto"`` follows the epoch budget:
        ``"full"`` from 12 epochs on, ``"none"`` for shorter runs
        (augmentation pays off only when each image is seen many times).
        The resolved preset is ``augment_``. Flips suit Fashion-MNIST, not
        digits or text.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` of the images, one of which may be -1 (inferred
        from the number of features, as in :func:`numpy.reshape`). None
        expects square images: ``side = sqrt(n_features)``, or the last two
        dimensions of 3-d/4-d input.
    width : int, default=16
        Channels of the first layer; the stages use 2x, 4x and 8x as many.
    depth : int, default=1
        Residual blocks per stage.
    dropout : float, default=0.0
        Dropout probability before the final linear layer.
    label_smoothing : float, default=0.1
        Label smoothing of the cross-entropy loss.
    validation_fraction : float or None, default=None
        Fraction of the training data held out (stratified, seeded by
        ``random_state``) to record ``valid_loss`` and ``valid_acc`` in the
        history (and to fit the temperature, see ``calibration_fraction``).
        None holds out 0.1 when ``early_stopping`` is True, else the
        ``calibration_fraction``.
    calibration_fraction : float or None, default=0.05
        Fraction of the training data held out (stratified, seeded by
        ``random_state``) when no validation split is asked for, to fit the
        temperature of :meth:`predict_proba` at the end of :meth:`fit`
        (``temperature_``, see Notes); its rows are recorded as
        ``validation_indices_`` and scored in the history as a validation
        split is. With a validation split the temperature is fitted on that
        split instead, and nothing more is held out. Nothing is held out
        either when the fraction is fewer than 100 images. None fits no
        temperature (``temperature_ = 1.0``): the network then trains on
        every image and :meth:`predict_proba` returns its probabilities as
        they are (under-confident, by about ``label_smoothing``).
    early_stopping : bool, default=False
        Stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs and restore the weights of the best epoch.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    ema_decay : float or None, default=None
        Decay, per optimizer step, of an exponential moving average of the
        weights and batch-norm statistics (with a warm-up that lets the
        first steps fade quickly); when training ends the average replaces
        the trained weights and is what :meth:`predict` uses (the trained
        ones stay in the ``weight_average`` callback of ``net_``). 0.999
        averages over about the last 1,000 steps (four epochs of 60,000
        images in batches of 256). None keeps the trained weights. Not used
        with ``early_stopping=True``, which restores the best epoch's weights.
    tta : bool or {"flip", "flip+shift"}, default=True
        Test-time augmentation in :meth:`predict_proba`, :meth:`predict` and
        :meth:`transform`. True (or ``"flip"``) averages each image with its
        mirror image (2 passes); ``"flip+shift"`` adds the one-pixel shifts
        of both (10 passes, five times the prediction time, about 0.1-0.2
        points more accuracy on Fashion-MNIST, see :doc:`/benchmarks`); False
        runs the images alone. Like flip augmentation, flips suit left-right
        symmetric classes (clothes), not digits or text.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Arithmetic of the forward pass. ``"bfloat16"`` runs it under
        :func:`torch.autocast` (weights, gradients and the optimizer stay
        float32). ``"auto"`` picks bfloat16 where the hardware computes it
        natively (x86 CPUs flagged ``avx512_bf16`` or ``amx_bf16``, CUDA GPUs
        of compute capability 8.0 or more) and float32 elsewhere, including
        AVX-512 CPUs without BF16, where bfloat16 is emulated and slower.
    device : str, default="auto"
        Torch device; ``"auto"`` means ``"cuda"`` when available, else
        ``"cpu"``. The resolved device is ``device_``.
    n_threads : int or None, default=None
        Torch intra-op threads during :meth:`fit` and prediction (restored
        afterwards). None leaves torch's setting alone. Use 1 per process
        inside ``GridSearchCV(n_jobs=...)`` or dask workers.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, augmentation and the
        validation split through local generators; the global torch RNG is
        restored after :meth:`fit`. With an int, fitting twice on the same
        CPU, thread count and data gives identical predictions.
    verbose : int, default=0
        0 is silent; otherwise skorch prints its per-epoch table and, when
        ``sys.stderr`` is a terminal, a progress bar inside each epoch with
        the estimated time left in the fit (none in logs, pipes or notebooks).
    module : type or None, default=None
        A :class:`torch.nn.Module` class to train instead of the default
        :class:`~fmnist.convnet.ResidualCNN`. It is instantiated in
        :meth:`fit` as ``module(n_classes=n_classes, **module_params)``, gets
        normalised float32 batches of shape ``(n, 1, side, side)`` and must
        return logits of shape ``(n, n_classes)``. ``width``, ``depth`` and
        ``dropout`` are then ignored.
    module_params : dict or None, default=None
        Extra keyword arguments of the module (of the default one too).
    callbacks : list or None, default=None
        Extra skorch callbacks (instances or ``(name, callback)`` tuples),
        copied before each fit.
    warm_start : bool, default=False
        When True and the estimator is fitted, :meth:`fit` continues training
        the current network (its weights, ``classes_``, input scale, ``mean_``
        and ``std_``) with a new optimizer and a new one-cycle schedule over
        ``max_epochs``; ``y`` must have the same classes. Also after
        unpickling or :meth:`load_weights`. When False, :meth:`fit` trains a
        new network.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Pixels per image seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    image_shape_ : tuple of int
        ``(height, width)`` of the images.
    input_dtype_ : str
        dtype of the training input (``"uint8"``, ``"float32"``, ...); it
        decides the scale of every input (see Notes).
    input_range_ : tuple of float
        ``(min, max)`` of the training input, before scaling.
    mean_ : float
        Mean pixel value of the (scaled) training images.
    std_ : float
        Standard deviation of the (scaled) training pixels; inputs are
        normalised to ``(x - mean_) / std_``.
    batch_size_ : int
        The training batch size, resolved from ``batch_size``.
    augment_ : str
        The augmentation preset, resolved from ``augment``.
    device_ : str
        The device the network was trained on.
    precision_ : str
        ``"float32"`` or ``"bfloat16"``, resolved from ``precision``.
    net_ : skorch.NeuralNetClassifier
        The trained skorch net; the per-epoch log is ``net_.history``.
    n_parameters_ : int
        Trainable parameters of the network.
    validation_indices_ : ndarray of int or None
        Rows of the training data held out (for validation or for the
        temperature), or None.
    temperature_ : float
        The temperature of :meth:`predict_proba`, fitted on the held-out
        rows (1.0 when none were held out or ``calibration_fraction`` is
        None).
    n_epochs_ : int
        Epochs run by the last :meth:`fit` (fewer than ``max_epochs`` after
        early stopping).

    See Also
    --------
    fmnist.BlockKNNClassifier : Exact k-nearest neighbours on the same data.

    Notes
    -----
    **Input scale.** :meth:`fit` records the dtype and the value range of the
    training input (``input_dtype_``, ``input_range_``) and scales every later
    input (warm-started fits, :meth:`predict`, :meth:`predict_proba`) by the
    same rule, whatever its own dtype: if the training images were ``uint8``,
    every input is divided by 255, so uint8 images and float copies of them
    (0-255) give identical predictions; otherwise every input is used as
    given. The images are then standardised with ``mean_`` and ``std_``.
    An input that reaches beyond the training range by more than the width
    of that range (0-255 pixels for a model fitted on [0, 1] floats) raises
    a ``UserWarning`` that names both ranges.

    **Budgets.** ``batch_size="auto"`` and ``augment="auto"`` adapt the
    recipe to the number of training images and ``max_epochs``: at least
    200 optimizer steps (batches of 256 down to 16), and augmentation only
    for runs of 12 epochs or more. Twenty epochs on 60,000 images keep
    batches of 256 and full augmentation; one epoch on 5,000 Fashion-MNIST
    images takes 313 steps of 16, without augmentation.

    Labels of any type are encoded internally to int64; :meth:`predict`
    returns labels from ``classes_`` and :meth:`predict_proba` float64 rows
    that sum to one (the network outputs logits; the loss is
    :class:`torch.nn.CrossEntropyLoss`).

    **Calibration.** Label smoothing trains the network to give the right
    class about ``1 - label_smoothing``, so its own probabilities are
    under-confident. At the end of :meth:`fit` one temperature ``T`` is
    fitted on the held-out rows (the log loss of their test-time-averaged
    probabilities is minimised), and :meth:`predict_proba` returns the
    averaged probabilities raised to the power ``1 / T`` and renormalised.
    That never changes which class is largest: :meth:`predict` is the same
    with or without it. The test images are never used.

    For higher accuracy train longer and wider, e.g. ``width=32,
    max_epochs=40`` (``benchmarks/bench_convnet.py --setting high``): trained
    on the 60,000 training images on 2 CPU cores this reached 95.49% test
    accuracy in a 67-minute fit, against 94.4-94.7% in 10 minutes for the
    defaults (minutes on a GPU). The most accurate setting measured within a
    15-minute fit there is ``max_epochs=27, label_smoothing=0.2,
    tta="flip+shift"``: 94.88% (seeds 0 and 1, ``--setting 15min``).

    A model trained on a GPU unpickles on a machine without one: the tensors
    are mapped to the CPU and ``device_`` becomes ``"cpu"``. Predictions may
    differ slightly across devices, thread counts and precisions.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fmnist import ConvNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ConvNetClassifier(max_epochs=2, width=4, augment="none",
    ...                         tta=False, random_state=0)
    >>> clf.fit(X[:300], y[:300])
    ConvNetClassifier(...)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "augment": ["boolean", StrOptions({"auto", *AUGMENT_PRESETS})],
        "image_shape": [tuple, None],
        "width": [Interval(numbers.Integral, 1, None, closed="left")],
        "depth": [Interval(numbers.Integral, 0, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "label_smoothing": [Interval(numbers.Real, 0, 1, closed="left")],
        "validation_fraction": [
            Interval(numbers.Real, 0, 1, closed="neither"),
            None,
        ],
        "calibration_fraction": [
            Interval(numbers.Real, 0, 1, closed="neither"),
            None,
        ],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "ema_decay": [Interval(numbers.Real, 0, 1, closed="left"), None],
        "tta": ["boolean", StrOptions(set(TTA_MODES))],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "device": [str, torch.device],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "module": [type, None],
        "module_params": [dict, None],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        max_epochs=20,
        lr=0.2,
        batch_size="auto",
        weight_decay=5e-4,
        momentum=0.9,
        augment="auto",
        image_shape=None,
        width=16,
        depth=1,
        dropout=0.0,
        label_smoothing=0.1,
        validation_fraction=None,
        calibration_fraction=0.05,
        early_stopping=False,
        n_iter_no_change=5,
        ema_decay=None,
        tta=True,
        precision="auto",
        device="auto",
        n_threads=None,
        random_state=None,
        verbose=0,
        module=None,
        module_params=None,
        callbacks=None,
        warm_start=False,
    ):
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.augment = augment
        self.image_shape = image_shape
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.validation_fraction = validation_fraction
        self.calibration_fraction = calibration_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.ema_decay = ema_decay
        self.tta = tta
        self.precision = precision
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.module = module
        self.module_params = module_params
        self.callbacks = callbacks
        self.warm_start = warm_start

    # ------------------------------------------------------------------ input
    def _to_tensor(self, images):
        normalised = (images - np.float32(self.mean_)) / np.float32(self.std_)
        return torch.from_numpy(np.ascontiguousarray(normalised, dtype=np.float32))

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on images ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, side * side), (n_samples, side, \
side) or (n_samples, 1, side, side)
            Grey-scale images; uint8 pixels are divided by 255, and so is
            every later input of the fitted model (see Notes).
        y : array-like of shape (n_samples,)
            Class labels of any type.

        Returns
        -------
        self : ConvNetClassifier
            The fitted estimator.
        """
        previous = getattr(self, "net_", None) if self.warm_start else None
        images, y = validate_images(self, X, y, reset=previous is None)
        self.device_ = resolve_device(self.device)
        self.precision_ = resolve_precision(self.precision, self.device_)
        random_state = check_random_state(self.random_state)
        seeds = [int(s) for s in random_state.randint(0, 2**31 - 1, size=4)]
        X_all, y_all, valid_dataset = training_tensors(
            self, images, y, seeds[3], first_fit=previous is None
        )
        train_index = np.arange(len(y_all))
        self.batch_size_ = resolve_batch_size(
            self.batch_size, len(train_index), self.max_epochs
        )
        self.augment_ = resolve_augment(self.augment, self.max_epochs)
        net = build_net(self, len(train_index), seeds, valid_dataset)
        with (
            torch_threads(self.n_threads),
            torch.random.fork_rng(devices=rng_devices(self.device_)),
        ):
            # Weight initialisation and dropout use the global torch RNG:
            # seed it inside fork_rng, which restores the caller's state.
            torch.manual_seed(seeds[0])
            if previous is None:
                net.fit(X_all, y_all)
            else:
                # The previous weights, with a new optimizer and schedule.
                net.initialize()
                load_module_state(net, previous.module_.state_dict())
                net.partial_fit(X_all, y_all)
        self.net_ = net
        self.n_parameters_ = count_parameters(net.module_)
        self.n_epochs_ = len(net.history)
        self.temperature_ = 1.0
        if self.calibration_fraction is not None and valid_dataset is not None:
            held_out = self._averaged_proba(valid_dataset.X)
            self.temperature_ = fit_temperature(held_out, valid_dataset.y.numpy())
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # transform returns float32 features whatever the input dtype.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
