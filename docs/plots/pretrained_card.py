"""Model card figures of the pretrained ConvNet, from its benchmark results.

Reads ``benchmarks/results/pretrained.json`` (``benchmarks/bench_pretrained.py``):
the confusion matrix on the 10,000 test images and the reliability diagram.
Nothing is measured here.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

# The plot directive runs this script in its own folder, docs/plots.
RESULTS = Path("../../benchmarks/results/pretrained.json")
results = json.loads(RESULTS.read_text())
names = [row["class"] for row in results["per_class"]]
matrix = np.array(results["confusion_matrix"])

fig, (ax, ax_rel) = plt.subplots(
    1, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [1.35, 1]}
)
shown = np.where(np.eye(10, dtype=bool), np.nan, matrix)
image = ax.imshow(shown, cmap="Reds")
for t in range(10):
    for p in range(10):
        dark = t != p and matrix[t, p] > 0.6 * np.nanmax(shown)
        color = "#1f4e79" if t == p else ("white" if dark else "black")
        ax.text(p, t, matrix[t, p], ha="center", va="center", fontsize=7,
                color=color)
ax.set_xticks(range(10), names, rotation=60, ha="right", fontsize=8)
ax.set_yticks(range(10), names, fontsize=8)
ax.set_xlabel("predicted")
ax.set_ylabel("true")
ax.set_title("Confusion matrix (errors shaded)")
fig.colorbar(image, ax=ax, fraction=0.04)

bins = results["reliability"]
confidence = [b["mean_confidence"] for b in bins]
accuracy = [b["accuracy"] for b in bins]
counts = np.array([b["count"] for b in bins])
ax_rel.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
ax_rel.scatter(confidence, accuracy, s=20 + 200 * counts / counts.max(),
               color="#1f77b4", zorder=3, label="bins (area ~ images)")
ax_rel.plot(confidence, accuracy, color="#1f77b4", lw=1)
ax_rel.set_xlim(0, 1.02)
ax_rel.set_ylim(0, 1.02)
ax_rel.set_xlabel("mean top probability in the bin")
ax_rel.set_ylabel("accuracy in the bin")
ax_rel.set_title(
    f"Reliability (ECE {100 * results['expected_calibration_error']:.2f}%)"
)
ax_rel.legend(loc="upper left", fontsize=8)
fig.tight_layout()
