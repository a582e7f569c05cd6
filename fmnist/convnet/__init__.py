"""Convolutional network classifier (PyTorch + skorch).

:class:`ConvNetClassifier` is the scikit-learn estimator;
:class:`ResidualCNN` its default network and :class:`BatchAugmenter` its
batch-wise training augmentation; :func:`load_pretrained` returns the
fitted network that ships with fmnist.
"""

from ._augment import AUGMENT_PRESETS, BatchAugmenter
from ._estimator import ConvNetClassifier
from ._networks import ResidualCNN
from ._pretrained import load_pretrained

__all__ = [
    "AUGMENT_PRESETS",
    "BatchAugmenter",
    "ConvNetClassifier",
    "ResidualCNN",
    "load_pretrained",
]
