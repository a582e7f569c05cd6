"""Fashion-MNIST classification with scikit-learn estimators.

What to import for what
-----------------------
The data (60,000 training and 10,000 test images, 28 x 28 uint8 pixels as
rows of 784, 10 classes), checked by SHA-256, cached and usable offline:

    from fmnist.datasets import load, load_train_test
    X_train, X_test, y_train, y_test = load_train_test()
    bunch = load()              # a Bunch: data, target, target_names, DESCR

Exact k-nearest neighbours (numba kernels, blocked, multi-threaded):

    from fmnist import BlockKNNClassifier, BlockKNNTransformer, BlockNearestNeighbors
    BlockKNNClassifier(n_neighbors=5, metric="manhattan").fit(X_train, y_train)
    BlockKNNTransformer(n_neighbors=10)    # the neighbours graph, for pipelines
    BlockNearestNeighbors(radius=1500.0)   # kneighbors and radius_neighbors
    fmnist.warmup()                        # compile the kernels up front

A convolutional network (PyTorch, wrapped with skorch) and a fitted one:

    from fmnist import ConvNetClassifier, load_pretrained_convnet
    ConvNetClassifier(random_state=0).fit(X_train, y_train)    # the full recipe
    load_pretrained_convnet().predict(X_test)                 # no training

All estimators work with clone, Pipeline, GridSearchCV, cross_val_score and
pickle. Further modules: fmnist.neighbors (the search behind the kNN
estimators: SearchSpec, SearchIndex, the search cache), fmnist.idx (read and
write IDX files), fmnist.distributed (sharded search on a dask cluster; needs
the "distributed" extra).

``import fmnist`` is cheap: numba, torch and skorch are imported only when the
estimator that needs them is first used.
"""

import importlib
import sys
import types

from ._version import __version__

__all__ = [
    "BlockKNNClassifier",
    "BlockKNNTransformer",
    "BlockNearestNeighbors",
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
    "BlockNearestNeighbors": "fmnist.neighbors",
    "warmup": "fmnist.neighbors",
    "ConvNetClassifier": "fmnist.convnet",
    "load_pretrained_convnet": "fmnist.convnet:load_pretrained",
    "InconsistentVersionWarning": "fmnist._persistence",
    "datasets": "fmnist.datasets",
}


class _LazyModule(types.ModuleType):
    """The package's module type: imports the public names on first access.

    A module-level ``__getattr__`` would do the same, but ``help(fmnist)``
    would then list it (and ``__dir__``) among the package's functions.
    """

    def __getattr__(self, name):
        target = _LAZY_ATTRIBUTES.get(name)
        if target is None:
            raise AttributeError(f"module 'fmnist' has no attribute {name!r}")
        # "module" or "module:attribute" (the attribute defaults to ``name``).
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        if not attribute and module_name.endswith(name):
            value = module
        else:
            value = getattr(module, attribute or name)
        setattr(self, name, value)
        return value

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(__all__))


sys.modules[__name__].__class__ = _LazyModule
