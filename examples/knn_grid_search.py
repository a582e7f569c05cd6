"""
====================================
Tuning k-nearest neighbours with PCA
====================================

:class:`fmnist.BlockKNNClassifier` is a scikit-learn estimator, so it fits in a
:class:`~sklearn.pipeline.Pipeline` and can be tuned with
:class:`~sklearn.model_selection.GridSearchCV`. Here a PCA projection feeds the
classifier, and a cross-validated grid search on a training subset picks the
number of neighbours and the distance. The test set is used once, at the end.
"""

# %%
# A training subset
# -----------------
# Cross-validation refits the pipeline once per fold and grid point, so the
# search runs on a stratified subset of the training images.
import os

import matplotlib.pyplot as plt
import numpy as np
from _figures import save_and_show
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from fmnist import BlockKNNClassifier
from fmnist.datasets import load_train_test

FAST = os.environ.get("FMNIST_EXAMPLES_FAST", "") not in ("", "0")
n_search = 2_000 if FAST else 10_000

X_train, X_test, y_train, y_test = load_train_test()
X_search, _, y_search, _ = train_test_split(
    X_train, y_train, train_size=n_search, stratify=y_train, random_state=0
)
if FAST:
    X_test, y_test = X_test[:1_000], y_test[:1_000]
print(f"grid search on {X_search.shape[0]} training images")

# %%
# The pipeline and the grid
# -------------------------
# PCA keeps the 50 directions of largest variance (of 784 pixels); the
# classifier then searches in that space. ``weights="distance"`` lets closer
# neighbours count more.
pipe = Pipeline(
    [
        ("pca", PCA(n_components=50, random_state=0)),
        ("knn", BlockKNNClassifier(weights="distance")),
    ]
)
param_grid = {
    "knn__n_neighbors": [1, 3, 5, 7, 10, 15],
    "knn__metric": ["euclidean", "manhattan", "cosine"],
}
search = GridSearchCV(
    pipe,
    param_grid,
    cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    verbose=2,  # one line per fit, with its time: progress on the full grid
)
search.fit(X_search, y_search)
print(f"best parameters: {search.best_params_}")
print(f"best cross-validated accuracy: {search.best_score_:.4f}")

# %%
# Cross-validated accuracy over the grid
# --------------------------------------
# Each cell is the mean accuracy over the three folds.
ks = param_grid["knn__n_neighbors"]
metrics = param_grid["knn__metric"]
scores = np.empty((len(metrics), len(ks)))
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    scores[
        metrics.index(params["knn__metric"]), ks.index(params["knn__n_neighbors"])
    ] = score

fig, ax = plt.subplots(figsize=(7, 3))
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(len(ks)), labels=ks)
ax.set_yticks(range(len(metrics)), labels=metrics)
ax.set_xlabel("n_neighbors")
ax.set_ylabel("metric")
for i in range(len(metrics)):
    for j in range(len(ks)):
        best = scores[i, j] == scores.max()
        ax.text(
            j,
            i,
            f"{scores[i, j]:.3f}",
            ha="center",
            va="center",
            color="black" if best else "white",
            fontweight="bold" if best else "normal",
        )
fig.colorbar(image, ax=ax, label="mean CV accuracy")
ax.set_title("PCA(50) + BlockKNNClassifier, 3-fold CV")
fig.tight_layout()

# %%
# The test score
# --------------
# ``GridSearchCV`` refits the best pipeline on the whole search subset; it is
# scored once on the test images.
test_accuracy = search.score(X_test, y_test)
print(
    f"test accuracy of the best pipeline: {test_accuracy:.4f} "
    f"on {X_test.shape[0]} test images"
)
save_and_show("knn_grid_search")
