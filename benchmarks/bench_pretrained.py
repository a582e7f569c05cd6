"""The pretrained ConvNet on the 10,000 test images: its model card figures.

Measures, for ``fmnist.load_pretrained_convnet()``:

* test accuracy in float32 and in the precision ``"auto"`` picks here, with and
  without flip averaging; accuracy and precision per class; the confusion
  matrix and the most frequent confusions;
* calibration: expected calibration error (15 equal-width bins of the top
  probability) and the reliability table behind the diagram on the model card;
* embeddings: ``transform`` time, then exact kNN (:class:`~fmnist.BlockKNNClassifier`)
  on the embeddings of the 60,000 training images against the 10,000 test
  images, k=5, beside kNN on the pixels (manhattan) and the network's own
  predictions.

Usage::

    python benchmarks/bench_pretrained.py --json benchmarks/results/pretrained.json
"""

import argparse
import json
import time

import numpy as np
from _results import add_json_option, with_run_info, write_results


def _timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    add_json_option(parser)
    args = parser.parse_args(argv)

    import torch
    from sklearn.metrics import confusion_matrix, log_loss

    import fmnist
    from fmnist import BlockKNNClassifier, load_pretrained_convnet
    from fmnist.convnet._calibration import expected_calibration_error
    from fmnist.convnet._pretrained import PRETRAINED
    from fmnist.datasets import load

    torch.set_num_threads(args.threads)
    bunch = load()
    names = bunch.target_names
    X_train, y_train = bunch.data[:60000], bunch.target[:60000]
    X_test, y_test = bunch.data[60000:], bunch.target[60000:]

    results = {"sha256": PRETRAINED["sha256"], "params": PRETRAINED["params"]}
    accuracy = {}
    for precision in ("float32", "auto"):
        model = load_pretrained_convnet(precision=precision, n_threads=args.threads)
        for tta in (True, False):
            model.set_params(tta=tta)
            proba, seconds = _timed(model.predict_proba, X_test)
            key = f"{precision}{'' if tta else ', no flip averaging'}"
            accuracy[key] = float(np.mean(proba.argmax(axis=1) == y_test))
            if precision == "float32" and tta:
                card_proba = proba
                results["predict_seconds_float32_tta"] = seconds
        results[f"precision_{precision}"] = model.precision_
    results["test_accuracy"] = accuracy

    predicted = card_proba.argmax(axis=1)
    matrix = confusion_matrix(y_test, predicted, labels=range(10))
    results["per_class"] = [
        {
            "class": names[c],
            "accuracy (recall)": float(matrix[c, c] / matrix[c].sum()),
            "precision": float(matrix[c, c] / matrix[:, c].sum()),
        }
        for c in range(10)
    ]
    results["confusion_matrix"] = matrix.tolist()
    off = [(int(matrix[t, p]), t, p) for t in range(10) for p in range(10) if t != p]
    results["top_confusions"] = [
        {"true": names[t], "predicted": names[p], "count": n}
        for n, t, p in sorted(off, reverse=True)[:6]
    ]
    ece, table = expected_calibration_error(card_proba, y_test)
    results["expected_calibration_error"] = ece
    results["log_loss"] = float(log_loss(y_test, card_proba, labels=range(10)))
    results["reliability"] = table

    # Embeddings: the default precision and flip averaging of the model.
    model = load_pretrained_convnet(n_threads=args.threads)
    E_train, train_seconds = _timed(model.transform, X_train)
    E_test, test_seconds = _timed(model.transform, X_test)
    results["transform_images_per_second"] = 70000 / (train_seconds + test_seconds)
    fmnist.warmup()
    rows = []
    for label, metric, train, test in [
        ("embeddings, cosine", "cosine", E_train, E_test),
        ("embeddings, euclidean", "euclidean", E_train, E_test),
        ("pixels, manhattan", "manhattan", X_train, X_test),
    ]:
        knn = BlockKNNClassifier(n_neighbors=5, metric=metric, n_jobs=args.threads)
        knn.fit(train, y_train)
        knn.kneighbors(test[:64])  # compile this metric and dtype
        predicted_knn, seconds = _timed(knn.predict, test)
        rows.append({
            "index": label,
            "test_accuracy": float(np.mean(predicted_knn == y_test)),
            "predict_seconds": seconds,
        })
    rows.append({
        "index": "the network's own predictions",
        "test_accuracy": float(np.mean(model.predict(X_test) == y_test)),
        "predict_seconds": float("nan"),
    })
    results["knn_k5"] = rows
    results["threads"] = args.threads
    results["torch"] = torch.__version__
    results = with_run_info(results, seed=None)  # printed below

    print(json.dumps(
        {k: v for k, v in results.items() if k not in ("confusion_matrix",)},
        indent=2,
    ))
    write_results(args.json, results, seed=None)


if __name__ == "__main__":
    main()
