"""scikit-learn's estimator checks on every fmnist estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fmnist import BlockKNNClassifier

# Fast, deterministic settings for each estimator class.
INIT_PARAMS = {
    BlockKNNClassifier: {},
}

# Checks an estimator is known to fail, with the reason: {class: {check: reason}}.
EXPECTED_FAILED_CHECKS = {
    BlockKNNClassifier: {},
}


def _estimators():
    return [cls(**params) for cls, params in INIT_PARAMS.items()]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator), {})


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed_checks)
def test_estimators(estimator, check):
    check(estimator)


def test_knn_has_no_expected_failures():
    assert EXPECTED_FAILED_CHECKS[BlockKNNClassifier] == {}
