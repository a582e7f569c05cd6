"""The pretrained :class:`~fmnist.ConvNetClassifier` shipped with fmnist.

The weights are package data: a file written by :func:`write_compact_weights`
(the network's floating-point tensors stored as float16, about 4 MB), checked
against the SHA-256 recorded here before it is read. The file is made by
``benchmarks/train_pretrained.py`` (see :doc:`/pretrained` for its model card).
"""

import io
import os
from importlib import resources

import torch

from ..datasets._cache import atomic_write

__all__ = ["PRETRAINED", "load_pretrained", "write_compact_weights"]

# What the shipped file is: its name under fmnist/convnet/data, its digest,
# the estimator parameters that describe its network and recipe, and its
# accuracy on the 10,000 test images in float32 with flip averaging (as
# recorded by benchmarks/train_pretrained.py).
PRETRAINED = {
    "file": "fashion_mnist_convnet_w32.pt",
    "sha256": "59ca2b0017a064dc81dc6b74f069f401c9ec9504e19ee1f5f82fd9f7fcfaffb6",
    "params": {
        "width": 32, "max_epochs": 40, "label_smoothing": 0.1, "random_state": 0,
        # Trained before the networks pooled ahead of their batch norms.
        "module_params": {"pool_before_norm": False},
    },
    "test_accuracy": 0.9549,
}


def write_compact_weights(source, destination):
    """Store a weights file with its floating-point tensors in float16.

    ``source`` is a file written by :meth:`~fmnist.ConvNetClassifier.save_weights`;
    :meth:`~fmnist.ConvNetClassifier.load_weights` reads the result back into
    float32. It is written as the data cache's files are
    (:func:`~fmnist.datasets._cache.atomic_write`), so an interrupted call
    leaves no partial file.
    """
    state = torch.load(source, map_location="cpu", weights_only=True)
    state["state_dict"] = {
        key: value.half() if value.is_floating_point() else value
        for key, value in state["state_dict"].items()
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(os.path.abspath(destination), buffer.getvalue())


def _weights_path():
    return resources.files("fmnist.convnet").joinpath("data", PRETRAINED["file"])


def load_pretrained(**params):
    """A :class:`~fmnist.ConvNetClassifier` fitted on all 60,000 training images.

    No training and no network access: the weights ship with fmnist and are
    verified by their SHA-256 before they are loaded (with
    ``torch.load(weights_only=True)``). The model is the default recipe made
    wider and longer (``width=32, max_epochs=40``, label smoothing 0.1, seed
    0); its test accuracy, per-class figures and calibration are on the model
    card, :doc:`/pretrained`.

    Parameters
    ----------
    **params
        Further parameters of the returned estimator that do not change the
        network, such as ``tta``, ``device``, ``precision`` or ``n_threads``.

    Returns
    -------
    estimator : ConvNetClassifier
        Fitted: ready for ``predict``, ``predict_proba``, ``score`` and
        ``transform``. Calling ``fit`` on it trains a new network from
        scratch (or, with ``warm_start=True``, continues from these weights).

    Raises
    ------
    ValueError
        When ``params`` would change the network, or when the weights file is
        missing or its digest does not match (a damaged installation).

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist import load_pretrained_convnet
    >>> clf = load_pretrained_convnet(n_threads=1)
    >>> clf.classes_.tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> clf.transform(np.zeros((2, 784), np.uint8)).shape
    (2, 256)
    """
    from ._estimator import ConvNetClassifier

    fixed = PRETRAINED["params"]
    clash = sorted(
        set(params) & (set(fixed) | {"module", "module_params", "depth", "width"})
    )
    if clash:
        raise ValueError(
            f"load_pretrained_convnet() does not take {clash}: they describe the "
            "shipped network. Set other parameters, or train your own estimator."
        )
    estimator = ConvNetClassifier(**fixed, **params)
    with resources.as_file(_weights_path()) as path:
        if not os.path.exists(path):
            raise ValueError(
                f"The pretrained weights file {str(path)!r} is missing: the fmnist "
                "installation is incomplete; reinstall fmnist."
            )
        return estimator.load_weights(path, sha256=PRETRAINED["sha256"])
