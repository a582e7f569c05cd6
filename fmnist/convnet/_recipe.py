"""The training recipe of :class:`~fmnist.ConvNetClassifier`, fitted to a budget.

The recipe (one-cycle SGD, augmentation, label smoothing) is tuned for long
runs: 20 epochs of batches of 256 over 60,000 images are 4,700 optimizer
steps. A short run over a small dataset at that batch size is a few dozen
steps and ends before the network has learnt, and augmentation that pays off
over many epochs only slows down a network that sees each image once or
twice. The ``"auto"`` values of ``batch_size`` and ``augment`` are resolved
here, from the number of training samples and ``max_epochs``, and
:func:`build_net` assembles the skorch net from the resolved values.
"""

import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets

from ._augment import AUGMENT_PRESETS, BatchAugmenter
from ._networks import ResidualCNN
from ._progress import FitProgress, wants_progress
from ._training import (
    AugmentedNet,
    BatchLoader,
    OneCycleLR,
    WeightAverage,
    n_train_batches,
)

__all__ = [
    "AUTO_AUGMENT_MIN_EPOCHS",
    "AUTO_BATCH_SIZES",
    "MIN_CALIBRATION_SAMPLES",
    "MIN_STEPS",
    "build_net",
    "resolve_augment",
    "resolve_batch_size",
    "training_tensors",
    "validation_split",
]

#: ``batch_size="auto"`` picks the largest of these that gives MIN_STEPS steps.
AUTO_BATCH_SIZES = (256, 128, 64, 32, 16)
#: Optimizer steps a fit should take at least, when the data allow it.
MIN_STEPS = 200
#: ``augment="auto"`` is ``"full"`` from this many epochs, ``"none"`` below.
AUTO_AUGMENT_MIN_EPOCHS = 12

PREDICT_BATCH_SIZE = 1024
#: Fewest held-out images a temperature is fitted on: fewer would fit noise.
MIN_CALIBRATION_SAMPLES = 100


def resolve_batch_size(batch_size, n_train, max_epochs):
    """The training batch size for ``n_train`` samples and ``max_epochs``.

    ``"auto"``: the largest of :data:`AUTO_BATCH_SIZES` that gives at least
    :data:`MIN_STEPS` optimizer steps over the fit (the smallest when none
    does). 60,000 images for 20 epochs keep 256; 5,000 images for one epoch
    get 16. An int is used as given. Either way it is at most ``n_train``.
    """
    if batch_size == "auto":
        for candidate in AUTO_BATCH_SIZES:
            if max_epochs * n_train_batches(n_train, candidate) >= MIN_STEPS:
                batch_size = candidate
                break
        else:
            batch_size = AUTO_BATCH_SIZES[-1]
    return int(min(batch_size, max(n_train, 1)))


def resolve_augment(augment, max_epochs):
    """The augmentation preset name (a key of ``AUGMENT_PRESETS``).

    ``"auto"``: ``"full"`` for runs of 12 epochs or more, ``"none"`` for
    shorter ones. On 6,000 Fashion-MNIST images, 4 and 8 epochs learnt best
    without augmentation and 16 epochs best with ``"full"``. True means
    ``"full"``, False ``"none"``.
    """
    if augment is True:
        return "full"
    if augment is False:
        return "none"
    if augment == "auto":
        return "full" if max_epochs >= AUTO_AUGMENT_MIN_EPOCHS else "none"
    return augment


def validation_split(y, fraction, seed):
    """``(train_index, valid_index)``: a stratified, seeded hold-out of ``y``."""
    index = np.arange(len(y))
    try:
        return train_test_split(
            index, test_size=fraction, stratify=y, random_state=seed
        )
    except ValueError as err:
        raise ValueError(
            f"Could not hold out a stratified validation_fraction={fraction} "
            f"of {len(y)} training samples ({err}). Use more data, a larger "
            "validation_fraction, or early_stopping=False."
        ) from err


def _held_out_split(estimator, y, seed):
    """``(train_index, valid_index)`` of the rows held out from training, or None.

    The validation split when one is asked for (``validation_fraction``, or
    0.1 with ``early_stopping``); otherwise ``calibration_fraction`` of the
    rows, for the temperature of ``predict_proba``, when that is at least
    :data:`MIN_CALIBRATION_SAMPLES` rows and a stratified split exists (else
    nothing is held out and the probabilities stay as the network gives
    them).
    """
    fraction = estimator.validation_fraction
    if fraction is None and estimator.early_stopping:
        fraction = 0.1
    if fraction is not None:
        return validation_split(y, fraction, seed)
    fraction = estimator.calibration_fraction
    if fraction is None or round(fraction * len(y)) < MIN_CALIBRATION_SAMPLES:
        return None
    try:
        return validation_split(y, fraction, seed)
    except ValueError:
        return None


def _module_and_params(estimator, n_classes):
    params = dict(estimator.module_params or {})
    if estimator.module is None:
        params = {
            "width": estimator.width,
            "depth": estimator.depth,
            "dropout": estimator.dropout,
            **params,
        }
        module = ResidualCNN
    else:
        module = estimator.module
    params["n_classes"] = n_classes
    return module, params


def build_net(estimator, n_train, seeds, valid_dataset=None):
    """The skorch net (not yet initialised) of a fitted ``estimator``.

    It reads the estimator's parameters and its resolved ``classes_``,
    ``mean_``, ``std_``, ``device_``, ``precision_``, ``batch_size_`` and
    ``augment_``; ``seeds`` seed the augmentation and the shuffling.
    """
    from skorch.callbacks import EarlyStopping
    from skorch.helper import predefined_split

    n_classes = len(estimator.classes_)
    module, module_params = _module_and_params(estimator, n_classes)
    augmenter = BatchAugmenter(
        **AUGMENT_PRESETS[estimator.augment_],
        fill=-estimator.mean_ / estimator.std_,
        seed=seeds[1],
    )
    shuffle_generator = torch.Generator().manual_seed(int(seeds[2]))
    batch_size = estimator.batch_size_
    n_batches = n_train_batches(n_train, batch_size)
    total_steps = estimator.max_epochs * n_batches
    callbacks = [("one_cycle", OneCycleLR(estimator.lr, total_steps))]
    if estimator.ema_decay is not None and not estimator.early_stopping:
        callbacks.append(("weight_average", WeightAverage(estimator.ema_decay)))
    if estimator.early_stopping:
        early_stopping = EarlyStopping(
            monitor="valid_loss",
            patience=estimator.n_iter_no_change,
            load_best=True,
        )
        callbacks.append(("early_stopping", early_stopping))
    if wants_progress(estimator.verbose):
        callbacks.append(("progress", FitProgress(estimator.max_epochs, n_batches)))
    for callback in estimator.callbacks or []:
        callbacks.append(clone(callback, safe=False))
    momentum = float(estimator.momentum)
    return AugmentedNet(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        criterion__label_smoothing=float(estimator.label_smoothing),
        optimizer=torch.optim.SGD,
        optimizer__momentum=momentum,
        optimizer__nesterov=momentum > 0,
        optimizer__weight_decay=float(estimator.weight_decay),
        lr=float(estimator.lr),
        max_epochs=int(estimator.max_epochs),
        batch_size=int(batch_size),
        iterator_train=BatchLoader,
        iterator_train__shuffle=True,
        iterator_train__generator=shuffle_generator,
        iterator_valid=BatchLoader,
        iterator_valid__batch_size=max(PREDICT_BATCH_SIZE, batch_size),
        train_split=None if valid_dataset is None else predefined_split(valid_dataset),
        classes=list(range(n_classes)),
        callbacks=callbacks,
        verbose=int(estimator.verbose),
        device=estimator.device_,
        augmenter=augmenter if augmenter.active else None,
        autocast_dtype=(torch.bfloat16 if estimator.precision_ == "bfloat16" else None),
        # The default network runs its Sequential blocks as a whole.
        fold_batch_norms=module is ResidualCNN,
        **{f"module__{key}": value for key, value in module_params.items()},
    )


def training_tensors(estimator, images, y, split_seed, *, first_fit):
    """Encode ``y``, learn (on a first fit) or check (when continuing) what
    the network needs from the data, and split off the validation rows.

    Sets ``classes_``, ``mean_`` and ``std_`` on a first fit and
    ``validation_indices_`` always. Returns ``(X_train, y_train,
    valid_dataset)``: normalised image and label tensors of the training rows,
    and a skorch ``Dataset`` of the validation rows or None.
    """
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            "ConvNetClassifier needs samples of at least 2 classes in the "
            f"data; got 1 class: {encoder.classes_[0]!r}."
        )
    if first_fit:
        estimator.classes_ = encoder.classes_
        estimator.mean_ = float(images.mean(dtype=np.float64))
        std = float(images.std(dtype=np.float64))
        estimator.std_ = std if std > 0 else 1.0
    elif not np.array_equal(encoder.classes_, estimator.classes_):
        raise ValueError(
            "warm_start=True continues training a network fitted on the "
            f"classes {estimator.classes_.tolist()}, but y has the classes "
            f"{encoder.classes_.tolist()}. Pass y with the same classes, or "
            "set warm_start=False to train a new network."
        )
    y_encoded = encoder.transform(y).astype(np.int64)
    X_all = estimator._to_tensor(images)
    y_all = torch.from_numpy(y_encoded)
    estimator.validation_indices_ = None
    split = _held_out_split(estimator, y_encoded, split_seed)
    if split is None:
        return X_all, y_all, None
    from skorch.dataset import Dataset

    train_index, valid_index = split
    estimator.validation_indices_ = valid_index
    valid_dataset = Dataset(X_all[valid_index], y_all[valid_index])
    return X_all[train_index], y_all[train_index], valid_dataset
