"""Convolutional network classifier (PyTorch + skorch).

:class:`ConvNetClassifier` is the scikit-learn estimator;
:class:`ResidualCNN` its default network and :class:`BatchAugmenter` its
batch-wise training augmentation.
"""

from ._augment import AUGMENT_PRESETS, BatchAugmenter
from ._estimator import ConvNetClassifier
from ._networks import ResidualCNN

__all__ = ["AUGMENT_PRESETS", "BatchAugmenter", "ConvNetClassifier", "ResidualCNN"]
