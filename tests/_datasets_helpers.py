"""Helpers for the dataset tests: tiny IDX datasets and a local HTTP server.

Everything here works offline: the server listens on 127.0.0.1 only. The
fixture functions (``isolated``, ``no_network``, ``server``) are plain
functions; test modules register those they use with ``pytest.fixture``.
"""

import gzip
import hashlib
import http.server
import io
import os
import socket
import threading
from dataclasses import replace

import numpy as np

from fmnist.datasets import _fetch, _home, _registry

NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
N_TRAIN, N_TEST = 20, 10


def tiny_arrays(seed=0, n_train=N_TRAIN, n_test=N_TEST):
    """Deterministic images and labels, every class present in each subset."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(
            0, 256, size=(n, 28, 28), dtype=np.uint8
        )
        arrays[f"{prefix}-labels-idx1-ubyte"] = (np.arange(n) % 10).astype(np.uint8)
    return arrays


def idx_bytes(array):
    """The bytes of ``array`` as an uncompressed IDX file."""
    buffer = io.BytesIO()
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        d.to_bytes(4, "big") for d in array.shape
    )
    buffer.write(header)
    buffer.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    return buffer.getvalue()


def gz_bytes(array):
    """``array`` as a gzip-compressed IDX file (deterministic bytes)."""
    return gzip.compress(idx_bytes(array), mtime=0)


def tiny_dataset(arrays, *, name="fashion-mnist", base_urls=(), by_archive=False):
    """A registry entry for ``arrays``, served from ``base_urls``.

    ``by_archive=True`` records only the archive digest (as for MNIST).
    """
    files = []
    for key in NAMES:
        payload = idx_bytes(arrays[key])
        archive = gz_bytes(arrays[key])
        files.append(
            _registry.DataFile(
                name=key,
                payload_size=len(payload),
                payload_sha256=None if by_archive else sha256(payload),
                archive_sha256=sha256(archive) if by_archive else None,
                urls=tuple(f"{base}{key}.gz" for base in base_urls),
            )
        )
    base = _registry.DATASETS.get(name, _registry.FASHION_MNIST)
    return replace(
        base,
        name=name,
        train_images=files[0],
        train_labels=files[1],
        test_images=files[2],
        test_labels=files[3],
    )


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def write_dataset(folder, arrays, *, compressed=True, names=NAMES):
    """Write the IDX files of ``arrays`` into ``folder`` (created if needed)."""
    os.makedirs(folder, exist_ok=True)
    for key in names:
        data = gz_bytes(arrays[key]) if compressed else idx_bytes(arrays[key])
        suffix = ".gz" if compressed else ""
        with open(os.path.join(folder, key + suffix), "wb") as f:
            f.write(data)
    return folder


def listing(folder):
    """Sorted file names under ``folder`` (recursively), relative to it."""
    found = []
    for root, _, files in os.walk(folder):
        for f in files:
            found.append(os.path.relpath(os.path.join(root, f), folder))
    return sorted(found)


def isolated(tmp_path, monkeypatch):
    """Point every search location into ``tmp_path`` and register tiny data.

    Returns a namespace with ``arrays``, ``user_cache``, ``system`` and
    ``install(dataset)`` to swap the registry entry.
    """
    monkeypatch.delenv(_home.ENV_DATA, raising=False)
    monkeypatch.delenv(_home.ENV_OFFLINE, raising=False)
    user_cache = tmp_path / "user-cache"
    system = tmp_path / "system"
    monkeypatch.setattr(_home, "_user_cache", lambda: str(user_cache))
    monkeypatch.setattr(_home, "SYSTEM_DIRS", {"fashion-mnist": str(system)})
    monkeypatch.setattr(_fetch, "RETRY_DELAY", 0.001)
    monkeypatch.setattr(_fetch, "TIMEOUT", 5)
    monkeypatch.setattr(_fetch, "N_RETRIES", 2)
    arrays = tiny_arrays()

    class Env:
        pass

    env = Env()
    env.tmp = tmp_path
    env.arrays = arrays
    env.user_cache = str(user_cache)
    env.system = str(system)

    def install(dataset):
        monkeypatch.setitem(_registry.DATASETS, dataset.name, dataset)
        return dataset

    env.install = install
    install(tiny_dataset(arrays))
    install(tiny_dataset(tiny_arrays(seed=1), name="mnist", by_archive=True))
    return env


def no_network(monkeypatch):
    """Make any attempt to open a network connection fail the test."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"network access attempted: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        server = self.server
        with server.lock:
            server.requests.append(self.path)
            count = server.requests.count(self.path)
            route = server.routes.get(self.path)
        if callable(route):
            route = route(count)
        if route is None or route == 404:
            self._send_status(404)
            return
        if isinstance(route, int):
            self._send_status(route)
            return
        kind, body = route
        if kind == "ok":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "cut":  # promise the whole body, send half, hang up
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_status(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 serving ``routes``.

    ``routes`` maps a URL path to ``("ok", body)``, ``("cut", body)``, an HTTP
    status code, or a callable taking the request count for that path.
    """

    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.routes = {}
        self.httpd.requests = []
        self.httpd.lock = threading.Lock()
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def routes(self):
        return self.httpd.routes

    @property
    def requests(self):
        return self.httpd.requests

    def url(self, prefix="/"):
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{prefix}"

    def serve_dataset(self, arrays, prefix="/data/", kind="ok"):
        for key in NAMES:
            self.routes[f"{prefix}{key}.gz"] = (kind, gz_bytes(arrays[key]))
        return self.url(prefix)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def server():
    srv = LocalServer()
    try:
        yield srv
    finally:
        srv.close()


def dead_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
