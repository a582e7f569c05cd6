"""The default network of :class:`~fmnist.ConvNetClassifier`.

A small residual CNN in the style of ResNet-9, sized for training on a CPU:
a 3x3 stem, then three stages that each double the channels, halve the
resolution with a 2x2 max-pool and add ``depth`` residual blocks, then a
global max-pool and a linear layer that returns logits.

Each stage's widening convolution is max-pooled before its batch norm and
ReLU (conv -> pool -> norm -> ReLU, the order of the fast CIFAR-10 training
recipes), so those two run on a quarter of the pixels. Both commute with the
max-pool up to the batch-norm statistics (ReLU exactly; batch norm where its
scale is positive), so the order changes the cost more than the model.
"""

import torch
from torch import nn

__all__ = ["ResidualCNN", "count_parameters"]


def _conv_bn_relu(in_channels, out_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _conv_pool_bn_relu(in_channels, out_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _widening_stage(in_channels, out_channels, pool_before_norm):
    """The layers that double the channels and halve the resolution."""
    if pool_before_norm:
        return [_conv_pool_bn_relu(in_channels, out_channels)]
    return [_conv_bn_relu(in_channels, out_channels), nn.MaxPool2d(2, ceil_mode=True)]


class _ResidualBlock(nn.Module):
    """Two conv-BN-ReLU layers with an identity shortcut."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn_relu(channels, channels), _conv_bn_relu(channels, channels)
        )

    def forward(self, x):
        return x + self.body(x)


class ResidualCNN(nn.Module):
    """Residual CNN for small grey-scale images; returns logits.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    in_channels : int, default=1
        Channels of the input images.
    width : int, default=16
        Channels of the stem; the three stages use ``2 * width``,
        ``4 * width`` and ``8 * width`` channels.
    depth : int, default=1
        Residual blocks per stage.
    dropout : float, default=0.0
        Dropout probability before the final linear layer.
    logit_scale : float, default=0.125
        Constant factor on the logits. Scaling down the output of the last
        layer keeps training stable at the high peak learning rates of a
        one-cycle schedule (as in the fast ResNet-9 CIFAR-10 recipes).
    pool_before_norm : bool, default=True
        Max-pool each stage's widening convolution before its batch norm and
        ReLU (see the module docstring): epochs 4-13% faster in bfloat16 and
        12-13% in float32 on AVX2, on 2 CPU cores
        (``benchmarks/bench_convnet_epoch.py``). False pools after them, the
        earlier layout and that of the pretrained model; the two
        layouts name their batch-norm tensors differently, so weights of one
        do not load into the other.

    Notes
    -----
    :meth:`embed` returns the globally pooled features that the linear layer
    reads; :meth:`~fmnist.ConvNetClassifier.transform` calls it.

    Each stage halves the resolution (``ceil_mode=True``, so any image side
    >= 1 works: 28 -> 14 -> 7 -> 4, and sklearn's 8x8 digits 8 -> 4 -> 2 -> 1).
    """

    def __init__(
        self, n_classes, in_channels=1, width=16, depth=1, dropout=0.0,
        logit_scale=0.125, pool_before_norm=True,
    ):
        super().__init__()
        layers = [_conv_bn_relu(in_channels, width)]
        channels = width
        for _ in range(3):
            layers.extend(_widening_stage(channels, 2 * channels, pool_before_norm))
            channels *= 2
            layers.extend(_ResidualBlock(channels) for _ in range(depth))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels, n_classes)
        self.logit_scale = logit_scale

    def embed(self, x):
        """Features before the linear layer: shape (n, 8 * width)."""
        return torch.flatten(self.pool(self.features(x)), 1)

    def forward(self, x):
        logits = self.classifier(self.dropout(self.embed(x)))
        return logits * self.logit_scale


def count_parameters(module):
    """Number of trainable parameters of a torch module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
