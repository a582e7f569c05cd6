"""Input handling of :class:`~fmnist.ConvNetClassifier`: image shape and pixel
scaling (image stacks are flattened by :mod:`fmnist._images`)."""

import math
import numbers

import numpy as np

__all__ = ["resolve_image_shape", "to_images"]


def resolve_image_shape(image_shape, n_features, data_shape=None):
    """``(height, width)`` from the ``image_shape`` parameter and the data.

    Parameters
    ----------
    image_shape : tuple of int or None
        The estimator's parameter: None (square images) or ``(height, width)``
        with at most one -1.
    n_features : int
        Features per sample.
    data_shape : tuple of int or None, default=None
        ``(h, w)`` of image-shaped input.
    """
    if image_shape is None:
        if data_shape is not None:
            if data_shape[0] != data_shape[1]:
                raise ValueError(
                    f"Images must be square; got images of shape {data_shape}. "
                    f"Pass image_shape={data_shape} to train on rectangular "
                    "images."
                )
            return data_shape
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                "ConvNetClassifier expects square images flattened to side * "
                f"side features; X has {n_features} features, which is not a "
                "perfect square. Pass image_shape=(height, width) for "
                "rectangular images."
            )
        return (side, side)
    shape = tuple(image_shape)
    if (
        len(shape) != 2
        or not all(isinstance(d, numbers.Integral) for d in shape)
        or any(d == 0 or d < -1 for d in shape)
        or shape == (-1, -1)
    ):
        raise ValueError(
            "The 'image_shape' parameter of ConvNetClassifier must be None or a "
            "tuple (height, width) of positive ints, one of which may be -1. "
            f"Got {image_shape!r} instead."
        )
    known = abs(shape[0] * shape[1])
    if -1 in shape and n_features % known == 0:
        shape = tuple(n_features // known if d == -1 else d for d in shape)
    if shape[0] * shape[1] != n_features or (
        data_shape is not None and data_shape != shape
    ):
        images = "" if data_shape is None else f" and images of shape {data_shape}"
        raise ValueError(
            f"image_shape={image_shape!r} does not match X with {n_features} "
            f"features{images}."
        )
    return tuple(int(d) for d in shape)


def to_images(X, image_shape):
    """Validated 2-d ``X`` as float32 images ``(n, 1, height, width)``.

    This is the one place where pixels are scaled: ``uint8`` values are
    divided by 255 (to [0, 1]); every other dtype is used as given. The
    estimator standardises the result with the mean and standard deviation it
    learned in ``fit``.
    """
    if X.dtype == np.uint8:
        images = X.astype(np.float32) / np.float32(255.0)
    else:
        images = X.astype(np.float32)
    return images.reshape(-1, 1, *image_shape)
