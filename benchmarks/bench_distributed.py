"""Time the sharded exact kNN search on Fashion-MNIST with 1 and 2 dask workers.

Usage::

    flock /tmp/fmnist-heavy.lock python benchmarks/bench_distributed.py \\
        [--workers 1 2] [--metric manhattan] [--n-neighbors 5] [--repeat 3] \\
        [--n-train 60000] [--n-query 10000] [--json out.json]

Workload: the official split (60,000 training and 10,000 test images, uint8,
784 pixels), ``n_neighbors=5``, manhattan distance by default.

For each worker count a ``LocalCluster`` is started on 127.0.0.1 with one
thread per worker process and ``fmnist.distributed.worker_env(1)`` (numba,
torch and BLAS capped at one thread), the kernels are compiled (or loaded from
numba's cache) on every worker, the training set is scattered once with
``scatter_shards`` (one shard per worker), and ``sharded_kneighbors`` is timed
on the shards (median of ``--repeat`` runs; scatter time reported apart). Every
result is checked to be identical to the single-process
``BlockKNNClassifier.kneighbors``, which is also timed with 1 and 2 numba
threads as the in-process peer. Memory is the resident set size of each
worker process after warm-up (imports and compiled kernels) and after the
searches (plus its shard, the queries and the results).
"""

import argparse
import time

import numpy as np
from _results import add_json_option, write_results
from _timing import median_time


def _rss_mib():
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _warm_worker(metric):
    import fmnist

    fmnist.warmup(dtypes=("uint8",), metrics=(metric,))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--metric", default="manhattan")
    parser.add_argument("--n-neighbors", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-query", type=int, default=10000)
    add_json_option(parser)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from fmnist import BlockKNNClassifier, warmup
    from fmnist.datasets import load_train_test
    from fmnist.distributed import scatter_shards, sharded_kneighbors, worker_env

    X_train, X_test, y_train, _ = load_train_test(download_if_missing=False)
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    X_test = X_test[: args.n_query]
    k, metric = args.n_neighbors, args.metric
    print(
        f"workload: {X_train.shape[0]} x {X_test.shape[0]} {X_train.dtype} "
        f"images, {X_train.shape[1]} pixels, metric={metric}, k={k}, "
        f"median of {args.repeat}"
    )

    warmup(dtypes=("uint8",), metrics=(metric,))
    clf = BlockKNNClassifier(k, metric=metric).fit(X_train, y_train)
    rows, reference = [], None
    for n_jobs in (1, 2):
        clf.set_params(n_jobs=n_jobs)
        seconds, result = median_time(lambda: clf.kneighbors(X_test), args.repeat)
        reference = result if reference is None else reference
        np.testing.assert_array_equal(result[1], reference[1])
        rows.append(
            {
                "configuration": f"in-process BlockKNNClassifier, n_jobs={n_jobs}",
                "seconds": seconds,
                "note": "",
            }
        )

    for n_workers in args.workers:
        with (
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
                env=worker_env(1),
            ) as cluster,
            Client(cluster) as client,
        ):
            client.wait_for_workers(n_workers)
            client.run(_warm_worker, metric)
            rss_before = sorted(client.run(_rss_mib).values())
            start = time.perf_counter()
            shards = scatter_shards(client, X_train)
            scatter_seconds = time.perf_counter() - start
            seconds, (dist, ind) = median_time(
                lambda: sharded_kneighbors(
                    client, shards, X_test, k, metric=metric, timeout=3600
                ),
                args.repeat,
            )
            np.testing.assert_array_equal(ind, reference[1])
            np.testing.assert_array_equal(dist, reference[0])
            rss = sorted(client.run(_rss_mib).values())
            shard_mib = X_train.nbytes / shards.n_shards / 2**20
            note = (
                f"scatter {scatter_seconds:.2f} s; shard {shard_mib:.0f} MiB; "
                "worker RSS before/after "
                f"{', '.join(f'{a:.0f}/{b:.0f}' for a, b in zip(rss_before, rss))} MiB"
            )
            rows.append(
                {
                    "configuration": (
                        f"sharded_kneighbors, {n_workers} worker(s) x 1 thread"
                    ),
                    "seconds": seconds,
                    "scatter_seconds": scatter_seconds,
                    "worker_rss_mb_before": rss_before,
                    "worker_rss_mb_after": rss,
                    "note": note,
                }
            )
            shards.release()

    print("identical to the in-process result: yes")
    width = max(len(row["configuration"]) for row in rows)
    for row in rows:
        print(
            f"{row['configuration']:<{width}}  {row['seconds']:8.2f} s  {row['note']}"
        )
    if args.json:
        import distributed
        import numba

        info = {
            "benchmark": "sharded exact kNN search on dask",
            "train": int(X_train.shape[0]),
            "queries": int(X_test.shape[0]),
            "metric": metric,
            "n_neighbors": k,
            "repeats": args.repeat,
            "identical_to_in_process": True,
            "versions": {
                "distributed": distributed.__version__,
                "numba": numba.__version__,
            },
        }
        # nothing in the search is random
        write_results(args.json, {"info": info, "rows": rows}, info_key="info")


if __name__ == "__main__":
    main()
