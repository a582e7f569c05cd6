"""ConvNetClassifier: prediction with the batch norms folded into the convolutions."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.datasets import load_digits  # noqa: E402

from fmnist import ConvNetClassifier  # noqa: E402
from fmnist.convnet import ResidualCNN  # noqa: E402
from fmnist.convnet._inference import folded_copy, state_key  # noqa: E402


@pytest.fixture(scope="module")
def fast_params(fast_params):
    """The shared settings (conftest.py), with test-time augmentation."""
    return {**fast_params, "tta": True}


def _trained_like(module, seed=0, negative_channel=False):
    """``module`` in evaluation mode with batch-norm statistics and affine
    parameters far from their initial values (as after training)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for norm in module.modules():
            if isinstance(norm, torch.nn.BatchNorm2d):
                n = norm.num_features
                norm.running_mean.copy_(torch.randn(n, generator=generator))
                norm.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                norm.weight.copy_(torch.rand(n, generator=generator) + 0.2)
                norm.bias.copy_(torch.randn(n, generator=generator))
                if negative_channel:
                    norm.weight[0] = -norm.weight[0]
    return module.eval()


def _norms(module):
    return sum(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules())


@pytest.mark.parametrize("pool_before_norm", [True, False])
def test_folded_network_computes_the_same_function(pool_before_norm):
    module = _trained_like(ResidualCNN(10, width=8, pool_before_norm=pool_before_norm))
    folded = folded_copy(module)
    assert _norms(module) == 10 and _norms(folded) == 0
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = module(x), folded(x)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(
            folded.embed(x), module.embed(x), rtol=1e-4, atol=1e-5
        )
    # The original is untouched: its batch norms and its gradients.
    assert _norms(module) == 10
    assert all(p.requires_grad for p in module.parameters())


def test_norm_after_a_pool_with_a_negative_scale_is_kept():
    # max(s * x) = s * min(x) when s < 0: that batch norm cannot move before
    # the pool; those right after a convolution still fold.
    module = _trained_like(ResidualCNN(10, width=8), negative_channel=True)
    folded = folded_copy(module)
    assert _norms(folded) == 3  # the three widening layers
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        np.testing.assert_allclose(folded(x), module(x), rtol=1e-4, atol=1e-5)


def test_state_key_follows_in_place_changes_and_replaced_tensors():
    module = ResidualCNN(10, width=4)
    key = state_key(module)
    assert state_key(module) == key
    with torch.no_grad():
        module.classifier.weight.add_(1.0)
    assert state_key(module) != key
    key = state_key(module)
    module.load_state_dict(ResidualCNN(10, width=4).state_dict())
    assert state_key(module) != key


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300].astype(np.float32), y[:300]


def _unfolded_proba(clf, X):
    clf.net_.fold_batch_norms = False
    try:
        return clf.predict_proba(X)
    finally:
        clf.net_.fold_batch_norms = True


def test_estimator_predicts_with_the_folded_copy(digits, fast_params):
    X, y = digits
    clf = ConvNetClassifier(**fast_params).fit(X, y)
    proba = clf.predict_proba(X)
    key, folded = clf.net_.folded_module_cache_
    assert _norms(folded) == 0 and _norms(clf.net_.module_) == 10
    np.testing.assert_allclose(proba, _unfolded_proba(clf, X), rtol=1e-4, atol=1e-6)
    # transform reads the same folded copy.
    clf.transform(X[:5])
    assert clf.net_.folded_module_cache_[1] is folded
    # Training again makes a new copy from the new weights.
    clf.set_params(warm_start=True, max_epochs=1).fit(X, y)
    proba = clf.predict_proba(X)
    assert clf.net_.folded_module_cache_[1] is not folded
    np.testing.assert_allclose(proba, _unfolded_proba(clf, X), rtol=1e-4, atol=1e-6)


def test_folded_copy_is_not_pickled(digits, fast_params):
    X, y = digits
    clf = ConvNetClassifier(**fast_params).fit(X, y)
    proba = clf.predict_proba(X[:20])
    assert hasattr(clf.net_, "folded_module_cache_")
    restored = pickle.loads(pickle.dumps(clf))
    assert not hasattr(restored.net_, "folded_module_cache_")
    np.testing.assert_array_equal(restored.predict_proba(X[:20]), proba)


class _CustomNet(ResidualCNN):
    """A user's network: its forward pass could run its layers any way."""


def test_custom_modules_are_not_folded(digits, fast_params):
    X, y = digits
    clf = ConvNetClassifier(**fast_params, module=_CustomNet).fit(X, y)
    clf.predict(X[:5])
    assert not clf.net_.fold_batch_norms
    assert not hasattr(clf.net_, "folded_module_cache_")
