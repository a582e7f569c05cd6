"""ConvNetClassifier with default parameters at short budgets.

Fits the defaults (apart from ``max_epochs``) on the first training images
and scores them on the first test images, for every budget and seed:

* 1 epoch on 5,000 training images, scored on 1,000 test images;
* 2 epochs on 6,000 training images, scored on 2,000 test images;
* 20 epochs on the 1,437 first images of scikit-learn's 8x8 digits, scored
  on the other 360 (not clothes: flips off, ``augment="none", tta=False``);
* 5-fold ``cross_val_score`` on 500 digits (400 training images per fold).

Usage::

    python benchmarks/bench_convnet_budgets.py --json results/convnet_budgets.json
    python benchmarks/bench_convnet_budgets.py --seeds 0 1 2 --threads 1
"""

import argparse
import time

from _results import add_json_option, write_results

# (name, n_train, n_test, max_epochs)
BUDGETS = [
    ("fashion-1ep-5k", 5000, 1000, 1),
    ("fashion-2ep-6k", 6000, 2000, 2),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-digits", action="store_true")
    add_json_option(parser)
    args = parser.parse_args(argv)

    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score

    from fmnist import ConvNetClassifier
    from fmnist.datasets import load_train_test

    torch.set_num_threads(args.threads)
    X_train, X_test, y_train, y_test = load_train_test()
    runs = []

    def record(name, seed, clf, accuracy, seconds, **extra):
        row = dict(
            budget=name, seed=seed, accuracy=float(accuracy), fit_seconds=seconds,
            batch_size=getattr(clf, "batch_size_", None),
            augment=getattr(clf, "augment_", None), **extra,
        )
        runs.append(row)
        print(f"  {name:<16} seed {seed}  accuracy {accuracy:.4f}  "
              f"batch {row['batch_size']}  augment {row['augment']}  "
              f"{seconds:.1f} s", flush=True)

    for name, n_train, n_test, epochs in BUDGETS:
        for seed in args.seeds:
            clf = ConvNetClassifier(
                max_epochs=epochs, random_state=seed, n_threads=args.threads
            )
            start = time.perf_counter()
            clf.fit(X_train[:n_train], y_train[:n_train])
            seconds = time.perf_counter() - start
            accuracy = clf.score(X_test[:n_test], y_test[:n_test])
            record(name, seed, clf, accuracy, seconds, n_train=n_train,
                   n_test=n_test, max_epochs=epochs)

    if not args.skip_digits:
        X, y = load_digits(return_X_y=True)
        digits = dict(augment="none", tta=False, n_threads=args.threads)
        for seed in args.seeds:
            clf = ConvNetClassifier(random_state=seed, **digits)
            start = time.perf_counter()
            clf.fit(X[:1437], y[:1437])
            seconds = time.perf_counter() - start
            record("digits-holdout", seed, clf, clf.score(X[1437:], y[1437:]),
                   seconds, n_train=1437, n_test=360, max_epochs=clf.max_epochs)
        for seed in args.seeds:
            clf = ConvNetClassifier(random_state=seed, **digits)
            start = time.perf_counter()
            scores = cross_val_score(clf, X[:500], y[:500], cv=5)
            seconds = time.perf_counter() - start
            clf.fit(X[:400], y[:400])  # to report the resolved settings
            record("digits-cv5-500", seed, clf, scores.mean(), seconds,
                   fold_scores=scores.tolist(), max_epochs=clf.max_epochs)

    results = {"runs": runs, "threads": args.threads, "torch": torch.__version__}
    # command, cpu, cpu_count, python, date (and the seeds) from run_info
    return write_results(args.json, results, seed=args.seeds)


if __name__ == "__main__":
    main()
