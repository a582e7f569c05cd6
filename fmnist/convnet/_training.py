"""skorch plumbing used by :class:`~fmnist.ConvNetClassifier`.

* :class:`BatchLoader` slices whole batches out of the tensors of a skorch
  ``Dataset`` (no per-sample ``__getitem__``/collate, no worker processes) and
  shuffles with a local generator.
* :class:`AugmentedNet` is the ``NeuralNetClassifier`` built in ``fit``: it
  augments training batches, runs the module in channels-last layout and,
  optionally, under bfloat16 autocast, for its logits or (``embed``) its
  features.
* :class:`OneCycleLR` sets the learning rate before every training batch.
* :class:`WeightAverage` keeps an exponential moving average of the weights
  and puts it into the module when training ends.
* :func:`torch_threads` scopes torch's thread count.
"""

import contextlib
import math

import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._inference import folded_copy, state_key

__all__ = [
    "AugmentedNet",
    "BatchLoader",
    "OneCycleLR",
    "WeightAverage",
    "n_train_batches",
    "torch_threads",
]


def n_train_batches(n_samples, batch_size):
    """Number of batches :class:`BatchLoader` yields in one training epoch."""
    batch_size = min(batch_size, n_samples)
    n_batches = n_samples // batch_size
    # A remainder of one sample is merged into the previous batch: batch norm
    # cannot train on a batch of one.
    if n_samples % batch_size > 1:
        n_batches += 1
    return max(n_batches, 1)


class BatchLoader:
    """Iterate over ``(X_batch, y_batch)`` slices of a skorch ``Dataset``.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (a tensor) and ``y`` (a tensor or None).
    batch_size : int
        Samples per batch.
    shuffle : bool, default=False
        Draw a new permutation (from ``generator``) on every iteration.
    generator : torch.Generator or None, default=None
        Source of the permutations.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        n = len(self.dataset)
        if self.shuffle:
            return n_train_batches(n, self.batch_size)
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        X, y = self.dataset.X, self.dataset.y
        n = len(self.dataset)
        if not self.shuffle:
            for start in range(0, n, self.batch_size):
                stop = start + self.batch_size
                yield X[start:stop], None if y is None else y[start:stop]
            return
        order = torch.randperm(n, generator=self.generator)
        n_batches = n_train_batches(n, self.batch_size)
        bounds = [i * self.batch_size for i in range(n_batches)] + [n]
        for start, stop in zip(bounds[:-1], bounds[1:]):
            index = order[start:stop]
            yield X[index], None if y is None else y[index]


class AugmentedNet(NeuralNetClassifier):
    """``NeuralNetClassifier`` with batch augmentation, channels-last and autocast.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`skorch.NeuralNetClassifier`.
    augmenter : callable or None, default=None
        Applied to every training batch (after it is moved to the device).
    autocast_dtype : torch.dtype or None, default=None
        Run the module's forward pass under :func:`torch.autocast` with this
        dtype (``torch.bfloat16``); None runs in float32.
    channels_last : bool, default=True
        Keep the module and its inputs in channels-last memory layout.
    fold_batch_norms : bool, default=False
        Predict (in evaluation mode, without gradients) with a copy of the
        module whose batch norms are folded into the convolutions before
        them (:func:`~fmnist.convnet._inference.folded_copy`), made again
        whenever the module's weights change. Only for modules whose
        ``nn.Sequential`` containers run as a whole.
    """

    def __init__(
        self,
        *args,
        augmenter=None,
        autocast_dtype=None,
        channels_last=True,
        fold_batch_norms=False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.augmenter = augmenter
        self.autocast_dtype = autocast_dtype
        self.channels_last = channels_last
        self.fold_batch_norms = fold_batch_norms

    def initialize_module(self):
        super().initialize_module()
        if self.channels_last:
            self.module_.to(memory_format=torch.channels_last)
        return self

    def train_step_single(self, batch, **fit_params):
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        if self.augmenter is not None:
            Xi = self.augmenter(Xi)
        return super().train_step_single((Xi, yi), **fit_params)

    def _run(self, function, x, **fit_params):
        """``function(x)`` on the device, in the layout and precision of ``fit``."""
        x = to_tensor(x, device=self.device)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        device_type = torch.device(self.device).type
        enabled = self.autocast_dtype is not None
        with torch.autocast(device_type, dtype=self.autocast_dtype, enabled=enabled):
            out = function(x, **fit_params)
        return out.float()

    def _predicting_module(self):
        """``module_``, or while predicting its folded copy (kept until the
        weights change)."""
        module = self.module_
        # Nets pickled before folding existed have no fold_batch_norms.
        folds = getattr(self, "fold_batch_norms", False)
        if not folds or module.training or torch.is_grad_enabled():
            return module
        key = state_key(module)
        cached = getattr(self, "folded_module_cache_", None)
        if cached is None or cached[0] != key:
            folded = folded_copy(module)
            if self.channels_last:
                folded.to(memory_format=torch.channels_last)
            self.folded_module_cache_ = cached = (key, folded)
        return cached[1]

    def infer(self, x, **fit_params):
        return self._run(self._predicting_module(), x, **fit_params)

    def embed(self, X):
        """The module's ``embed`` features of ``X``, batch by batch, as float32."""
        self.check_is_fitted()
        self._set_training(False)
        iterator = self.get_iterator(self.get_dataset(X), training=False)
        with torch.no_grad():
            module = self._predicting_module()
            parts = [
                self._run(module.embed, unpack_data(batch)[0]).cpu()
                for batch in iterator
            ]
        return torch.cat(parts).numpy()

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("folded_module_cache_", None)  # made again when needed
        return state


class OneCycleLR(Callback):
    """One-cycle learning-rate schedule stepped before every training batch.

    The rate rises linearly from ``max_lr / div_factor`` to ``max_lr`` over the
    first ``pct_start`` of the ``total_steps`` batches, then follows a cosine
    down to ``max_lr / final_div_factor``. It is recorded in the history as
    ``lr`` for every batch.

    Parameters
    ----------
    max_lr : float
        Peak learning rate.
    total_steps : int
        Training batches over the whole fit.
    pct_start : float, default=0.25
        Fraction of the steps spent warming up.
    div_factor : float, default=10.0
        ``max_lr / div_factor`` is the starting rate.
    final_div_factor : float, default=1000.0
        ``max_lr / final_div_factor`` is the final rate.
    """

    def __init__(
        self,
        max_lr,
        total_steps,
        pct_start=0.25,
        div_factor=10.0,
        final_div_factor=1000.0,
    ):
        self.max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor

    def initialize(self):
        self.step_ = 0
        return self

    def lr_at(self, step):
        """Learning rate of the given (0-based) training batch."""
        progress = min(step / max(self.total_steps - 1, 1), 1.0)
        start = self.max_lr / self.div_factor
        end = self.max_lr / self.final_div_factor
        if progress < self.pct_start:
            return start + (self.max_lr - start) * progress / self.pct_start
        phase = (progress - self.pct_start) / max(1.0 - self.pct_start, 1e-12)
        return end + (self.max_lr - end) * 0.5 * (1.0 + math.cos(math.pi * phase))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        lr = self.lr_at(self.step_)
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        net.history.record_batch("lr", lr)
        self.step_ += 1


class WeightAverage(Callback):
    """Exponential moving average of the weights, used once training ends.

    After every training batch the average moves towards the module's
    current floating-point state (weights and batch-norm statistics):
    ``average += (1 - d) * (current - average)``, with
    ``d = min(decay, (1 + t) / (10 + t))`` at the ``t``-th batch, so that
    the first batches, far from the end point, fade quickly. When training
    ends the average replaces the module's floating-point state; integer
    buffers (batch-norm's batch counter) keep their trained values. The
    trained weights stay available as ``trained_state_``.

    Parameters
    ----------
    decay : float
        Largest weight of the old average per batch, in [0, 1); ``1 / (1 -
        decay)`` batches is the span it averages over.
    """

    def __init__(self, decay):
        self.decay = decay

    def initialize(self):
        self.n_steps_ = 0
        return self

    def _float_state(self, net):
        state = net.module_.state_dict()
        return {k: v for k, v in state.items() if v.dtype.is_floating_point}

    def on_train_begin(self, net, **kwargs):
        self.n_steps_ = 0
        self.average_ = {
            k: v.detach().clone() for k, v in self._float_state(net).items()
        }

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        self.n_steps_ += 1
        t = self.n_steps_
        decay = min(float(self.decay), (1.0 + t) / (10.0 + t))
        current = self._float_state(net)
        keys = list(self.average_)
        torch._foreach_lerp_(
            [self.average_[k] for k in keys],
            [current[k].detach() for k in keys],
            1.0 - decay,
        )

    def on_train_end(self, net, **kwargs):
        self.trained_state_ = {
            k: v.detach().clone() for k, v in self._float_state(net).items()
        }
        with torch.no_grad():
            for key, value in self._float_state(net).items():
                value.copy_(self.average_[key])


@contextlib.contextmanager
def torch_threads(n_threads):
    """Set torch's intra-op thread count for the duration of the block."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
