"""
=====================================
From clothing to digits: MNIST
=====================================

Fashion-MNIST was designed as a drop-in replacement for the MNIST handwritten
digits: same image size, same split sizes, ten classes. The same estimators,
with the same settings, can therefore be fitted on both, which shows how much
harder the clothing images are.

``fmnist.datasets.load(dataset="mnist")`` fetches and verifies MNIST. When it
cannot be had (no copy on the machine and no network), the example says so in
one line and stops; nothing below is then computed. A file that is there but
wrong (a corrupt download, another dataset's file) is an error, not a reason to
stop quietly.
"""

# %%
# Both datasets
# -------------
# ``subset="all"`` returns the 60,000 training rows followed by the 10,000 test
# rows, for either dataset.
import os

import matplotlib.pyplot as plt
import numpy as np
from _figures import save_and_show

from fmnist import BlockKNNClassifier, ConvNetClassifier
from fmnist.datasets import DataNotFoundError, load

FAST = os.environ.get("FMNIST_EXAMPLES_FAST", "") not in ("", "0")
n_train, n_test = (3_000, 1_000) if FAST else (60_000, 10_000)


def official_split(bunch):
    X, y = bunch.data, bunch.target
    test = slice(60_000, 60_000 + n_test)
    return X[:n_train], X[test], y[:n_train], y[test]


datasets = {"Fashion-MNIST": official_split(load())}
try:
    datasets["MNIST"] = official_split(load(dataset="mnist"))
except DataNotFoundError as err:  # not here and no network; a bad file raises
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
    print(f"MNIST is not available here, so this example stops: {reason}")

# %%
# The same estimators on each
# ---------------------------
# The exact kNN with its Fashion-MNIST settings, and the convolutional network
# trained briefly (three epochs). A mirrored digit is not the same digit, so
# the network's flips (training augmentation and test-time mirroring) are
# switched off, for both datasets alike.
fast_params = {"batch_size": 64, "width": 8} if FAST else {}
estimators = {
    "BlockKNNClassifier (manhattan, k=5)": BlockKNNClassifier(metric="manhattan"),
    "ConvNetClassifier (3 epochs)": ConvNetClassifier(
        max_epochs=3,
        augment="none",
        tta=False,
        random_state=0,
        verbose=1,
        **fast_params,
    ),
}

scores = {}
if "MNIST" in datasets:
    for data_name, (X_train, X_test, y_train, y_test) in datasets.items():
        for model_name, estimator in estimators.items():
            accuracy = estimator.fit(X_train, y_train).score(X_test, y_test)
            scores[data_name, model_name] = accuracy
            print(f"{data_name:<14} {model_name:<38} {accuracy:.4f}")

# %%
# Accuracy on digits and on clothing
# ----------------------------------
# Both estimators lose several points on Fashion-MNIST: its classes overlap
# (shirts, T-shirts, pullovers and coats) in a way that digits rarely do.
if scores:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(estimators))
    for offset, data_name in zip((-0.2, 0.2), datasets):
        values = [scores[data_name, model_name] for model_name in estimators]
        bars = ax.bar(x + offset, values, width=0.4, label=data_name)
        ax.bar_label(bars, labels=[f"{v:.1%}" for v in values], padding=2)
    ax.set_xticks(x, labels=list(estimators))
    ax.set_ylim(0.5, 1.1)
    ax.set_ylabel("test accuracy")
    ax.legend(loc="upper center", ncols=2)
    ax.set_title("The same estimators on MNIST and Fashion-MNIST")
    fig.tight_layout()
    save_and_show("mnist_generalisation")
