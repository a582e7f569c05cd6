"""Weights files of :class:`~fmnist.ConvNetClassifier`.

A weights file (``save_weights``) holds the network's tensors and the fitted
attributes needed to predict with them, as tensors, numbers, strings and
lists only, so that it loads with ``torch.load(weights_only=True)``.
"""

import hashlib
import io
import pickle
import warnings

import numpy as np
import torch

from .._version import __version__

__all__ = ["load_module_state", "read_weights", "weights_state"]


def weights_state(estimator):
    """The content of a weights file for a fitted ``estimator``."""
    state = {
        "fmnist_version": __version__,
        "state_dict": {
            key: value.detach().cpu()
            for key, value in estimator.net_.module_.state_dict().items()
        },
        "classes": estimator.classes_.tolist(),
        "classes_dtype": estimator.classes_.dtype.str,
        "n_features_in": int(estimator.n_features_in_),
        "image_shape": list(estimator.image_shape_),
        "mean": float(estimator.mean_),
        "std": float(estimator.std_),
        "input_dtype": estimator.input_dtype_,
        "input_range": list(estimator.input_range_),
        "temperature": float(estimator.temperature_),
    }
    if hasattr(estimator, "feature_names_in_"):
        state["feature_names_in"] = estimator.feature_names_in_.tolist()
    return state


def _load(path, expected_sha256):
    if expected_sha256 is None:
        source = path
    else:
        with open(path, "rb") as f:
            payload = f.read()
        digest = hashlib.sha256(payload).hexdigest()
        if digest != expected_sha256.lower():
            raise ValueError(
                f"The weights file {str(path)!r} has SHA-256 {digest}, expected "
                f"{expected_sha256}: it is damaged or not the expected file."
            )
        source = io.BytesIO(payload)
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError) as err:
        raise ValueError(
            f"{path!r} is not a readable weights file (truncated, damaged, or not "
            f"written by save_weights): {err}"
        ) from err
    if not isinstance(state, dict) or "state_dict" not in state:
        raise ValueError(f"{path!r} is not a weights file written by save_weights.")
    return state


def read_weights(estimator, path, expected_sha256=None):
    """Read ``path``, set the fitted attributes it holds on ``estimator``.

    Returns the network's state dict, in float32 (files may store float16).
    With ``expected_sha256``, the file's digest is checked first (ValueError
    when it differs). Warns when the file comes from another fmnist version,
    unless its digest was checked: then it is the file that was asked for.
    """
    state = _load(path, expected_sha256)
    if expected_sha256 is None and state.get("fmnist_version") != __version__:
        warnings.warn(
            f"Loading weights saved by fmnist {state.get('fmnist_version')} "
            f"with fmnist {__version__}; they may not be compatible.",
            UserWarning,
            stacklevel=3,
        )
    estimator.classes_ = np.asarray(state["classes"], dtype=state["classes_dtype"])
    estimator.n_features_in_ = state["n_features_in"]
    if "feature_names_in" in state:
        estimator.feature_names_in_ = np.asarray(
            state["feature_names_in"], dtype=object
        )
    estimator.image_shape_ = tuple(state["image_shape"])
    estimator.mean_, estimator.std_ = state["mean"], state["std"]
    # Files written before the input scale was recorded held uint8 models.
    estimator.input_dtype_ = state.get("input_dtype", "uint8")
    estimator.input_range_ = tuple(state.get("input_range", (0.0, 255.0)))
    # Files written before predict_proba was calibrated: no temperature.
    estimator.temperature_ = float(state.get("temperature", 1.0))
    return {
        key: value.float() if value.is_floating_point() else value
        for key, value in state["state_dict"].items()
    }


def load_module_state(net, state_dict, source="The fitted weights"):
    """Copy ``state_dict`` into ``net.module_``; ValueError when it does not fit."""
    try:
        net.module_.load_state_dict(state_dict)
    except RuntimeError as err:
        raise ValueError(
            f"{source} do not fit this estimator's network; use the module, "
            "width, depth and module_params they were trained with (weights "
            "of the default network saved before it pooled ahead of its batch "
            "norms need module_params={'pool_before_norm': False})."
        ) from err
