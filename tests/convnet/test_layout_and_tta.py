"""ConvNetClassifier: the network's pooling order and test-time augmentation."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from fmnist import ConvNetClassifier  # noqa: E402
from fmnist.convnet import ResidualCNN  # noqa: E402
from fmnist.convnet._augment import shift_images, tta_views  # noqa: E402
from fmnist.convnet._input import validate_images  # noqa: E402


@pytest.fixture(scope="module")
def fitted(small_digits, fast_params):
    return ConvNetClassifier(**fast_params).fit(*small_digits)


# ------------------------------------------------------------ pooling order
def _pool_after_norm_state(state):
    """The state dict of a pool-first network, named as the pool-after one.

    Pool-first stages are one Sequential (conv, pool, bn, relu) followed by
    the residual blocks; pool-after stages are (conv, bn, relu), the pool and
    the blocks: the layers after the stem shift, and each stage's batch norm
    moves from index 2 to index 1.
    """
    layer = {0: 0, 1: 1, 2: 3, 3: 4, 4: 6, 5: 7, 6: 9}  # depth=1
    renamed = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "features":
            index = int(parts[1])
            parts[1] = str(layer[index])
            if index in (1, 3, 5) and parts[2] == "2":
                parts[2] = "1"
        renamed[".".join(parts)] = value
    return renamed


def test_pooling_order_changes_cost_not_the_function():
    # In inference, batch norm is an affine map per channel: with a positive
    # scale it is monotone, as ReLU is, and a monotone map commutes with a
    # max-pool exactly, rounding included. So the two layouts, given the same
    # weights, compute the same logits bit for bit.
    torch.manual_seed(0)
    first = ResidualCNN(n_classes=10, width=4, pool_before_norm=True).eval()
    after = ResidualCNN(n_classes=10, width=4, pool_before_norm=False).eval()
    with torch.no_grad():
        for module in first.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 2.0)
                module.bias.uniform_(-1.0, 1.0)
                module.running_mean.uniform_(-1.0, 1.0)
                module.running_var.uniform_(0.5, 2.0)
    after.load_state_dict(_pool_after_norm_state(first.state_dict()))
    x = torch.randn(16, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(first(x), after(x))
        # A negative scale turns the max-pool into a min-pool: not the same.
        stage = first.features[1]
        stage[2].weight.neg_()
        after.load_state_dict(_pool_after_norm_state(first.state_dict()))
        assert not torch.equal(first(x), after(x))


def test_pool_first_is_the_default_and_runs_norms_on_pooled_pixels(fitted):
    module = fitted.net_.module_
    stage = module.features[1]
    assert isinstance(stage[1], torch.nn.MaxPool2d)
    assert isinstance(stage[2], torch.nn.BatchNorm2d)
    old = ResidualCNN(n_classes=10, pool_before_norm=False)
    assert isinstance(old.features[2], torch.nn.MaxPool2d)


def test_weights_of_the_other_layout_are_refused_with_a_hint(
    fitted, small_digits, tmp_path, fast_params
):
    path = tmp_path / "first.pt"
    fitted.save_weights(path)
    old_layout = {"pool_before_norm": False}
    old = ConvNetClassifier(**dict(fast_params, module_params=old_layout))
    with pytest.raises(ValueError, match="pool_before_norm"):
        old.load_weights(path)
    same = ConvNetClassifier(**fast_params).load_weights(path)
    X = small_digits[0][:20]
    np.testing.assert_array_equal(same.predict_proba(X), fitted.predict_proba(X))


# --------------------------------------------------- test-time augmentation
def test_shift_images_moves_pixels_and_fills_the_border():
    x = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)
    down = shift_images(x, 1, 0, -1.0)[0, 0]
    assert torch.equal(down[0], torch.full((4,), -1.0))
    assert torch.equal(down[1:], x[0, 0, :3])
    left = shift_images(x, 0, -1, -1.0)[0, 0]
    assert torch.equal(left[:, 3], torch.full((4,), -1.0))
    assert torch.equal(left[:, :3], x[0, 0, :, 1:])
    assert torch.equal(shift_images(x, 0, 0, -1.0), x)


@pytest.mark.parametrize(
    "mode, n_views", [(False, 1), (True, 2), ("flip", 2), ("flip+shift", 10)]
)
def test_tta_views_weights_sum_to_one(mode, n_views):
    x = torch.randn(3, 1, 5, 5)
    views = tta_views(x, mode, fill=0.0)
    assert len(views) == n_views
    assert sum(weight for weight, _ in views) == pytest.approx(1.0, abs=1e-15)
    assert torch.equal(views[0][1], x)
    if n_views > 1:
        assert torch.equal(views[1][1], x.flip(-1))


def test_flip_and_shift_tta_averages_the_ten_views(small_digits, fast_params):
    X = small_digits[0][:30]
    clf = ConvNetClassifier(**fast_params).fit(*small_digits)
    net = clf.net_
    images = clf._to_tensor(validate_images(clf, X)[0])
    fill = -clf.mean_ / clf.std_

    def proba(view):
        return net.predict_proba(view).astype(np.float64)

    expected = 0.25 * (proba(images) + proba(images.flip(-1)))
    for rows, cols in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        shifted = shift_images(images, rows, cols, fill)
        expected += (proba(shifted) + proba(shifted.flip(-1))) / 16
    expected /= expected.sum(axis=1, keepdims=True)
    got = clf.set_params(tta="flip+shift").predict_proba(X)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert not np.allclose(got, clf.set_params(tta="flip").predict_proba(X))
    np.testing.assert_array_equal(
        clf.set_params(tta="flip").predict_proba(X),
        clf.set_params(tta=True).predict_proba(X),
    )
    features = clf.set_params(tta="flip+shift").transform(X)
    assert features.dtype == np.float32 and features.shape == (30, 32)


def test_unknown_tta_mode_is_refused(small_digits, fast_params):
    with pytest.raises(ValueError, match="tta"):
        ConvNetClassifier(**dict(fast_params, tta="rotate")).fit(*small_digits)
