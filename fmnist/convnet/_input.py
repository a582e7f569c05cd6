"""Input handling of :class:`~fmnist.ConvNetClassifier`: image shape and pixel
scaling (image stacks are flattened by :mod:`fmnist._images`).

:func:`validate_images` is the estimator's entry point. The pixel scale is
decided once, in ``fit``, from the training input (:func:`pixel_scale`), and
applied to every later input whatever its dtype (:func:`to_images`); inputs
far outside the training range are reported by :func:`check_input_range`.
"""

import math
import numbers
import warnings

import numpy as np
from sklearn.utils.validation import validate_data

from .._images import flatten_image_stack

__all__ = [
    "check_input_range",
    "input_range",
    "pixel_scale",
    "resolve_image_shape",
    "to_images",
    "validate_images",
]


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


def pixel_scale(input_dtype):
    """Factor applied to every input of a model fitted on ``input_dtype`` data.

    Training images stored as ``uint8`` are 0-255 pixels: every later input
    (uint8, or float copies of such pixels) is divided by 255. Training input
    of any other dtype is used as given, and so is every later input.
    """
    return 1.0 / 255.0 if np.dtype(input_dtype) == np.uint8 else 1.0


def input_range(X):
    """``(min, max)`` of a validated 2-d ``X``, as Python floats."""
    if X.size == 0:
        return (0.0, 0.0)
    return (float(X.min()), float(X.max()))


def check_input_range(X, fitted_range, input_dtype, name="ConvNetClassifier"):
    """Warn when ``X`` lies far outside ``fitted_range``, the training range.

    "Far" means beyond the training range by more than its own width on
    either side (by more than 1 when the training data were constant): a
    model fitted on [0, 1] warns for 0-255 pixels, not for [-0.5, 1.8].
    """
    low, high = fitted_range
    span = max(high - low, 1.0 if high == low else 0.0)
    x_low, x_high = input_range(X)
    if x_low < low - span or x_high > high + span:
        warnings.warn(
            f"X has values in [{x_low:g}, {x_high:g}], far outside the range "
            f"[{low:g}, {high:g}] of the {input_dtype} data {name} was fitted "
            "on. Inputs are scaled as the training data were (uint8 training "
            "pixels are divided by 255, any other dtype is used as given): "
            "pass X on the scale of the training data.",
            UserWarning,
            stacklevel=4,
        )


def to_images(X, image_shape, scale=1.0):
    """Validated 2-d ``X`` as float32 images ``(n, 1, height, width)``.

    This is the one place where pixels are scaled, by ``scale`` (from
    :func:`pixel_scale` of the training dtype), whatever the dtype of ``X``:
    a model fitted on uint8 images gives the same predictions for float copies
    of them. The estimator standardises the result with the mean and standard
    deviation it learned in ``fit``.
    """
    images = X.astype(np.float32)
    if scale != 1.0:
        images /= np.float32(1.0 / scale)
    return images.reshape(-1, 1, *image_shape)


def validate_images(estimator, X, y=None, reset=False):
    """Validate ``X`` (and ``y``); return float32 images and ``y``.

    ``reset=True`` (a new fit) records on ``estimator`` the features
    (``n_features_in_``, ``feature_names_in_``), ``image_shape_`` and the
    input scale (``input_dtype_``, ``input_range_``); otherwise ``X`` must
    match them (warm starts, prediction) and is scaled by the recorded rule.
    The images have shape ``(n, 1, height, width)``.
    """
    X, data_shape = flatten_image_stack(X, channel_axis=True)
    kwargs = dict(accept_sparse=False, dtype="numeric", ensure_all_finite=True)
    if y is None:
        X = validate_data(estimator, X, reset=reset, **kwargs)
    else:
        X, y = validate_data(estimator, X, y, reset=reset, **kwargs)
    name = type(estimator).__name__
    if reset:
        estimator.image_shape_ = resolve_image_shape(
            estimator.image_shape, X.shape[1], data_shape
        )
        estimator.input_dtype_ = X.dtype.name
        estimator.input_range_ = input_range(X)
    else:
        if data_shape is not None and data_shape != estimator.image_shape_:
            raise ValueError(
                f"X has images of shape {data_shape}, but {name} was fitted on "
                f"{estimator.image_shape_}."
            )
        check_input_range(X, estimator.input_range_, estimator.input_dtype_, name)
    scale = pixel_scale(estimator.input_dtype_)
    return to_images(X, estimator.image_shape_, scale), y
