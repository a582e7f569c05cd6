"""Seconds per training epoch of the default ConvNet on the first N training images.

A short fit (batches of 256, full augmentation, as in the full-data recipe)
whose median epoch time, scaled to 60,000 images, estimates the epoch time of
the default fit on this CPU. Printed as one JSON line, with the instruction
set torch dispatches to (``cpu_capability``), so that runs with
``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`` show an AVX2-only CPU;
``--json PATH`` also writes it, with the run's metadata, to a file.

Usage::

    python benchmarks/bench_convnet_epoch.py --threads 1 --n-train 10000 --epochs 2
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 \\
        python benchmarks/bench_convnet_epoch.py --precision float32
    python benchmarks/bench_convnet_epoch.py \\
        --param 'module_params={"pool_before_norm": false}'  # the old layout
"""

import argparse
import json
import time

import numpy as np
import torch
from _results import add_json_option, write_results

ap = argparse.ArgumentParser()
ap.add_argument("--n-train", type=int, default=20000)
ap.add_argument("--epochs", type=int, default=2)
ap.add_argument("--precision", default="auto")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                help="extra ConvNetClassifier parameter, e.g. "
                     "'module_params={\"pool_before_norm\": false}'")
add_json_option(ap)
a = ap.parse_args()
extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in a.param)}
torch.set_num_threads(a.threads)
from fmnist import ConvNetClassifier  # noqa: E402
from fmnist.datasets import load_train_test  # noqa: E402

X, _, y, _ = load_train_test()
clf = ConvNetClassifier(max_epochs=a.epochs, batch_size=256, augment="full",
                        precision=a.precision, n_threads=a.threads, random_state=0,
                        verbose=1, **extra)
t = time.perf_counter()
clf.fit(X[:a.n_train], y[:a.n_train])
fit = time.perf_counter() - t
durs = [r["dur"] for r in clf.net_.history]
out = {"cpu_capability": torch.backends.cpu.get_cpu_capability(),
       "precision": clf.precision_,
       "n_train": a.n_train, "params": extra, "epoch_s": durs, "fit_s": fit,
       "s_per_60k_epoch": float(np.median(durs)) * 60000 / a.n_train}
print(json.dumps(out))
write_results(a.json, out, seed=0)
