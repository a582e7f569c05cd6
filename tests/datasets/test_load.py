"""Offline tests of fmnist.datasets on tiny generated IDX files."""

import json
import os
import sys
import warnings

import numpy as np
import pytest
from _datasets_helpers import (
    N_TEST,
    N_TRAIN,
    NAMES,
    listing,
    tiny_arrays,
    tiny_dataset,
    write_dataset,
)

from fmnist.datasets import (
    DataIntegrityError,
    DataNotFoundError,
    _cache,
    _home,
    clear_data_home,
    get_data_home,
    load,
    load_train_test,
)

FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def _expected(arrays, subset):
    parts = {"train": ("train",), "test": ("t10k",), "all": ("train", "t10k")}[subset]
    X = np.concatenate([arrays[f"{p}-images-idx3-ubyte"] for p in parts])
    y = np.concatenate([arrays[f"{p}-labels-idx1-ubyte"] for p in parts])
    return X.reshape(len(X), -1), y


@pytest.mark.parametrize("subset", ["train", "test", "all"])
def test_bunch(isolated, no_network, subset):
    write_dataset(isolated.system, isolated.arrays)
    bunch = load(subset=subset, download_if_missing=False)
    X, y = _expected(isolated.arrays, subset)
    np.testing.assert_array_equal(bunch.data, X)
    np.testing.assert_array_equal(bunch.target, y)
    assert bunch.data.dtype == np.uint8 and bunch.data.shape[1] == 784
    assert bunch.target.dtype == np.int64
    assert bunch.images.shape == (len(X), 28, 28)
    assert np.shares_memory(bunch.images, bunch.data)
    assert bunch.images.base is not None
    assert bunch.target_names == FASHION_NAMES
    assert bunch.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]
    assert len(bunch.feature_names) == 784
    assert "Fashion-MNIST" in bunch.DESCR
    assert bunch.subset == subset and bunch.dataset == "fashion-mnist"
    # Arrays are writable, and writing never changes the cached files.
    bunch.data[0, 0] ^= 0xFF
    again = load(subset=subset, download_if_missing=False)
    np.testing.assert_array_equal(again.data, X)
    X2, y2 = load(subset=subset, return_X_y=True, download_if_missing=False)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


def test_load_train_test(isolated, no_network):
    write_dataset(isolated.system, isolated.arrays)
    X_train, X_test, y_train, y_test = load_train_test(download_if_missing=False)
    assert X_train.shape == (N_TRAIN, 784) and X_test.shape == (N_TEST, 784)
    np.testing.assert_array_equal(X_train, _expected(isolated.arrays, "train")[0])
    np.testing.assert_array_equal(y_test, _expected(isolated.arrays, "test")[1])
    assert y_train.shape == (N_TRAIN,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dataset": "cifar"}, r"'dataset' parameter of load must be a str among"),
        ({"subset": "validation"}, r"'subset' .* among \{.*'train'.*\}. Got 'valid"),
        ({"subset": None}, r"'subset' parameter"),
        ({"download_if_missing": "no"}, r"'download_if_missing' .* 'bool'. Got 'no'"),
        ({"return_X_y": 1}, r"'return_X_y' parameter of load"),
        ({"as_frame": "yes"}, r"'as_frame' parameter of load"),
        ({"verify": 1}, r"'verify' parameter of load"),
    ],
)
def test_bad_arguments(isolated, no_network, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load(**kwargs)
    with pytest.raises(TypeError, match=match):
        load(**kwargs)


def test_bad_arguments_of_load_train_test(no_network):
    with pytest.raises(ValueError, match="'dataset' parameter of load_train_test"):
        load_train_test(dataset="kmnist")


def test_data_home_subfolders_and_clearing(tmp_path, monkeypatch):
    monkeypatch.delenv(_home.ENV_DATA, raising=False)
    assert get_data_home(tmp_path / "home") == str(tmp_path / "home")
    assert os.path.isdir(tmp_path / "home")
    monkeypatch.setenv(_home.ENV_DATA, str(tmp_path / "env"))
    assert get_data_home() == str(tmp_path / "env")
    monkeypatch.delenv(_home.ENV_DATA)
    monkeypatch.setattr(_home, "_user_cache", lambda: str(tmp_path / "cache"))
    assert get_data_home() == str(tmp_path / "cache")
    for name in ("fashion-mnist", "mnist"):
        (tmp_path / "cache" / name).mkdir()
        (tmp_path / "cache" / name / "file").write_text("x")
    (tmp_path / "cache" / "mine.txt").write_text("keep me")
    clear_data_home()
    assert os.listdir(tmp_path / "cache") == ["mine.txt"]


def test_nothing_found_offline_lists_every_place(isolated, no_network, monkeypatch):
    monkeypatch.setenv(_home.ENV_DATA, str(isolated.tmp / "env"))
    home = str(isolated.tmp / "arg")
    with (
        pytest.raises(DataNotFoundError) as info,
        pytest.warns(UserWarning, match="FMNIST_DATA is set to"),
    ):
        load(data_home=home, download_if_missing=False)
    message = str(info.value)
    for place in (
        os.path.join(home, "fashion-mnist"),
        home,
        str(isolated.tmp / "env"),
        os.path.join(isolated.user_cache, "fashion-mnist"),
        isolated.system,
    ):
        assert f"  - {place} (" in message
    assert "download_if_missing=False" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "FMNIST_DATA" in message
    first = message.splitlines()[0]
    assert first.startswith("Fashion-MNIST data not found: missing ")
    for name in NAMES:
        assert f"{name} (or {name}.gz)" in first
    assert "is missing" not in message
    assert "directly or in a subfolder named fashion-mnist/" in message
    assert not no_network


def test_data_variable_naming_no_folder_warns(isolated, no_network, monkeypatch):
    write_dataset(isolated.system, isolated.arrays)
    missing = str(isolated.tmp / "no-such-folder")
    monkeypatch.setenv(_home.ENV_DATA, missing)
    with pytest.warns(UserWarning, match="FMNIST_DATA is set to") as record:
        X, _ = load(return_X_y=True, download_if_missing=False)
    assert missing in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller
    np.testing.assert_array_equal(X, _expected(isolated.arrays, "all")[0])


def test_files_directly_in_the_data_folder_are_found(isolated, no_network):
    home = write_dataset(isolated.tmp / "flat", isolated.arrays)
    X, _ = load(data_home=str(home), return_X_y=True, download_if_missing=False)
    np.testing.assert_array_equal(X, _expected(isolated.arrays, "all")[0])


@pytest.mark.parametrize("how", ["env", "argument"])
def test_offline_never_touches_the_network(isolated, no_network, monkeypatch, how):
    isolated.install(tiny_dataset(isolated.arrays, base_urls=("http://example.com/",)))
    if how == "env":
        monkeypatch.setenv(_home.ENV_OFFLINE, "1")
        kwargs = {}
    else:
        kwargs = {"download_if_missing": False}
    with pytest.raises(OSError, match="Downloading is off"):
        load(**kwargs)
    with pytest.raises(OSError, match="Downloading is off"):
        load(dataset="mnist", **kwargs)
    assert no_network == []


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize("where", ["argument", "argument-root", "env", "user-cache"])
def test_each_location_and_form_is_accepted(
    isolated, no_network, monkeypatch, where, compressed
):
    home = isolated.tmp / "home"
    folder = {
        "argument": home / "fashion-mnist",
        "argument-root": home,
        "env": home / "fashion-mnist",
        "user-cache": os.path.join(isolated.user_cache, "fashion-mnist"),
    }[where]
    write_dataset(folder, isolated.arrays, compressed=compressed)
    kwargs = {}
    if where.startswith("argument"):
        kwargs["data_home"] = str(home)
    elif where == "env":
        monkeypatch.setenv(_home.ENV_DATA, str(home))
    X, y = load(return_X_y=True, download_if_missing=False, **kwargs)
    np.testing.assert_array_equal(X, _expected(isolated.arrays, "all")[0])


def test_first_load_from_gz_fills_the_cache_then_memory_maps(isolated, monkeypatch):
    write_dataset(isolated.system, isolated.arrays)
    before = listing(isolated.system)
    load(download_if_missing=False)
    cache = os.path.join(isolated.user_cache, "fashion-mnist")
    assert listing(cache) == sorted(
        [n for n in NAMES] + [n + ".verified.json" for n in NAMES]
    )
    assert listing(isolated.system) == before
    stamp = json.loads(open(os.path.join(cache, NAMES[0] + ".verified.json")).read())
    assert stamp["verified_by"] == "payload-sha256"

    # Warm loads trust the stamps: nothing is hashed or decompressed again.
    def forbidden(*args, **kwargs):
        raise AssertionError("warm load should not hash or decompress")

    monkeypatch.setattr(_cache, "sha256_file", forbidden)
    monkeypatch.setattr(_cache, "check_archive", forbidden)
    X_train, _, _, _ = load_train_test(download_if_missing=False)
    assert isinstance(X_train.base, np.memmap) or isinstance(
        X_train.base.base, np.memmap
    )


def test_changed_file_is_hashed_again(isolated):
    write_dataset(isolated.system, isolated.arrays)
    load(download_if_missing=False)
    cached = os.path.join(isolated.user_cache, "fashion-mnist", NAMES[1])
    data = bytearray(open(cached, "rb").read())
    data[-1] = (data[-1] + 1) % 10  # same size, another valid label
    with open(cached, "r+b") as f:
        f.write(data)
    with pytest.warns(UserWarning, match=f"{NAMES[1]} is not the expected file"):
        bunch = load(download_if_missing=False)
    np.testing.assert_array_equal(bunch.target, _expected(isolated.arrays, "all")[1])
    # The stale copy in the user cache was replaced from the system folder.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(download_if_missing=False)


def _rewrite_in_place_keeping_mtime(path):
    """Change one byte of ``path`` in place; restore its modification time."""
    st = os.stat(path)
    with open(path, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)[0]
        f.seek(-1, os.SEEK_END)
        f.write(bytes([(last + 1) % 10]))  # another valid label
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )


@pytest.mark.parametrize("how", ["argument", "env"])
def test_verify_catches_a_change_that_keeps_size_and_mtime(isolated, monkeypatch, how):
    write_dataset(isolated.system, isolated.arrays)
    expected = _expected(isolated.arrays, "all")[1]
    load(download_if_missing=False)  # fills the cache and writes the stamps
    cached = os.path.join(isolated.user_cache, "fashion-mnist", NAMES[1])
    _rewrite_in_place_keeping_mtime(cached)

    # A default warm load trusts the stamp and returns the changed byte.
    stale = load(download_if_missing=False).target
    assert not np.array_equal(stale, expected)

    kwargs = {"verify": True} if how == "argument" else {}
    if how == "env":
        monkeypatch.setenv(_home.ENV_VERIFY, "1")
    with pytest.warns(UserWarning, match=f"{NAMES[1]} is not the expected file"):
        bunch = load(download_if_missing=False, **kwargs)
    np.testing.assert_array_equal(bunch.target, expected)


def test_verify_on_a_file_named_by_the_user_is_an_error(isolated):
    home = isolated.tmp / "home"
    write_dataset(home / "fashion-mnist", isolated.arrays, compressed=False)
    load(data_home=str(home), download_if_missing=False)  # stamps the files
    _rewrite_in_place_keeping_mtime(str(home / "fashion-mnist" / NAMES[3]))
    load(data_home=str(home), download_if_missing=False)  # the stamp is trusted
    with pytest.raises(OSError, match="SHA-256 should be"):
        load(data_home=str(home), download_if_missing=False, verify=True)


@pytest.mark.parametrize("subset", ["test", "all"])
def test_as_frame(isolated, no_network, subset):
    pd = pytest.importorskip("pandas")
    write_dataset(isolated.system, isolated.arrays)
    X, y = _expected(isolated.arrays, subset)
    bunch = load(subset=subset, as_frame=True, download_if_missing=False)
    assert isinstance(bunch.data, pd.DataFrame)
    assert isinstance(bunch.target, pd.Series) and bunch.target.name == "target"
    assert list(bunch.data.columns) == bunch.feature_names
    assert (bunch.data.dtypes == np.uint8).all()
    np.testing.assert_array_equal(bunch.data.to_numpy(), X)
    np.testing.assert_array_equal(bunch.target.to_numpy(), y)
    assert bunch.frame.shape == (len(X), 785)
    assert list(bunch.frame.columns[-2:]) == ["pixel_27_27", "target"]
    X2, y2 = load(
        subset=subset, as_frame=True, return_X_y=True, download_if_missing=False
    )
    assert isinstance(X2, pd.DataFrame) and isinstance(y2, pd.Series)


def test_as_frame_without_pandas_names_it(isolated, no_network, monkeypatch):
    import builtins

    write_dataset(isolated.system, isolated.arrays)
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "pandas", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match="as_frame=True.* needs pandas"):
        load(as_frame=True, download_if_missing=False)
    # NumPy output still works without pandas.
    assert load(download_if_missing=False).data.shape == (N_TRAIN + N_TEST, 784)


@pytest.mark.parametrize("where", ["argument", "env"])
def test_bad_file_named_by_the_user_is_an_error(isolated, monkeypatch, where):
    write_dataset(isolated.system, isolated.arrays)  # a good copy exists too
    home = isolated.tmp / "home"
    bad = dict(isolated.arrays)
    bad[NAMES[2]] = bad[NAMES[2]].copy()
    bad[NAMES[2]][0, 0, 0] ^= 1
    write_dataset(home / "fashion-mnist", bad)
    kwargs = {}
    if where == "argument":
        kwargs["data_home"] = str(home)
    else:
        monkeypatch.setenv(_home.ENV_DATA, str(home))
    with pytest.raises(OSError) as info:
        load(download_if_missing=False, **kwargs)
    message = str(info.value)
    path = str(home / "fashion-mnist" / (NAMES[2] + ".gz"))
    assert path in message
    assert "decompressed SHA-256 should be" in message and "found" in message
    assert "Delete it" in message
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DataIntegrityError)


def test_size_mismatch_in_decompressed_file(isolated):
    home = isolated.tmp / "home"
    write_dataset(home / "fashion-mnist", isolated.arrays, compressed=False)
    with open(home / "fashion-mnist" / NAMES[0], "ab") as f:
        f.write(b"\0")
    with pytest.raises(OSError, match=r"size should be \d+ bytes, found \d+ bytes"):
        load(data_home=str(home), download_if_missing=False)


def test_data_home_before_env_before_cache_before_system(isolated, monkeypatch):
    bad = {k: v.copy() for k, v in isolated.arrays.items()}
    for key in NAMES:
        bad[key][:] = bad[key][::-1]  # valid IDX files, wrong content
    home, env = isolated.tmp / "home", isolated.tmp / "env"
    write_dataset(home, isolated.arrays)
    write_dataset(env, bad)
    monkeypatch.setenv(_home.ENV_DATA, str(env))
    write_dataset(os.path.join(isolated.user_cache, "fashion-mnist"), bad)
    write_dataset(isolated.system, bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the bad copies later in line are not read
        load(data_home=str(home), download_if_missing=False)
    # Without the argument, FMNIST_DATA comes first and its bad file is an error.
    with pytest.raises(OSError, match=str(env)):
        load(download_if_missing=False)


def test_cache_before_system_and_bad_cache_is_skipped(isolated):
    cache = os.path.join(isolated.user_cache, "fashion-mnist")
    write_dataset(isolated.system, isolated.arrays)
    bad = tiny_arrays(seed=5)
    write_dataset(cache, bad, compressed=True)
    with pytest.warns(UserWarning, match="Ignoring it"):
        X, _ = load(return_X_y=True, download_if_missing=False)
    np.testing.assert_array_equal(X, _expected(isolated.arrays, "all")[0])


def test_bad_system_file_is_skipped_with_a_warning(isolated, no_network):
    write_dataset(isolated.system, tiny_arrays(seed=9))
    with pytest.warns(UserWarning, match="is not the expected file"):
        with pytest.raises(OSError, match="Downloading is off"):
            load(download_if_missing=False)


def test_unwritable_cache_still_loads(isolated, monkeypatch):
    blocker = isolated.tmp / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(_home, "_user_cache", lambda: str(blocker / "cache"))
    write_dataset(isolated.system, isolated.arrays)
    before = listing(isolated.system)
    with pytest.warns(UserWarning, match="Could not cache"):
        bunch = load(download_if_missing=False)
    np.testing.assert_array_equal(bunch.data, _expected(isolated.arrays, "all")[0])
    assert np.shares_memory(bunch.images, bunch.data)
    assert listing(isolated.system) == before


def test_system_folder_is_never_written(isolated, monkeypatch):
    write_dataset(isolated.system, isolated.arrays)
    before = listing(isolated.system)
    monkeypatch.setattr(
        _home, "_user_cache", lambda: os.path.join(isolated.system, "cache")
    )
    load(download_if_missing=False)
    assert listing(isolated.system) == before


def test_mnist_decompressed_file_without_stamp_cannot_be_verified(isolated):
    mnist_arrays = tiny_arrays(seed=1)
    home = isolated.tmp / "home"
    write_dataset(home / "mnist", mnist_arrays, compressed=False)
    with pytest.raises(OSError, match="cannot be verified.*Put the original"):
        load(dataset="mnist", data_home=str(home), download_if_missing=False)


def test_mnist_archive_verified_by_archive_digest(isolated, no_network):
    mnist_arrays = tiny_arrays(seed=1)
    home = isolated.tmp / "home"
    write_dataset(home / "mnist", mnist_arrays)
    bunch = load(dataset="mnist", data_home=str(home), download_if_missing=False)
    assert bunch.target_names == [str(d) for d in range(10)]
    assert "MNIST" in bunch.DESCR
    np.testing.assert_array_equal(bunch.data, _expected(mnist_arrays, "all")[0])
    stamp = json.loads((home / "mnist" / (NAMES[0] + ".verified.json")).read_text())
    assert stamp["verified_by"] == "archive-sha256"
    # Later loads check the decompressed copy against the stamped payload digest.
    (home / "mnist" / (NAMES[0] + ".gz")).unlink()
    load(dataset="mnist", data_home=str(home), download_if_missing=False)
    # A Fashion-MNIST file in the MNIST folder is refused.
    write_dataset(home / "mnist", isolated.arrays, names=NAMES[2:3])
    os.unlink(home / "mnist" / NAMES[2])
    with pytest.raises(OSError, match="archive SHA-256 should be"):
        load(dataset="mnist", data_home=str(home), download_if_missing=False)


def test_mismatched_shapes_and_labels(isolated):
    arrays = dict(isolated.arrays)
    arrays[NAMES[1]] = np.full(N_TRAIN, 10, np.uint8)
    isolated.install(tiny_dataset(arrays))
    write_dataset(isolated.system, arrays)
    with pytest.raises(ValueError, match="holds label 10: expected labels in 0..9"):
        load(download_if_missing=False)
    clear_data_home(isolated.user_cache)
    arrays[NAMES[1]] = np.zeros(N_TRAIN + 1, np.uint8)
    isolated.install(tiny_dataset(arrays))
    write_dataset(isolated.system, arrays)
    with pytest.raises(ValueError, match=f"expected {N_TRAIN} uint8 labels"):
        load(download_if_missing=False)
    clear_data_home(isolated.user_cache)
    arrays[NAMES[0]] = np.zeros((N_TRAIN, 27, 29), np.uint8)
    isolated.install(tiny_dataset(arrays))
    write_dataset(isolated.system, arrays)
    with pytest.raises(ValueError, match=r"shape \(n, 28, 28\), found dtype uint8"):
        load(download_if_missing=False)


def test_threads_filling_the_same_empty_cache(isolated):
    from concurrent.futures import ThreadPoolExecutor

    arrays = tiny_arrays(seed=0, n_train=3000, n_test=500)
    isolated.install(tiny_dataset(arrays))
    write_dataset(isolated.system, arrays)
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: load(download_if_missing=False).data, range(4))
        )
    X = _expected(arrays, "all")[0]
    for result in results:
        np.testing.assert_array_equal(result, X)
    assert listing(os.path.join(isolated.user_cache, "fashion-mnist")) == sorted(
        list(NAMES) + [n + ".verified.json" for n in NAMES]
    )
