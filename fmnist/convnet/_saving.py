"""Saving and loading a :class:`~fmnist.ConvNetClassifier`: weights files
(tensors only, read with ``weights_only=True``) and pickles stamped with the
library version."""

import torch
from sklearn.utils.validation import check_is_fitted

from .._persistence import stamp_version, warn_if_other_version
from ._hardware import resolve_device, resolve_precision, rng_devices
from ._networks import count_parameters
from ._recipe import AUTO_BATCH_SIZES, build_net, resolve_augment
from ._weights import load_module_state, read_weights, weights_state

__all__ = ["WeightsFileMixin"]


class WeightsFileMixin:
    """``save_weights``, ``load_weights`` and the pickling of the ConvNet
    estimator."""

    def save_weights(self, path):
        """Save the network weights and what is needed to predict with them.

        The file holds only tensors, numbers, strings and lists, so
        :meth:`load_weights` reads it with ``torch.load(weights_only=True)``.

        Parameters
        ----------
        path : str or path-like or file-like
            Where to write (with :func:`torch.save`).
        """
        check_is_fitted(self)
        torch.save(weights_state(self), path)

    def load_weights(self, path, sha256=None):
        """Make this estimator predict with weights saved by :meth:`save_weights`.

        The estimator's parameters must describe the same network (``module``,
        ``width``, ``depth``, ``module_params``) as the one saved. The file is
        read with ``torch.load(weights_only=True)``; a truncated or damaged
        file raises ValueError.

        Parameters
        ----------
        path : str or path-like or file-like
            A file written by :meth:`save_weights`.
        sha256 : str or None, default=None
            Expected SHA-256 hex digest of the file; when given, it is checked
            before the file is read (ValueError when it differs).

        Returns
        -------
        self : ConvNetClassifier
            The estimator, ready to predict.
        """
        self._validate_params()
        module_state = read_weights(self, path, sha256)
        self.device_ = resolve_device(self.device)
        self.precision_ = resolve_precision(self.precision, self.device_)
        self.validation_indices_ = None
        self.batch_size_ = (
            AUTO_BATCH_SIZES[0] if self.batch_size == "auto" else self.batch_size
        )
        self.augment_ = resolve_augment(self.augment, self.max_epochs)
        net = build_net(self, self.batch_size_, [0, 0, 0, 0])
        with torch.random.fork_rng(devices=rng_devices(self.device_)):
            net.initialize()
        load_module_state(net, module_state, f"The weights in {path!r}")
        self.net_ = net
        self.n_parameters_ = count_parameters(net.module_)
        self.n_epochs_ = 0
        return self

    def __getstate__(self):
        return stamp_version(super().__getstate__())

    def __setstate__(self, state):
        state = warn_if_other_version(self, state)
        # Models pickled before the input scale was recorded: uint8 pixels.
        if "net_" in state:
            state.setdefault("input_dtype_", "uint8")
            state.setdefault("input_range_", (0.0, 255.0))
            # ... and before predict_proba was calibrated.
            state.setdefault("temperature_", 1.0)
        super().__setstate__(state)
        device = getattr(self, "device_", "cpu")
        if device.startswith("cuda") and not torch.cuda.is_available():
            self.device_ = "cpu"
            self.net_.device = "cpu"
