"""A progress bar inside each training epoch, with the time left in the fit.

skorch's :class:`~skorch.callbacks.PrintLog` prints one row per epoch, so a
long epoch on a CPU is minutes of silence. :class:`FitProgress` draws a tqdm
bar over the epoch's training batches, with the estimated time left in the
whole fit, and erases it at the end of the epoch, before the epoch's row is
printed. ``ConvNetClassifier(verbose=1)`` adds it only when the bar's stream
is a terminal (:func:`wants_progress`): logs, pipes and tests stay clean.
"""

import sys
import time

from skorch.callbacks import Callback

__all__ = ["FitProgress", "wants_progress"]


def wants_progress(verbose):
    """Whether a fit with this ``verbose`` should draw :class:`FitProgress`
    (on ``sys.stderr``)."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(verbose) and isatty is not None and bool(isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


def format_duration(seconds):
    """``'45 s'``, ``'3.2 min'`` or ``'1.5 h'``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class FitProgress(Callback):
    """tqdm bar over each epoch's training batches, with the fit's time left.

    Parameters
    ----------
    n_epochs : int
        Epochs in the fit.
    batches_per_epoch : int
        Training batches in one epoch.

    The bar is drawn on ``sys.stderr`` as it is when each epoch begins.
    """

    #: Least seconds between two redraws of the bar (tqdm's ``mininterval``).
    mininterval = 0.1

    def __init__(self, n_epochs, batches_per_epoch):
        self.n_epochs = n_epochs
        self.batches_per_epoch = batches_per_epoch

    def on_train_begin(self, net, **kwargs):
        self.epoch_ = 0
        self.batches_done_ = 0
        self.started_ = time.perf_counter()
        self.bar_ = None

    def on_epoch_begin(self, net, **kwargs):
        from tqdm import tqdm

        self.epoch_ += 1
        self.bar_ = tqdm(
            total=self.batches_per_epoch,
            desc=f"epoch {self.epoch_}/{self.n_epochs}",
            unit="batch",
            leave=False,
            dynamic_ncols=True,
            mininterval=self.mininterval,
            file=sys.stderr,
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if not training or self.bar_ is None:
            return
        self.batches_done_ += 1
        total = self.n_epochs * self.batches_per_epoch
        elapsed = time.perf_counter() - self.started_
        left = elapsed / self.batches_done_ * max(total - self.batches_done_, 0)
        postfix = {"fit left": format_duration(left)}
        loss = net.history[-1, "batches", -1].get("train_loss")
        if loss is not None:
            postfix = {"loss": f"{loss:.3f}", **postfix}
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update()

    def on_epoch_end(self, net, **kwargs):
        self._close()

    def on_train_end(self, net, **kwargs):
        self._close()

    def _close(self):
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
        self.bar_ = None

    def __getstate__(self):
        # A bar (and its stream) is not pickled with the fitted network.
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state
