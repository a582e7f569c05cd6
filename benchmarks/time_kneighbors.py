"""Time BlockKNNClassifier.kneighbors alone, for comparing two versions.

Usage::

    PYTHONPATH=<checkout> python benchmarks/time_kneighbors.py \\
        [--queries 10000] [--metrics manhattan euclidean cosine] [--repeats 3]
        [--algorithm brute] [--float32] [--json PATH]

Only the public API is used, so the same script times any checkout of fmnist:
for a before/after comparison, run it alternately in two checkouts (for
example ``git worktree add /tmp/fmnist-before <commit>``), each with
``PYTHONPATH`` set to that checkout, on the same machine. Fit on the 60,000
training images, then the median of ``--repeats`` calls of
``kneighbors(X_test[:queries])`` with k=5, search reuse off where the version
has it. ``--algorithm`` is passed on only when given (versions before the
pruned search have no such parameter: compare their engine with
``--algorithm brute``). Prints one JSON line: metric -> [median s, fastest s];
``--json PATH`` also writes it, with the run's metadata, to a file.
"""

import argparse
import json
import statistics
import time

import numpy as np
from _results import add_json_option, write_results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10000)
    parser.add_argument(
        "--metrics", nargs="+", default=["manhattan", "euclidean", "cosine"]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--algorithm", default=None)
    parser.add_argument(
        "--float32", action="store_true", help="search the images / 255 as float32"
    )
    add_json_option(parser)
    args = parser.parse_args(argv)

    import fmnist
    from fmnist import BlockKNNClassifier
    from fmnist.datasets import load_train_test

    try:
        from fmnist.neighbors import search_cache
    except ImportError:  # versions without search reuse
        pass
    else:
        search_cache.max_bytes = 0
    X_train, X_test, y_train, _ = load_train_test(download_if_missing=False)
    queries = np.ascontiguousarray(X_test[: args.queries])
    if args.float32:
        X_train = X_train / np.float32(255)
        queries = queries / np.float32(255)
    out = {"fmnist": fmnist.__file__}
    for metric in args.metrics:
        extra = {"algorithm": args.algorithm} if args.algorithm else {}
        est = BlockKNNClassifier(5, metric=metric, n_jobs=args.n_jobs, **extra)
        est.fit(X_train, y_train).kneighbors(queries[:64])  # compile or load
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            est.kneighbors(queries)
            times.append(time.perf_counter() - start)
        out[metric] = [round(statistics.median(times), 3), round(min(times), 3)]
    print(json.dumps(out))
    write_results(args.json, out, seed=None)  # nothing in the search is random


if __name__ == "__main__":
    main()
