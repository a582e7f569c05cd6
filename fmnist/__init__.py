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
    "warmup",
    "__version__",
]

_LAZY_ATTRIBUTES = {
    "BlockKNNClassifier": "fmnist.neighbors",
    "BlockKNNTransformer": "fmnist.neighbors",
    "warmup": "fmnist.neighbors",
    "ConvNetClassifier": "fmnist.convnet",
    "InconsistentVersionWarning": "fmnist._persistence",
    "datasets": "fmnist.datasets",
}


def __getattr__(name):
    module_name = _LAZY_ATTRIBUTES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'fmnist' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith(name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
