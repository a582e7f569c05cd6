"""Score ConvNet recipe variants on a split of the training data.

Fits ``ConvNetClassifier`` (with the given parameters) on the first 55,000
Fashion-MNIST training images and scores the last 5,000; the test set plays
no part. Alongside the trained weights it tracks moving averages of the
weights (decays 0.995, 0.998, 0.999, as ``ema_decay`` does) and scores each
without test-time augmentation (``plain``), with flips (``flip``, what
``tta=True`` does) and with flips and one-pixel shifts (``flip+shift1``, ten
passes). Prints the scores and writes them to ``--out``.

Usage::

    python benchmarks/tune_convnet.py --name A --param max_epochs=24 \\
        --param ema_decay=null
    python benchmarks/tune_convnet.py --name B --param max_epochs=24 \\
        --param ema_decay=null --param label_smoothing=0.2
"""

import argparse
import json
import time

import numpy as np
import torch
from _results import write_results
from skorch.callbacks import Callback


class MultiEMA(Callback):
    def __init__(self, decays=(0.995, 0.998, 0.999)):
        self.decays = decays

    def initialize(self):
        return self

    def on_train_begin(self, net, **kw):
        sd = net.module_.state_dict()
        self.emas_ = {
            d: {k: v.detach().clone().float() for k, v in sd.items()}
            for d in self.decays
        }
        self.n_ = 0

    def on_batch_end(self, net, training=False, **kw):
        if not training:
            return
        self.n_ += 1
        sd = net.module_.state_dict()
        for d, ema in self.emas_.items():
            dd = min(d, (1 + self.n_) / (10 + self.n_))
            for k, v in sd.items():
                if v.dtype.is_floating_point:
                    ema[k].lerp_(v.detach(), 1 - dd)
                else:
                    ema[k].copy_(v)

    def on_epoch_end(self, net, **kw):
        self.raw_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}


def shift(x, dy, dx, fill):
    out = torch.full_like(x, fill)
    h, w = x.shape[-2:]
    if dy >= 0:
        ys, yd = slice(0, h - dy), slice(dy, h)
    else:
        ys, yd = slice(-dy, h), slice(0, h + dy)
    if dx >= 0:
        xs, xd = slice(0, w - dx), slice(dx, w)
    else:
        xs, xd = slice(-dx, w), slice(0, w + dx)
    out[..., yd, xd] = x[..., ys, xs]
    return out


def scores(clf, Xv, yv):
    from fmnist.convnet._input import validate_images

    images, _ = validate_images(clf, Xv)
    x = clf._to_tensor(images)
    fill = -clf.mean_ / clf.std_
    net = clf.net_

    def p(t):
        return net.predict_proba(t).astype(np.float64)

    p0 = p(x)
    pf = p(x.flip(-1))
    res = {"plain": p0, "flip": p0 + pf}
    tr = 0
    for dy, dx in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
        xs = shift(x, dy, dx, fill)
        tr = tr + p(xs) + p(xs.flip(-1))
    res["flip+shift1"] = 2 * (p0 + pf) + tr * 0.5
    return {k: float(np.mean(v.argmax(1) == yv)) for k, v in res.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--n-train", type=int, default=55000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON file (default: NAME.json)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from fmnist import ConvNetClassifier
    from fmnist.datasets import load_train_test

    X, _, y, _ = load_train_test()
    Xt, yt, Xv, yv = X[: a.n_train], y[: a.n_train], X[55000:], y[55000:]
    params = {}
    for item in a.param:
        k, v = item.split("=", 1)
        params[k] = json.loads(v)
    ema = MultiEMA()
    clf = ConvNetClassifier(
        random_state=a.seed, n_threads=a.threads, verbose=1,
        callbacks=[("multi_ema", ema)], **params,
    )
    t = time.perf_counter()
    clf.fit(Xt, yt)
    fit_s = time.perf_counter() - t
    cb = dict(clf.net_.callbacks_)["multi_ema"]
    out = {
        "name": a.name,
        "params": params,
        "fit_s": fit_s,
        "epoch_s": float(np.median([r["dur"] for r in clf.net_.history])),
    }
    final = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    out["final"] = scores(clf, Xv, yv)
    for d, e in cb.emas_.items():
        clf.net_.module_.load_state_dict(e)
        out[f"ema{d}"] = scores(clf, Xv, yv)
    clf.net_.module_.load_state_dict(final)
    print(json.dumps(out, indent=1))
    write_results(a.out or f"{a.name}.json", out, seed=a.seed)


main()
