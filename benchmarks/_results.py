"""The one writer of the benchmarks' JSON results.

Every script that writes a results file goes through :func:`write_results`:
it adds the metadata of the run from :func:`_machine.run_info` (command, CPU
model, cores, CPU count, machine, seed, Python version, date) to the script's
own fields, never replacing a field the script set itself, and writes the file
atomically (a temporary file in the same folder, then :func:`os.replace`), so
an interrupted run never leaves half a file. NumPy scalars and arrays become
JSON numbers and lists, dict keys JSON cannot take become strings, and any
other object is written as its ``str``.
"""

import contextlib
import json
import os

import numpy as np
from _machine import run_info

JSON_HELP = "also write the results, with the run's metadata, to this JSON file"


def add_json_option(parser, help=JSON_HELP):
    """Add the standard ``--json PATH`` option (default None) to ``parser``."""
    parser.add_argument("--json", metavar="PATH", default=None, help=help)
    return parser


def with_run_info(record, seed=None, info_key=None):
    """``record`` with the :func:`run_info` fields it lacks, as a new dict.

    The run's fields follow the record's own; a field the record already has
    is kept as it is. With ``info_key``, the fields go into the
    dict ``record[info_key]`` (created if missing) instead of the top level.
    """
    if info_key is not None:
        return {**record, info_key: with_run_info(record.get(info_key) or {}, seed)}
    added = {k: v for k, v in run_info(seed=seed).items() if k not in record}
    return {**record, **added}


def write_json(path, obj):
    """Write ``obj`` to ``path`` as JSON (indent 2), atomically.

    Creates the parent folder if needed. The text is serialised before the
    file is opened, so an object JSON cannot hold leaves any earlier file
    untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    text = json.dumps(_plain(obj), indent=2, default=str) + "\n"
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_results(path, record, seed=None, info_key=None):
    """Add the run's metadata to ``record`` and write it to ``path``.

    ``seed`` is the random seed of the run (None when nothing is random),
    ``info_key`` as in :func:`with_run_info`. Nothing is written when ``path``
    is None (no ``--json``). Returns the record as written.
    """
    record = with_run_info(record, seed=seed, info_key=info_key)
    if path:
        write_json(path, record)
    return record


def _plain(value):
    """``value`` with NumPy types made Python ones and dict keys JSON's."""
    if isinstance(value, dict):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _key(key):
    """A dict key as JSON takes it: str, int, float, bool and None as they are
    (:mod:`json` spells them), anything else (tuples, ...) as its ``str``."""
    if isinstance(key, np.generic):
        key = key.item()
    if key is None or isinstance(key, (str, int, float, bool)):
        return key
    return str(key)
