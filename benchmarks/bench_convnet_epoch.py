"""Seconds per training epoch of the default ConvNet on the first N training images."""
import argparse, json, time
import numpy as np, torch
ap = argparse.ArgumentParser()
ap.add_argument("--n-train", type=int, default=20000)
ap.add_argument("--epochs", type=int, default=2)
ap.add_argument("--precision", default="auto")
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
from fmnist import ConvNetClassifier
from fmnist.datasets import load_train_test
X, _, y, _ = load_train_test()
clf = ConvNetClassifier(max_epochs=a.epochs, batch_size=256, augment="full",
                        precision=a.precision, n_threads=a.threads, random_state=0, verbose=1)
t = time.perf_counter(); clf.fit(X[:a.n_train], y[:a.n_train]); fit = time.perf_counter() - t
durs = [r["dur"] for r in clf.net_.history]
out = {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "precision": clf.precision_,
       "n_train": a.n_train, "epoch_s": durs, "fit_s": fit,
       "s_per_60k_epoch": float(np.median(durs)) * 60000 / a.n_train}
print(json.dumps(out))
