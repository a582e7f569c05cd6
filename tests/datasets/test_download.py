"""Download tests against a local HTTP server on 127.0.0.1 (no internet needed)."""

import json
import os
import subprocess
import sys
import textwrap
import time
import warnings

import _datasets_helpers as helpers
import numpy as np
import pytest
from _datasets_helpers import NAMES, dead_url, gz_bytes, listing, tiny_dataset
from _subprocess_helpers import TESTS_DIR

from fmnist.datasets import (
    DataIntegrityError,
    DataNotFoundError,
    _fetch,
    _home,
    load,
    load_train_test,
)

EXPECTED_CACHE = sorted(list(NAMES) + [n + ".verified.json" for n in NAMES])


def _all(arrays):
    X = np.concatenate([arrays[NAMES[0]], arrays[NAMES[2]]]).reshape(-1, 784)
    y = np.concatenate([arrays[NAMES[1]], arrays[NAMES[3]]])
    return X, y


def _cache(isolated, name="fashion-mnist"):
    return os.path.join(isolated.user_cache, name)


def test_download_then_cache_hit_without_network(isolated, server, monkeypatch):
    base = server.serve_dataset(isolated.arrays)
    isolated.install(tiny_dataset(isolated.arrays, base_urls=(base,)))
    X, y = load(return_X_y=True)
    np.testing.assert_array_equal(X, _all(isolated.arrays)[0])
    np.testing.assert_array_equal(y, _all(isolated.arrays)[1])
    assert len(server.requests) == 4
    assert listing(_cache(isolated)) == EXPECTED_CACHE
    # Second load: served from the cache, no request, even with sockets blocked.
    helpers.no_network(monkeypatch)
    load_train_test()
    assert len(server.requests) == 4


def test_only_missing_files_are_downloaded(isolated, server):
    base = server.serve_dataset(isolated.arrays)
    isolated.install(tiny_dataset(isolated.arrays, base_urls=(base,)))
    helpers.write_dataset(isolated.system, isolated.arrays, names=NAMES[:2])
    load(subset="all")
    assert sorted(server.requests) == sorted(f"/data/{n}.gz" for n in NAMES[2:])
    load(subset="test")
    assert len(server.requests) == 2


def test_first_mirror_missing_or_refusing_then_next_used(isolated, server):
    good = server.serve_dataset(isolated.arrays)
    mirrors = (server.url("/missing/"), dead_url(), good)
    isolated.install(tiny_dataset(isolated.arrays, base_urls=mirrors))
    X, _ = load(return_X_y=True)
    np.testing.assert_array_equal(X, _all(isolated.arrays)[0])
    # A 404 is not retried; the good mirror answered once per file.
    assert sum(r.startswith("/missing/") for r in server.requests) == 4
    assert sum(r.startswith("/data/") for r in server.requests) == 4


def test_server_error_is_retried(isolated, server):
    base = server.serve_dataset(isolated.arrays)
    body = gz_bytes(isolated.arrays[NAMES[0]])
    server.routes[f"/data/{NAMES[0]}.gz"] = lambda n: 503 if n == 1 else ("ok", body)
    isolated.install(tiny_dataset(isolated.arrays, base_urls=(base,)))
    load(subset="train")
    assert server.requests.count(f"/data/{NAMES[0]}.gz") == 2


@pytest.mark.parametrize("problem", ["corrupted", "truncated", "wrong-checksum"])
def test_bad_mirror_is_skipped_for_a_good_one(isolated, server, problem):
    other = helpers.tiny_arrays(seed=7)
    if problem == "corrupted":
        bad = {k: bytearray(gz_bytes(v)) for k, v in isolated.arrays.items()}
        for value in bad.values():
            value[len(value) // 2] ^= 0xFF
    elif problem == "truncated":
        bad = {k: gz_bytes(v)[:-20] for k, v in isolated.arrays.items()}
    else:  # a valid file, but not the one on record
        bad = {k: gz_bytes(v) for k, v in other.items()}
    for key in NAMES:
        server.routes[f"/bad/{key}.gz"] = ("ok", bytes(bad[key]))
    good = server.serve_dataset(isolated.arrays)
    isolated.install(
        tiny_dataset(isolated.arrays, base_urls=(server.url("/bad/"), good))
    )
    X, _ = load(return_X_y=True)
    np.testing.assert_array_equal(X, _all(isolated.arrays)[0])
    assert listing(_cache(isolated)) == EXPECTED_CACHE


def test_every_mirror_bad_is_a_clear_error_and_leaves_nothing(isolated, server):
    other = helpers.tiny_arrays(seed=7)
    base = server.serve_dataset(other)
    isolated.install(
        tiny_dataset(isolated.arrays, base_urls=(base, server.url("/none/")))
    )
    with pytest.raises(DataIntegrityError) as info:
        load()
    message = str(info.value)
    assert "Downloading it failed" in message
    # One line per mirror, each with the whole reason.
    lines = message.splitlines()
    first = [line for line in lines if f"{base}{NAMES[0]}.gz" in line]
    assert len(first) == 1, message
    assert "2 attempts, each DataIntegrityError" in first[0]
    assert "decompressed SHA-256 should be" in first[0]
    second = [line for line in lines if server.url("/none/") in line]
    assert len(second) == 1 and "404" in second[0], message
    assert "apt-get install dataset-fashion-mnist" in message
    assert isolated.user_cache in message
    assert not os.path.exists(_cache(isolated))  # not even an empty folder


def test_unreachable_mirrors_give_one_whole_line_each(isolated, monkeypatch):
    import requests
    from urllib3.connection import HTTPSConnection
    from urllib3.exceptions import MaxRetryError, NameResolutionError

    mirrors = ("https://a.invalid/", "https://b.invalid/")
    isolated.install(tiny_dataset(isolated.arrays, base_urls=mirrors))

    def unresolvable(url, **kwargs):
        host = url.split("/")[2]
        reason = NameResolutionError(
            host, HTTPSConnection(host), OSError(-2, "Name or service not known")
        )
        inner = MaxRetryError(None, url, reason)
        raise requests.ConnectionError(inner)

    monkeypatch.setattr("pooch.retrieve", unresolvable)
    with pytest.raises(DataNotFoundError) as info:
        load()
    lines = str(info.value).splitlines()
    failed = lines[lines.index("Downloads failed, per mirror:") + 1 :]
    failed = failed[: failed.index("To fix this, do one of:")]
    assert len(failed) == len(mirrors), lines
    for line, mirror in zip(failed, mirrors):
        assert line.startswith(f"  - {mirror}{NAMES[0]}.gz: ")
        assert f"{_fetch.N_RETRIES} attempts, each NameResolutionError" in line
        host = mirror.split("/")[2]
        assert line.endswith(
            f"Failed to resolve '{host}' ([Errno -2] Name or service not known)"
        ), line
        assert "Max retries" not in line and " object at 0x" not in line


def test_interrupted_download_is_retried(isolated, server):
    base = server.serve_dataset(isolated.arrays)
    path = f"/data/{NAMES[0]}.gz"
    body = gz_bytes(isolated.arrays[NAMES[0]])
    server.routes[path] = lambda n: ("cut", body) if n == 1 else ("ok", body)
    isolated.install(tiny_dataset(isolated.arrays, base_urls=(base,)))
    X, _ = load(subset="train", return_X_y=True)
    np.testing.assert_array_equal(X, isolated.arrays[NAMES[0]].reshape(-1, 784))
    assert server.requests.count(path) == 2


def test_always_interrupted_download_fails_and_leaves_nothing(isolated, server):
    base = server.serve_dataset(isolated.arrays, kind="cut")
    isolated.install(tiny_dataset(isolated.arrays, base_urls=(base,)))
    with pytest.raises(OSError, match=f"Could not download|{NAMES[0]}"):
        load()
    assert not os.path.exists(_cache(isolated))  # not even an empty folder
    assert server.requests.count(f"/data/{NAMES[0]}.gz") == _fetch.N_RETRIES


def test_mnist_download_verified_by_archive_digest(isolated, server, monkeypatch):
    arrays = helpers.tiny_arrays(seed=1)
    base = server.serve_dataset(arrays, prefix="/mnist/")
    isolated.install(
        tiny_dataset(arrays, name="mnist", base_urls=(base,), by_archive=True)
    )
    bunch = load(dataset="mnist")
    np.testing.assert_array_equal(bunch.data, _all(arrays)[0])
    cache = _cache(isolated, "mnist")
    assert listing(cache) == EXPECTED_CACHE
    stamp = json.loads(open(os.path.join(cache, NAMES[0] + ".verified.json")).read())
    assert stamp["verified_by"] == "archive-sha256"
    assert stamp["payload_sha256"] == helpers.sha256(
        helpers.idx_bytes(arrays[NAMES[0]])
    )
    # The Fashion-MNIST cache is a separate folder and stays empty.
    assert not os.path.exists(_cache(isolated))
    helpers.no_network(monkeypatch)
    load(dataset="mnist", subset="test")


def test_mnist_wrong_archive_is_refused(isolated, server):
    arrays = helpers.tiny_arrays(seed=1)
    base = server.serve_dataset(helpers.tiny_arrays(seed=2), prefix="/mnist/")
    isolated.install(
        tiny_dataset(arrays, name="mnist", base_urls=(base,), by_archive=True)
    )
    with pytest.raises(OSError, match="SHA256 hash of downloaded file"):
        load(dataset="mnist")
    assert not os.path.exists(_cache(isolated, "mnist"))  # not even an empty folder


def test_stale_user_cache_is_replaced_by_a_download(isolated, server):
    base = server.serve_dataset(isolated.arrays)
    isolated.install(tiny_dataset(isolated.arrays, base_urls=(base,)))
    stale = helpers.tiny_arrays(seed=3)
    helpers.write_dataset(_cache(isolated), stale, compressed=False)
    with pytest.warns(UserWarning, match="Ignoring it"):
        load()
    # The labels of both tiny datasets agree; only the stale images are fetched.
    assert sorted(server.requests) == sorted(f"/data/{n}.gz" for n in NAMES[::2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, _ = load(return_X_y=True)
    np.testing.assert_array_equal(X, _all(isolated.arrays)[0])


def test_download_into_unwritable_cache_still_loads(isolated, server, monkeypatch):
    base = server.serve_dataset(isolated.arrays)
    isolated.install(tiny_dataset(isolated.arrays, base_urls=(base,)))
    blocker = isolated.tmp / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(_home, "_user_cache", lambda: str(blocker / "cache"))
    with pytest.warns(UserWarning, match="Could not cache"):
        X, _ = load(return_X_y=True)
    np.testing.assert_array_equal(X, _all(isolated.arrays)[0])


_CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    import _datasets_helpers as helpers
    from fmnist.datasets import _home, _registry, load

    _home.SYSTEM_DIRS = {{}}
    arrays = helpers.tiny_arrays(seed=0, n_train=2000, n_test=500)
    _registry.DATASETS["fashion-mnist"] = helpers.tiny_dataset(
        arrays, base_urls=({base!r},)
    )
    while time.time() < {start!r}:
        time.sleep(0.005)
    X, y = load(return_X_y=True)
    print("ok", X.shape[0], int(X.sum()), int(y.sum()))
    """
)


@pytest.mark.slow
def test_two_processes_fill_the_same_empty_cache(tmp_path, server):
    arrays = helpers.tiny_arrays(seed=0, n_train=2000, n_test=500)
    base = server.serve_dataset(arrays)
    home = tmp_path / "shared"
    code = _CHILD.format(
        tests=TESTS_DIR, base=base, start=time.time() + 1.5
    )
    env = dict(os.environ, FMNIST_DATA=str(home))
    env.pop("FMNIST_OFFLINE", None)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err
    X, y = _all(arrays)
    expected = f"ok {len(X)} {int(X.sum())} {int(y.sum())}"
    assert [out.strip() for out, _ in outputs] == [expected, expected]
    # Exactly one copy of each file, no temporary leftovers, and it verifies.
    assert listing(home) == ["fashion-mnist/" + n for n in EXPECTED_CACHE]
    for key in NAMES:
        data = open(home / "fashion-mnist" / key, "rb").read()
        assert data == helpers.idx_bytes(arrays[key])
