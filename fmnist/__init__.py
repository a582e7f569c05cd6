"""fmnist: Fashion-MNIST classification with scikit-learn estimators.

``import fmnist`` is cheap: numba, torch and skorch are imported only when the
estimator that needs them is first used.
"""

import importlib

from ._version import __version__

__all__ = [
    "BlockKNNClassifier",
    "BlockKNNTransformer",
    "ConvNetClassifier",
    "InconsistentVersionWarning",
    "datasets",
    "load_pretrained_convnet",
    "warmup",
    "__version__",
]

_LAZY_ATTRIBUTES = {
    "BlockKNNClassifier": "fmnist.neighbors",
    "BlockKNNTransformer": "fmnist.neighbors",
    "warmup": "fmnist.neighbors",
    "ConvNetClassifier": "fmnist.convnet",
    "load_pretrained_convnet": "fmnist.convnet:load_pretrained",
    "InconsistentVersionWarning": "fmnist._persistence",
    "datasets": "fmnist.datasets",
}


def __getattr__(name):
    target = _LAZY_ATTRIBUTES.get(name)
    if target is None:
        raise AttributeError(f"module 'fmnist' has no attribute {name!r}")
    # "module" or "module:attribute" (the attribute defaults to ``name``).
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    if not attribute and module_name.endswith(name):
        return _remember(name, module)
    return _remember(name, getattr(module, attribute or name))


def _remember(name, value):
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
