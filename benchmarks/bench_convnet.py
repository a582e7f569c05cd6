"""Benchmark ConvNetClassifier on Fashion-MNIST.

Fits ``ConvNetClassifier`` on the 60,000 training images, evaluates it on the
10,000 test images (CPU, 2 threads by default) and reports test accuracy (with
and without test-time flip averaging), fit wall time, seconds per epoch,
prediction throughput and parameter count. The test set is used for the final
figures only.

Usage::

    python benchmarks/bench_convnet.py                 # the default recipe
    python benchmarks/bench_convnet.py --setting high  # the higher-accuracy one
    python benchmarks/bench_convnet.py --setting 15min # the best in 15 minutes
    python benchmarks/bench_convnet.py --quick         # 10k images, 2 epochs
    python benchmarks/bench_convnet.py --json out.json --max-epochs 30
"""

import argparse
import json
import time

import numpy as np
from _results import add_json_option, with_run_info, write_results

from fmnist.convnet._pretrained import PRETRAINED

SETTINGS = {
    # The defaults of ConvNetClassifier.
    "default": {},
    # The most accurate setting measured that fits a 15-minute fit on 2 CPU
    # cores with native bfloat16 (about 14 minutes here; about 28 minutes
    # in float32 on AVX2): longer, smoother labels, ten-view prediction.
    "15min": {"max_epochs": 27, "label_smoothing": 0.2, "tta": "flip+shift"},
    # Wider and longer, the recipe of the pretrained model: about 67 minutes
    # on 2 CPU cores (benchmarks/README.md).
    "high": {
        k: v for k, v in PRETRAINED["params"].items() if k != "random_state"
    },
}


def _throughput(clf, X, repeats=3):
    if repeats == 0:
        return None
    clf.predict(X[:256])  # warm up the kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        clf.predict(X)
        times.append(time.perf_counter() - start)
    return len(X) / float(np.median(times))


def _rate(images_per_second):
    if images_per_second is None:
        return "not timed"
    return f"{images_per_second:,.0f} images/s"


def _calibration(clf, X_test, y_test):
    """ECE and log loss of predict_proba on the test images, before the
    temperature (1.0) and after (``temperature_``, fitted in ``fit``)."""
    from sklearn.metrics import log_loss

    from fmnist.convnet._calibration import expected_calibration_error

    temperature = clf.temperature_
    out = {"expected_calibration_error": {}, "log_loss": {}}
    for label, value in (("before", 1.0), ("after", temperature)):
        clf.temperature_ = value
        proba = clf.predict_proba(X_test)
        out["expected_calibration_error"][label] = expected_calibration_error(
            proba, y_test)[0]
        out["log_loss"][label] = float(log_loss(y_test, proba, labels=range(10)))
    clf.temperature_ = temperature
    held_out = clf.validation_indices_
    return {"temperature": temperature,
            "n_held_out": 0 if held_out is None else len(held_out), **out}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="default")
    parser.add_argument("--quick", action="store_true",
                        help="10k training images and 2 epochs (a smoke run)")
    parser.add_argument("--n-train", type=int, default=None,
                        help="use only the first N training images")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                        help="extra ConvNetClassifier parameter, e.g. lr=0.1")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--no-throughput", action="store_true",
                        help="skip the prediction timings (accuracy runs only)")
    add_json_option(parser)
    parser.add_argument("--save-weights", metavar="PATH",
                        help="save the fitted network here (save_weights)")
    args = parser.parse_args(argv)

    import torch

    from fmnist import ConvNetClassifier
    from fmnist.datasets import load_train_test

    torch.set_num_threads(args.threads)
    X_train, X_test, y_train, y_test = load_train_test()
    params = dict(SETTINGS[args.setting])
    if args.quick:
        args.n_train = args.n_train or 10_000
        params["max_epochs"] = 2
    if args.n_train:
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    if args.max_epochs:
        params["max_epochs"] = args.max_epochs
    for item in args.param:
        name, value = item.split("=", 1)
        params[name] = json.loads(value)
    params.update(
        random_state=args.random_state, n_threads=args.threads, verbose=args.verbose
    )
    clf = ConvNetClassifier(**params)
    default_tta = clf.tta

    start = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    epoch_seconds = [row["dur"] for row in clf.net_.history]

    if args.save_weights:
        clf.save_weights(args.save_weights)
    clf.set_params(tta="flip+shift")
    accuracy_shift = float(np.mean(clf.predict(X_test) == y_test))
    timed = 0 if args.no_throughput else 1
    throughput_shift = _throughput(clf, X_test, repeats=timed)
    clf.set_params(tta=True)
    accuracy_tta = float(np.mean(clf.predict(X_test) == y_test))
    throughput_tta = _throughput(clf, X_test, repeats=3 * timed)
    clf.set_params(tta=False)
    accuracy_plain = float(np.mean(clf.predict(X_test) == y_test))
    throughput_plain = _throughput(clf, X_test, repeats=3 * timed)
    clf.set_params(tta=default_tta)
    calibration = _calibration(clf, X_test, y_test)

    results = with_run_info({
        "setting": args.setting,
        "params": {k: v for k, v in clf.get_params().items() if k != "callbacks"},
        "n_train": len(X_train),
        "n_test": len(X_test),
        "tta": default_tta,
        "test_accuracy": {False: accuracy_plain, "flip+shift": accuracy_shift}.get(
            default_tta, accuracy_tta
        ),
        "test_accuracy_tta": accuracy_tta,
        "test_accuracy_flip_shift_tta": accuracy_shift,
        "test_accuracy_no_tta": accuracy_plain,
        "fit_seconds": fit_seconds,
        "epochs": clf.n_epochs_,
        "seconds_per_epoch_median": float(np.median(epoch_seconds)),
        "seconds_per_epoch": epoch_seconds,
        "predict_images_per_second_tta": throughput_tta,
        "predict_images_per_second_flip_shift_tta": throughput_shift,
        "predict_images_per_second_no_tta": throughput_plain,
        "n_parameters": clf.n_parameters_,
        **calibration,
        "precision": clf.precision_,
        "device": clf.device_,
        "threads": args.threads,
        "torch": torch.__version__,
    }, seed=args.random_state)  # the machine is in the table below
    rows = [
        (f"test accuracy (tta={default_tta})", f"{results['test_accuracy']:.4f}"),
        ("test accuracy, flip TTA", f"{accuracy_tta:.4f}"),
        ("test accuracy, flip+shift TTA", f"{accuracy_shift:.4f}"),
        ("test accuracy, no TTA", f"{accuracy_plain:.4f}"),
        ("fit wall time", f"{fit_seconds:.1f} s ({fit_seconds / 60:.2f} min)"),
        ("epochs", f"{clf.n_epochs_}"),
        ("seconds per epoch (median)", f"{results['seconds_per_epoch_median']:.1f}"),
        ("predict, flip TTA", _rate(throughput_tta)),
        ("predict, flip+shift TTA", _rate(throughput_shift)),
        ("predict, no TTA", _rate(throughput_plain)),
        ("parameters", f"{clf.n_parameters_:,}"),
        ("held out for the temperature", f"{calibration['n_held_out']:,} images"),
        ("temperature", f"{clf.temperature_:.3f}"),
        ("ECE, before / after", "{:.2%} / {:.2%}".format(
            *calibration["expected_calibration_error"].values())),
        ("log loss, before / after", "{:.4f} / {:.4f}".format(
            *calibration["log_loss"].values())),
        ("precision / device", f"{clf.precision_} / {clf.device_}"),
        ("machine", f"{results['cpu']}, {args.threads} threads"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"\nConvNetClassifier, setting {args.setting!r}, "
          f"{len(X_train)} training images")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    return write_results(args.json, results, seed=args.random_state)


if __name__ == "__main__":
    main()
