"""Time ConvNetClassifier.predict of the pretrained model, for comparing two versions.

Usage::

    PYTHONPATH=<checkout> python benchmarks/time_predict.py \\
        [--images 4000] [--repeats 3] [--threads 2] [--precision float32] \\
        [--json PATH]

Only the public API is used, so the same script times any checkout of fmnist
that ships the pretrained model: for a before/after comparison, run it
alternately in two checkouts (``git worktree add /tmp/fmnist-before
<commit>``), each with ``PYTHONPATH`` set to that checkout, on the same
machine. Predicts the first ``--images`` test images with flip averaging
(the default ``tta``) and prints one JSON line with the median images per
second of ``--repeats`` calls, after one warm-up call; ``--json PATH`` also
writes it, with the run's metadata, to a file.
"""

import argparse
import json
import statistics
import time

from _results import add_json_option, write_results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="float32")
    add_json_option(parser)
    args = parser.parse_args(argv)

    import fmnist
    from fmnist import load_pretrained_convnet
    from fmnist.datasets import load_train_test

    _, X_test, _, _ = load_train_test()
    X = X_test[: args.images]
    clf = load_pretrained_convnet(precision=args.precision, n_threads=args.threads)
    clf.predict(X[:256])  # warm-up
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        clf.predict(X)
        seconds.append(time.perf_counter() - start)
    out = {
        "fmnist": fmnist.__file__,
        "precision": clf.precision_,
        "threads": args.threads,
        "images_per_second": len(X) / statistics.median(seconds),
    }
    print(json.dumps(out))
    write_results(args.json, out, seed=None)  # nothing here is random


if __name__ == "__main__":
    main()
