"""Time the exact kNN search engine against sklearn brute force and faiss.

Usage::

    python benchmarks/bench_knn.py [--queries 10000] [--repeats 3]
        [--sklearn-queries 1000] [--metrics manhattan euclidean cosine]
        [--json out.json] [--markdown out.md]

Workload: the 60,000 Fashion-MNIST training images (uint8, 784 features) as
the index, the first ``--queries`` test images as queries, ``k = 5``. fmnist
is timed through the public path, ``BlockKNNClassifier(5, metric=...,
algorithm=...).fit(X_train, y_train).kneighbors(X_test)`` (the
``kneighbors`` call; ``fit`` only stores the data), searching the uint8
pixels directly, with ``algorithm="auto"`` (the default, whose choice is
recorded) and ``"brute"``. The bound tables of the pruned search are built at
the first search and timed apart. Small batches (1, 16 and 256 queries, the
median of ``--batch-repeats`` calls on different queries) are timed for both
algorithms with search reuse at its default, as a user calls them (the large
searches with reuse off, so that every repetition searches). The SIMD code
path (``NUMBA_CPU_NAME`` and the tile widths) is recorded with the results,
and so is each brute-force search's speed in byte pairs per cycle per core
against the arithmetic bound of 64 (one 64-byte ``vpsadbw`` or ``vpdpbusd``
per cycle), at the clock measured by a chain of dependent adds
(``_clock.py``). To time another path, set both ``NUMBA_CPU_NAME`` and
``NUMBA_CPU_FEATURES`` (numba keeps the host's features otherwise), e.g. for
AVX2: ``NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES=+sse,+sse2,+sse3,
+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+sahf,+avx,+avx2,+fma,+bmi,+bmi2,+lzcnt,
+movbe,+f16c`` (one string, no spaces).
The same search on the images scaled to ``[0, 1]`` (``X / 255``, float32,
the call path of a user who normalised the pixels) is timed after the peers
(with ``algorithm="auto"`` and ``"brute"``; brute force on
``--sklearn-queries`` queries, scaled). Its ratio column is its seconds
over those of the uint8 search.
Peers, in the same process on the same data, each given float32 as they
expect:

* ``sklearn.neighbors.KNeighborsClassifier(algorithm="brute", n_jobs=-1)``,
  timed on the first ``--sklearn-queries`` queries only and scaled linearly to
  ``--queries`` (its manhattan takes minutes for the full set);
  sklearn's ``working_memory`` is set to ``--sklearn-working-memory`` MiB;
* ``faiss.IndexFlatL2`` (exact) for euclidean and ``faiss.IndexFlatIP`` on
  normalised rows for cosine, when faiss is installed.

Seconds are the median of ``--repeats`` runs (peers scaled from a subset are
run once); ratios are peer seconds over fmnist seconds, so above 1 means
fmnist is faster. Accuracy is the majority vote of the 5 neighbours (ties to
the smallest label) on the queries each engine ran. Peak RSS is
``resource.getrusage`` of this process after fmnist's runs and at the end.
First-call latency (the first fit and search of a small problem, which
compiles or loads the numba kernels, and before it the imports) is measured in
fresh subprocesses with an empty and then a warm ``NUMBA_CACHE_DIR``. The
machine is shared: compare ratios, not absolute seconds.
"""

import argparse
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial

import numpy as np
from _results import add_json_option, with_run_info, write_results
from _timing import median_time

K = 5
_IDX = "/usr/share/datasets/fashion-mnist"


def _load():
    try:
        from fmnist.datasets import load_train_test

        return load_train_test(download_if_missing=False)
    except Exception:  # the Debian files, read directly

        def read(name, offset):
            with gzip.open(os.path.join(_IDX, name)) as f:
                return np.frombuffer(f.read(), np.uint8, offset=offset)

        return (
            read("train-images-idx3-ubyte.gz", 16).reshape(-1, 784),
            read("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784),
            read("train-labels-idx1-ubyte.gz", 8).astype(np.int64),
            read("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64),
        )


def _warm(est, X):
    """Compile or load the kernels and build the tables before timing: a
    search of 64 queries (which splits the training rows over the threads),
    one of more than ``SPLIT_TRAINING_MAX_QUERIES`` (which splits the
    queries, another kernel) and one as large as the panel tiles of brute
    force need (packing the panels)."""
    from fmnist.neighbors._brute._dispatch import PANELS, SPLIT_TRAINING_MAX_QUERIES

    est.kneighbors(X[:64])
    est.kneighbors(X[: SPLIT_TRAINING_MAX_QUERIES + 64])
    est.kneighbors(X[: PANELS["min_queries"]])


def _vote(labels):
    """Majority label of each row; ties go to the smallest label."""
    n_classes = int(labels.max()) + 1
    counts = np.zeros((labels.shape[0], n_classes), dtype=np.int64)
    for col in labels.T:
        counts[np.arange(labels.shape[0]), col] += 1
    return counts.argmax(axis=1)


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_LATENCY = """
import time
from functools import partial
start = time.perf_counter()
import numpy as np
from fmnist import BlockKNNClassifier
imported = time.perf_counter()
X = np.arange(64 * 784, dtype=np.int64).reshape(64, 784).astype(np.uint8)
BlockKNNClassifier(5, metric={metric!r}).fit(X, np.arange(64) % 10).kneighbors(X)
print(imported - start, time.perf_counter() - imported)
"""


def _simd_paths():
    """The SIMD code the uint8 tiles use on numba's target machine."""
    from fmnist.neighbors._kernels._isa import host_level

    level = host_level()
    return {
        "numba_cpu_name": os.environ.get("NUMBA_CPU_NAME", "host"),
        "level": level.name,
        "psadbw_bytes": list(level.sad_widths),
        "dot_bytes": list(level.dot_widths),
        "dot_instruction": level.dot,
    }


#: Byte pairs one core can compare per cycle: one 64-byte ``vpsadbw`` or
#: ``vpdpbusd`` per cycle (or two of 32 bytes).
BOUND_PAIRS_PER_CYCLE = 64


def _arithmetic_bound(brute, n_q, n_train, n_features):
    """Byte pairs per cycle per core of each brute-force search, and their
    fraction of :data:`BOUND_PAIRS_PER_CYCLE`, at the clock measured here
    (``_clock.py``) while nothing else of this script runs."""
    import numba
    from _clock import cycles_per_second

    clock = cycles_per_second()
    threads = numba.get_num_threads()
    out = {
        "clock_ghz": None if clock is None else round(clock / 1e9, 3),
        "bound_pairs_per_cycle_per_core": BOUND_PAIRS_PER_CYCLE,
        "threads": threads,
        "brute": {},
    }
    pairs = n_q * n_train * n_features
    for metric, seconds in brute.items():
        per_core = pairs / seconds / threads
        row = {"byte_pairs_per_second_per_core": per_core}
        if clock is not None:
            per_cycle = per_core / clock
            row["byte_pairs_per_cycle_per_core"] = round(per_cycle, 2)
            row["fraction_of_bound"] = round(per_cycle / BOUND_PAIRS_PER_CYCLE, 3)
        out["brute"][metric] = row
    return out


def _first_call_latency(metric):
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = []
        for _ in range(2):  # cold, then warm
            proc = subprocess.run(
                [sys.executable, "-c", _LATENCY.format(metric=metric)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            imports, call = map(float, proc.stdout.split()[-2:])
            out.append({"imports": imports, "first_call": call})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sklearn-queries", type=int, default=1000)
    parser.add_argument(
        "--metrics", nargs="+", default=["manhattan", "euclidean", "cosine"]
    )
    parser.add_argument(
        "--sklearn-working-memory",
        type=int,
        default=32,
        help="MiB for sklearn's distance chunks (its default, 1024 MiB, alone "
        "takes the process past 1 GB)",
    )
    parser.add_argument("--batch-repeats", type=int, default=50)
    parser.add_argument("--no-latency", action="store_true")
    add_json_option(parser)
    parser.add_argument("--markdown", default=None, help="write a Markdown table")
    args = parser.parse_args(argv)

    from fmnist import BlockKNNClassifier
    from fmnist.neighbors import search_cache

    default_cache_bytes = search_cache.max_bytes
    search_cache.max_bytes = 0  # time every search, never a reused result
    X_train, X_test, y_train, y_test = _load()
    X_train = np.ascontiguousarray(X_train)
    X_test = np.ascontiguousarray(X_test[: args.queries])
    y_test = y_test[: args.queries]
    (n_q, n_features), n_train = X_test.shape, X_train.shape[0]
    n_sub = min(args.sklearn_queries, n_q)
    rows = []

    def add(metric, engine, queries, seconds, labels, note="", ratio_to=None):
        acc = float(np.mean(_vote(labels) == y_test[: labels.shape[0]]))
        rows.append(
            {
                "metric": metric,
                "engine": engine,
                "queries": queries,
                "seconds": seconds,
                "ratio": None,
                "accuracy": acc,
                "accuracy_queries": int(labels.shape[0]),
                "note": note,
            }
        )

    from fmnist.neighbors._pruned import _dispatch as _pruning

    tables_seconds = {}
    families = {"manhattan": "l1", "euclidean": "l2", "cosine": "cosine"}
    for name, family in families.items():
        start = time.perf_counter()
        _pruning.bound_tables(X_train, family)
        tables_seconds[name] = round(time.perf_counter() - start, 3)

    ours = {}
    brute = {}
    batches = []
    for metric in args.metrics:
        for algorithm in ("auto", "brute"):
            est = BlockKNNClassifier(K, metric=metric, algorithm=algorithm)
            est.fit(X_train, y_train)
            _warm(est, X_test)
            seconds, (_, ind) = median_time(
                partial(est.kneighbors, X_test), args.repeats
            )
            spec = est.search_index().spec
            chosen = algorithm
            if algorithm == "auto":
                ours[metric] = seconds
                pruned = _pruning.applies(spec, X_test, X_train)
                chosen = f"auto: {'pruned' if pruned else 'brute'}"
            engine = f"BlockKNNClassifier.kneighbors (uint8, {chosen})"
            add(metric, engine, n_q, seconds, y_train[ind])
            if algorithm == "brute":
                brute[metric] = seconds
            # Small batches as a user runs them: search reuse at its default
            # (different queries each call, so nothing is reused).
            search_cache.max_bytes = default_cache_bytes
            for size in (1, 16, 256):
                times = []
                for r in range(args.batch_repeats if size < 256 else 5):
                    first = (r * size) % max(1, n_q - size)
                    queries = X_test[first : first + size]
                    start = time.perf_counter()
                    est.kneighbors(queries)
                    times.append(time.perf_counter() - start)
                pruned = _pruning.applies(spec, X_test[:size], X_train)
                batches.append(
                    {
                        "metric": metric,
                        "algorithm": algorithm,
                        "pruned": bool(pruned),
                        "queries": size,
                        "median_ms": 1e3 * float(np.median(times)),
                        "calls": len(times),
                    }
                )
            search_cache.max_bytes = 0
            search_cache.clear()
            del est
    rss_ours = _peak_rss_mb()

    import sklearn
    from sklearn.neighbors import KNeighborsClassifier

    Xtr32, Xte32 = X_train.astype(np.float32), X_test.astype(np.float32)
    X_train = X_test = None  # the peers only need float32
    for metric in args.metrics:
        clf = KNeighborsClassifier(K, algorithm="brute", n_jobs=-1, metric=metric)
        clf.fit(Xtr32, y_train)
        start = time.perf_counter()
        with sklearn.config_context(working_memory=args.sklearn_working_memory):
            ind = clf.kneighbors(Xte32[:n_sub], return_distance=False)
        seconds = (time.perf_counter() - start) * n_q / n_sub
        note = (
            f"timed on {n_sub} queries, scaled x{n_q / n_sub:g}" if n_sub < n_q else ""
        )
        add(metric, "sklearn brute (float32)", n_q, seconds, y_train[ind], note)
        del clf

    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        for metric in args.metrics:
            if metric == "euclidean":
                index = faiss.IndexFlatL2(Xtr32.shape[1])
                queries = Xte32
                index.add(Xtr32)
            elif metric == "cosine":
                index = faiss.IndexFlatIP(Xtr32.shape[1])
                for start in range(0, Xtr32.shape[0], 10000):  # bounded copies
                    chunk = Xtr32[start : start + 10000].copy()
                    faiss.normalize_L2(chunk)
                    index.add(chunk)
                queries = Xte32.copy()
                faiss.normalize_L2(queries)
            else:
                continue
            seconds, (_, ind) = median_time(
                lambda: index.search(queries, K), args.repeats
            )
            name = "faiss IndexFlatL2" if metric == "euclidean" else "faiss FlatIP"
            add(metric, f"{name} (float32)", n_q, seconds, y_train[ind])
            del index, queries

    # The same images scaled to [0, 1] as float32 (X / 255, in place of the
    # peers' copy): the call path of a user who normalised the pixels.
    np.divide(Xtr32, np.float32(255), out=Xtr32)
    np.divide(Xte32, np.float32(255), out=Xte32)
    scaled_seconds = {}
    for metric in args.metrics:
        for algorithm in ("auto", "brute"):
            est = BlockKNNClassifier(K, metric=metric, algorithm=algorithm)
            est.fit(Xtr32, y_train)
            start = time.perf_counter()
            _warm(est, Xte32)
            first = time.perf_counter() - start
            pruned = _pruning.applies(est.search_index().spec, Xte32, Xtr32)
            # Brute force on floats takes many seconds: a subset, scaled.
            n_run = n_q if pruned else n_sub
            seconds, (_, ind) = median_time(
                partial(est.kneighbors, Xte32[:n_run]), args.repeats if pruned else 1
            )
            seconds *= n_q / n_run
            scaled_seconds[f"{metric} {algorithm}"] = {
                "seconds": seconds, "warm_up_seconds": first
            }
            note = f"timed on {n_run} queries, scaled x{n_q / n_run:g}"
            chosen = "brute" if algorithm == "brute" else (
                f"auto: {'pruned' if pruned else 'brute'}"
            )
            engine = f"BlockKNNClassifier.kneighbors (float32 X / 255, {chosen})"
            row_note = note if n_run < n_q else ""
            add(metric, engine, n_q, seconds, y_train[ind], row_note)
            del est

    for row in rows:
        row["ratio"] = row["seconds"] / ours[row["metric"]]

    latency = {}
    if not args.no_latency:
        for metric in args.metrics:
            latency[metric] = _first_call_latency(metric)

    arithmetic = _arithmetic_bound(brute, n_q, n_train, n_features)
    info = with_run_info({  # nothing in the search is random: seed None
        "numba_threads": __import__("numba").get_num_threads(),
        "simd": _simd_paths(),
        "arithmetic_bound": arithmetic,
        "queries": n_q,
        "train": n_train,
        "repeats": args.repeats,
        "peak_rss_mb_after_fmnist": rss_ours,
        "bound_tables_seconds": tables_seconds,
        "small_batches": batches,
        "scaled_float32": scaled_seconds,
        "peak_rss_mb_end": _peak_rss_mb(),
        "first_call_latency_s": {
            m: {"cold": c, "warm": w} for m, (c, w) in latency.items()
        },
    })  # the machine and the date head the table below
    table = _markdown(rows, info)
    print(table)
    write_results(args.json, {"info": info, "rows": rows}, info_key="info")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


def _markdown(rows, info):
    lines = [
        f"k={K}, {info['train']} training rows, {info['queries']} queries, "
        f"median of {info['repeats']}; {info['machine']}, "
        f"{info['numba_threads']} numba threads; {info['date']}",
        f"fmnist code path: numba target {info['simd']['numba_cpu_name']}, psadbw "
        f"{info['simd']['psadbw_bytes']} bytes, dot {info['simd']['dot_instruction']} "
        f"{info['simd']['dot_bytes']} bytes",
        "",
        "| metric | engine | seconds | s / fmnist uint8 auto s | accuracy | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        acc = f"{r['accuracy']:.4f}"
        if r["accuracy_queries"] != info["queries"]:
            acc += f" (first {r['accuracy_queries']})"
        lines.append(
            f"| {r['metric']} | {r['engine']} | {r['seconds']:.2f} | "
            f"{r['ratio']:.1f} | {acc} | {r['note']} |"
        )
    lines.append("")
    lines.append(
        f"Peak RSS: {info['peak_rss_mb_after_fmnist']:.0f} MB after fmnist's runs, "
        f"{info['peak_rss_mb_end']:.0f} MB at the end (peers included)."
    )
    built = ", ".join(
        f"{m} {t:.2f} s" for m, t in info["bound_tables_seconds"].items()
    )
    lines.append(f"Bound tables of the pruned search, built in: {built}.")
    bound = info["arithmetic_bound"]
    if bound["clock_ghz"] is not None:
        lines.append(
            f"Brute force against the arithmetic bound "
            f"({bound['bound_pairs_per_cycle_per_core']} byte pairs per cycle per "
            f"core, clock measured {bound['clock_ghz']:.2f} GHz): "
            + ", ".join(
                f"{m} {r['byte_pairs_per_cycle_per_core']:.1f} "
                f"({100 * r['fraction_of_bound']:.0f}%)"
                for m, r in bound["brute"].items()
            )
            + "."
        )
    lines.append("")
    lines.append("| metric | algorithm | queries | median ms |")
    lines.append("|---|---|---:|---:|")
    for b in info["small_batches"]:
        used = "pruned" if b["pruned"] else "brute"
        name = b["algorithm"] if b["algorithm"] == "brute" else f"auto ({used})"
        lines.append(
            f"| {b['metric']} | {name} | {b['queries']} | {b['median_ms']:.2f} |"
        )
    lines.append("")
    for metric, lat in info["first_call_latency_s"].items():
        cold, warm = lat["cold"], lat["warm"]
        lines.append(
            f"First call ({metric}; fit and search of 64 rows, compiling or "
            f"loading the kernels, after the imports): cold cache "
            f"{cold['first_call']:.2f} s, warm cache {warm['first_call']:.2f} s; "
            f"imports {warm['imports']:.2f} s."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
