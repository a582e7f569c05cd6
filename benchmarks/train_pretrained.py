"""Train the pretrained ConvNet that ships with fmnist, from scratch.

Step 1 fits ``ConvNetClassifier`` with the recipe of the shipped model
(``width=32, max_epochs=40``, label smoothing 0.1, seed 0) on the 60,000
training images and saves its float32 weights. Step 2 stores them
in 16-bit floats as the package's weights file, checks that the test accuracy
of the 16-bit model is within 0.05 points of the float32 one, and prints the
file's SHA-256 (to be recorded in ``fmnist/convnet/_pretrained.py``).

Usage::

    python benchmarks/train_pretrained.py --out build/pretrained
    # or step 2 alone, from float32 weights saved by step 1:
    python benchmarks/train_pretrained.py --out build/pretrained \\
        --from-weights build/pretrained/float32.pt

The run's record (command, machine, seed, fit time, accuracies, digest) is
written to ``<out>/record.json``.
"""

import argparse
import json
import os
import time

import numpy as np
from _results import write_results

from fmnist.convnet._pretrained import PRETRAINED

# The recipe of the shipped model: the default recipe, wider and longer.
RECIPE = PRETRAINED["params"]


def train(out, threads):
    """Fit the recipe on all training images; return (estimator, record)."""
    import torch

    from fmnist import ConvNetClassifier
    from fmnist.datasets import load_train_test

    torch.set_num_threads(threads)
    X_train, _, y_train, _ = load_train_test()
    clf = ConvNetClassifier(**RECIPE, n_threads=threads, verbose=1)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    clf.save_weights(os.path.join(out, "float32.pt"))
    return clf, {
        "fit_seconds": seconds,
        "seconds_per_epoch": [row["dur"] for row in clf.net_.history],
        "precision": clf.precision_,
        "threads": threads,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--from-weights", metavar="PATH",
                        help="skip training: float32 weights saved by step 1")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    record_path = os.path.join(args.out, "record.json")
    record = {"recipe": RECIPE}
    if os.path.exists(record_path):
        with open(record_path) as f:
            record.update(json.load(f))
    if args.from_weights is None:
        _, fit_record = train(args.out, args.threads)
        record.update(fit_record)
        record.pop("train_run", None)  # an earlier run's, from record.json
        record = write_results(
            record_path, record, seed=RECIPE["random_state"], info_key="train_run"
        )
        args.from_weights = os.path.join(args.out, "float32.pt")
    package(args.from_weights, args.out, record, record_path)


def package(weights, out, record, record_path):
    """Write the 16-bit weights file, check it, print its digest."""
    from fmnist import ConvNetClassifier
    from fmnist.convnet._pretrained import write_compact_weights
    from fmnist.datasets import load_train_test
    from fmnist.datasets._cache import sha256_file

    _, X_test, _, y_test = load_train_test()
    full = ConvNetClassifier(width=RECIPE["width"]).load_weights(weights)
    compact_path = os.path.join(out, "convnet_w32.pt")
    write_compact_weights(weights, compact_path)
    compact = ConvNetClassifier(width=RECIPE["width"]).load_weights(compact_path)
    accuracy = {
        "float32": float(np.mean(full.predict(X_test) == y_test)),
        "float16": float(np.mean(compact.predict(X_test) == y_test)),
    }
    digest = sha256_file(compact_path)
    record.update(
        test_accuracy=accuracy,
        sha256=digest,
        size_bytes=os.path.getsize(compact_path),
    )
    record.pop("package_run", None)  # an earlier run's, from record.json
    record = write_results(
        record_path, record, seed=RECIPE["random_state"], info_key="package_run"
    )
    print(json.dumps(accuracy))
    print(f"{compact_path}: {record['size_bytes']} bytes, sha256 {digest}")
    if abs(accuracy["float32"] - accuracy["float16"]) > 0.0005:
        raise SystemExit(
            "16-bit weights change the test accuracy by more than 0.05 points"
        )


if __name__ == "__main__":
    main()
