"""The pruned search's table building, alone and beside a busy neighbour.

Usage::

    python benchmarks/bench_loaded.py [--repeat 3] [--busy N] [--json PATH]

For each metric, times ``BlockKNNClassifier(5, metric=m).fit(X_train,
y_train).kneighbors(X_test[:1])`` on all 60,000 training images: the first
search builds the bound tables (for euclidean and cosine the principal
directions of the rows: a 784 x 784 covariance and its eigenvectors), so this
is table building plus one query. Search reuse is off. Each time is the
median of ``--repeat`` runs, first with the machine otherwise idle, then with
``--busy`` neighbour processes (default: one per core) each running a
CPU-bound loop, as a user's other work would; the ratio is loaded / quiet.
A run against an earlier checkout: ``PYTHONPATH=<checkout> python ...``.
"""

import argparse
import multiprocessing
import os
import time

from _results import add_json_option, write_results
from _timing import median_time

METRICS = ("manhattan", "euclidean", "cosine")


def _busy(stop_at):
    x = 0
    while time.time() < stop_at:
        for i in range(100_000):
            x += i * i


def _time_tables(metric, X_train, y_train, X_test, repeat):
    from fmnist import BlockKNNClassifier

    def run():
        est = BlockKNNClassifier(5, metric=metric).fit(X_train, y_train)
        est.kneighbors(X_test[:1])

    run()  # compile (or load) the kernels first
    return median_time(run, repeat)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1)
    add_json_option(parser)
    args = parser.parse_args()
    os.environ["FMNIST_KNN_CACHE_MB"] = "0"  # every call searches

    import fmnist
    from fmnist.datasets import load_train_test

    X_train, X_test, y_train, _ = load_train_test()
    rows = []
    for metric in METRICS:
        quiet = _time_tables(metric, X_train, y_train, X_test, args.repeat)
        context = multiprocessing.get_context("spawn")
        neighbours = [
            context.Process(target=_busy, args=(time.time() + 600,))
            for _ in range(args.busy)
        ]
        for process in neighbours:
            process.start()
        try:
            time.sleep(1.0)  # the neighbours are running
            loaded = _time_tables(metric, X_train, y_train, X_test, args.repeat)
        finally:
            for process in neighbours:
                process.terminate()
                process.join()
        rows.append(
            {
                "metric": metric,
                "quiet_s": round(quiet, 3),
                "loaded_s": round(loaded, 3),
                "ratio": round(loaded / quiet, 2),
            }
        )
        print(
            f"{metric:<10} quiet {quiet:6.2f} s   beside {args.busy} busy "
            f"processes {loaded:6.2f} s   ratio {loaded / quiet:4.2f}",
            flush=True,
        )
    write_results(
        args.json,
        {"fmnist": os.path.dirname(fmnist.__file__), "busy": args.busy, "rows": rows},
    )


if __name__ == "__main__":
    main()
