"""A pytest plugin that runs scikit-learn's own neighbors tests on fmnist.

Loaded with ``-p _sklearn_suite_adapter`` into a pytest run over the test
files installed with scikit-learn (``sklearn/neighbors/tests/test_neighbors.py``
and ``test_graph.py``), it replaces, before those files are imported, the
scikit-learn classes that fmnist stands in for with thin adapters: each takes
the scikit-learn constructor and runs fmnist's estimator.

* ``algorithm``: 'ball_tree', 'kd_tree' and 'auto' run fmnist's exact 'auto'
  search, 'brute' its brute force; ``leaf_size`` is validated and ignored.
* ``metric_params`` is passed on where the fmnist estimator takes it.

Only the tests that exercise a replaced class are kept (the rest test
scikit-learn's regressors, radius classifiers and trees, which fmnist does
not replace): a test parametrized over estimator classes is kept for the
replaced ones, any other test when its source names a replaced class or
function.
"""

import inspect
from numbers import Integral

import pytest
import sklearn.neighbors
import sklearn.neighbors._graph
from sklearn.neighbors._base import KNeighborsMixin

import fmnist
from fmnist._compat import Interval, StrOptions

_SEARCH_ALGORITHMS = {
    "auto": "auto",
    "ball_tree": "auto",
    "kd_tree": "auto",
    "brute": "brute",
}


def _takes(cls, name):
    return name in inspect.signature(cls.__init__).parameters


class _SklearnConstructor:
    """Maps scikit-learn's ``algorithm`` and ``leaf_size`` onto fmnist's."""

    def _build_spec(self):
        algorithm = self.algorithm
        self.algorithm = _SEARCH_ALGORITHMS[algorithm]
        try:
            return super()._build_spec()
        finally:
            self.algorithm = algorithm


def _constraints(base):
    constraints = dict(base._parameter_constraints)
    constraints["algorithm"] = [StrOptions(set(_SEARCH_ALGORITHMS))]
    constraints["leaf_size"] = [Interval(Integral, 1, None, closed="left")]
    if "metric_params" not in constraints:
        constraints["metric_params"] = [dict, None]
    return constraints


def _no_metric_params(estimator):
    """fmnist estimators without ``metric_params`` take only None."""
    if estimator.metric_params:
        raise ValueError(
            f"{type(estimator).__name__} does not take metric_params; "
            f"got {estimator.metric_params!r}."
        )


def _adapter(base, sk_name, extra):
    """A subclass of fmnist's ``base`` with scikit-learn's constructor."""
    forward_params = _takes(base, "metric_params")

    params = [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter(
            "n_neighbors", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=5
        ),
    ]
    for name, default in (
        ("algorithm", "auto"),
        ("leaf_size", 30),
        ("metric", "minkowski"),
        ("p", 2),
        ("metric_params", None),
        ("n_jobs", None),
        *extra,
    ):
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        )
    signature = inspect.Signature(params)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)
        self.block_size = None

    __init__.__signature__ = signature

    def _validate_params(self):
        if not forward_params:
            _no_metric_params(self)
        return base._validate_params(self)

    namespace = {
        "__init__": __init__,
        "__module__": __name__,
        "_parameter_constraints": _constraints(base),
        "_validate_params": _validate_params,
    }
    # scikit-learn's tests tell k-neighbors estimators by this mixin; fmnist's
    # own methods come first in the MRO.
    return type(sk_name, (_SklearnConstructor, base, KNeighborsMixin), namespace)


KNeighborsClassifier = _adapter(
    fmnist.BlockKNNClassifier, "KNeighborsClassifier", (("weights", "uniform"),)
)
KNeighborsTransformer = _adapter(
    fmnist.BlockKNNTransformer, "KNeighborsTransformer", (("mode", "distance"),)
)
ADAPTERS = {
    "KNeighborsClassifier": KNeighborsClassifier,
    "KNeighborsTransformer": KNeighborsTransformer,
}
if hasattr(fmnist, "BlockNearestNeighbors"):
    ADAPTERS["NearestNeighbors"] = _adapter(
        fmnist.BlockNearestNeighbors, "NearestNeighbors", (("radius", 1.0),)
    )

#: Names whose mention in a test's source selects the test.
SELECTING_NAMES = (*ADAPTERS, "kneighbors_graph")


def pytest_configure(config):
    """Stand the adapters in for scikit-learn's classes, before the test
    files are collected: only in a run that loads this module as a plugin
    (importing it, as a doctest collection does, changes nothing)."""
    for name, cls in ADAPTERS.items():
        setattr(sklearn.neighbors, name, cls)
    if "NearestNeighbors" in ADAPTERS:
        sklearn.neighbors._graph.NearestNeighbors = ADAPTERS["NearestNeighbors"]


def _selected(item):
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        classes = [v for v in callspec.params.values() if isinstance(v, type)]
        estimators = [c for c in classes if hasattr(c, "fit")]
        if estimators:
            return any(c in ADAPTERS.values() for c in estimators)
    try:
        source = inspect.getsource(item.function)
    except (OSError, TypeError):
        return False
    return any(name in source for name in SELECTING_NAMES)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    kept, dropped = [], []
    for item in items:
        (kept if _selected(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
