"""scikit-learn's estimator checks on every fmnist estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fmnist import (
    BlockKNNClassifier,
    BlockKNNTransformer,
    BlockNearestNeighbors,
    ConvNetClassifier,
)

# Fast, deterministic settings for each estimator class.
INIT_PARAMS = {
    BlockKNNClassifier: {},
    BlockKNNTransformer: {},
    BlockNearestNeighbors: {},
    # The checks' data have 1 to 10 features, rarely a perfect square:
    # image_shape=(1, -1) reads each row as a 1 x n_features image, which
    # must not be mirrored (tta=False). A tiny float32 network, 3 epochs
    # (enough for check_classifiers_train with any seed tried), one thread.
    ConvNetClassifier: dict(
        image_shape=(1, -1),
        width=4,
        max_epochs=3,
        lr=0.05,
        batch_size=16,
        augment="none",
        tta=False,
        precision="float32",
        n_threads=1,
        random_state=0,
    ),
}

# Checks an estimator is known to fail, with the reason: {class: {check: reason}}.
EXPECTED_FAILED_CHECKS = {
    BlockKNNClassifier: {},
    BlockKNNTransformer: {},
    BlockNearestNeighbors: {},
    ConvNetClassifier: {},
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
    assert EXPECTED_FAILED_CHECKS[BlockKNNTransformer] == {}
    assert EXPECTED_FAILED_CHECKS[BlockNearestNeighbors] == {}


def test_convnet_expected_failures_do_not_grow():
    # Every check passes with INIT_PARAMS; a new failure needs a written reason.
    assert EXPECTED_FAILED_CHECKS[ConvNetClassifier] == {}
