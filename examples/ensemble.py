"""
=====================================
An ensemble of convolutional networks
=====================================

Networks trained from different random seeds make partly different mistakes,
so averaging their predicted probabilities is usually more accurate than the
average member, and often than the best one.
:class:`~sklearn.ensemble.VotingClassifier` with ``voting="soft"`` does this for
any scikit-learn classifiers, :class:`fmnist.ConvNetClassifier` included.

The members here train for a few epochs each, so that the script runs in a
reasonable time on a CPU (about 15 minutes on two cores in a single unrecorded
run); members trained with
the full recipe are stronger, and so is their ensemble. With
``FMNIST_EXAMPLES_FAST=1`` three narrower networks train for two epochs on
2,000 images.
"""

# %%
# Several seeds, one soft-voting ensemble
# ---------------------------------------
# ``VotingClassifier`` clones and fits each member; only ``random_state``
# differs between them (weight initialisation, batch order and augmentation).
import os
from time import perf_counter

import matplotlib.pyplot as plt
import numpy as np
from _figures import save_and_show
from sklearn.ensemble import VotingClassifier

from fmnist import ConvNetClassifier
from fmnist.datasets import load_train_test

FAST = os.environ.get("FMNIST_EXAMPLES_FAST", "") not in ("", "0")
n_members = 3 if FAST else 4
max_epochs = 2 if FAST else 4
fast_params = {"batch_size": 64, "width": 8} if FAST else {}

X_train, X_test, y_train, y_test = load_train_test()
if FAST:
    X_train, y_train = X_train[:2_000], y_train[:2_000]
    X_test, y_test = X_test[:1_000], y_test[:1_000]

ensemble = VotingClassifier(
    [
        (
            f"seed {seed}",
            ConvNetClassifier(
                max_epochs=max_epochs, random_state=seed, verbose=1, **fast_params
            ),
        )
        for seed in range(n_members)
    ],
    voting="soft",
    verbose=True,
)
start = perf_counter()
ensemble.fit(X_train, y_train)
print(
    f"{n_members} members, {max_epochs} epoch(s) each, "
    f"trained in {perf_counter() - start:.0f} s"
)

# %%
# Members and ensembles of growing size
# -------------------------------------
# The fitted members are in ``named_estimators_``. Averaging the probabilities
# of the first *m* members is exactly what a soft-voting ensemble of those *m*
# members predicts, so one fit gives every ensemble size.
names = list(ensemble.named_estimators_)
probas = [ensemble.named_estimators_[name].predict_proba(X_test) for name in names]
classes = ensemble.classes_
member_accuracy = [np.mean(classes[p.argmax(axis=1)] == y_test) for p in probas]
ensemble_accuracy = [
    np.mean(classes[np.mean(probas[:m], axis=0).argmax(axis=1)] == y_test)
    for m in range(1, n_members + 1)
]
assert np.isclose(ensemble_accuracy[-1], ensemble.score(X_test, y_test))
for name, accuracy in zip(names, member_accuracy):
    print(f"member {name}: {accuracy:.4f}")
for m, accuracy in enumerate(ensemble_accuracy, start=1):
    print(f"ensemble of {m}: {accuracy:.4f}")

# %%
# The ensemble against its members
# --------------------------------
fig, ax = plt.subplots(figsize=(8, 3.5))
labels = [f"member\n{name}" for name in names]
labels += [f"ensemble\nof {m}" for m in range(2, n_members + 1)]
values = member_accuracy + ensemble_accuracy[1:]
colors = ["tab:gray"] * n_members + ["tab:blue"] * (n_members - 1)
bars = ax.bar(labels, values, color=colors)
ax.bar_label(bars, labels=[f"{v:.2%}" for v in values], padding=2, fontsize=8)
low = min(values)
ax.set_ylim(max(0.0, low - 0.05), min(1.0, max(values) + 0.02))
ax.set_ylabel("test accuracy")
ax.set_title("Single networks (gray) and soft-voting ensembles (blue)")
fig.tight_layout()
save_and_show("ensemble")
