"""Time fmnist.datasets.load: cold (from Debian's .gz files) and warm (cached).

Usage::

    python benchmarks/bench_load.py [--repeat 7] [--system-dir DIR] [--json PATH]

Needs the Debian package ``dataset-fashion-mnist`` (or ``--system-dir``
pointing to a folder with the four ``.gz`` files). Each measurement uses a fresh
temporary ``data_home``; the user cache is not used or touched. Imports
(NumPy, scikit-learn for the Bunch) are done before timing and reported apart.
Times are wall-clock seconds; warm times are the median of ``--repeat`` runs.
"""

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from _results import add_json_option, write_results
from _timing import median_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--system-dir", default=None)
    add_json_option(parser)
    args = parser.parse_args()

    start = time.perf_counter()
    import sklearn.utils  # noqa: F401  (the Bunch)

    from fmnist.datasets import _home, load, load_train_test

    import_time = time.perf_counter() - start
    if args.system_dir is not None:
        _home.SYSTEM_DIRS["fashion-mnist"] = args.system_dir
    os.environ.pop(_home.ENV_DATA, None)
    rows = [("import fmnist.datasets + sklearn.utils", import_time)]

    with tempfile.TemporaryDirectory() as tmp:
        # Keep the user's cache out of the way: only data_home and the system
        # folder are searched.
        _home._user_cache = lambda: os.path.join(tmp, "no-user-cache")
        home = os.path.join(tmp, "home")

        def cold(subset):
            folder = os.path.join(tmp, f"cold-{subset}")
            return median_time(
                lambda: load(subset=subset, data_home=folder, download_if_missing=False)
            )[0]

        rows.append(("cold load(subset='all'): .gz -> verify -> cache", cold("all")))
        rows.append(("cold load(subset='test')", cold("test")))
        load(data_home=home, download_if_missing=False)

        def warm(**kwargs):
            return lambda: load(data_home=home, download_if_missing=False, **kwargs)

        for subset in ("all", "train", "test"):
            rows.append(
                (
                    f"warm load(subset={subset!r})",
                    median_time(warm(subset=subset), args.repeat)[0],
                )
            )
        rows.append(
            (
                "warm load_train_test()",
                median_time(
                    lambda: load_train_test(data_home=home, download_if_missing=False),
                    args.repeat,
                )[0],
            )
        )

        script = (
            "import time; t = time.perf_counter(); "
            "from fmnist.datasets import load; "
            f"load(data_home={home!r}, download_if_missing=False); "
            "print(time.perf_counter() - t)"
        )
        env = dict(os.environ, FMNIST_OFFLINE="1")
        fresh = [
            float(subprocess.check_output([sys.executable, "-c", script], env=env))
            for _ in range(3)
        ]
        rows.append(
            (
                "warm load(subset='all') in a new process, imports included",
                statistics.median(fresh),
            )
        )

        def drop_stamps():
            for stamp in glob.glob(os.path.join(home, "*", "*.verified.json")):
                os.unlink(stamp)

        rows.append(
            (
                "warm load(subset='all'), stamps removed (full SHA-256)",
                median_time(warm(subset="all"), args.repeat, before=drop_stamps)[0],
            )
        )
        rows.append(
            (
                "warm load(subset='all', verify=True) (full SHA-256)",
                median_time(warm(subset="all", verify=True), args.repeat)[0],
            )
        )

        blocker = os.path.join(tmp, "a-file")
        open(blocker, "w").close()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows.append(
                (
                    "load(subset='all'), cache not writable (.gz each time)",
                    median_time(
                        lambda: load(
                            data_home=os.path.join(blocker, "x"),
                            download_if_missing=False,
                        ),
                        max(1, args.repeat // 3),
                    )[0],
                )
            )

    width = max(len(name) for name, _ in rows)
    print(f"{'measurement':<{width}}  seconds")
    print(f"{'-' * width}  -------")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds:7.3f}")
    if args.json:
        info = {
            "benchmark": "fmnist.datasets.load, cold and warm",
            "repeats": args.repeat,
        }
        rows = [{"measurement": name, "seconds": seconds} for name, seconds in rows]
        # nothing here is random
        write_results(args.json, {"info": info, "rows": rows}, info_key="info")


if __name__ == "__main__":
    main()
