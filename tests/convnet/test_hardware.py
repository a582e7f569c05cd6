"""precision="auto": bfloat16 only where the hardware computes it natively."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from fmnist import ConvNetClassifier  # noqa: E402
from fmnist.convnet import _hardware  # noqa: E402

# Flags of real CPUs (abridged from /proc/cpuinfo).
SKYLAKE_SERVER = "fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl"
CASCADE_LAKE = SKYLAKE_SERVER + " avx512_vnni"
ZEN4 = CASCADE_LAKE + " avx512_bf16 avx512_vbmi2"
SAPPHIRE_RAPIDS = ZEN4 + " amx_bf16 amx_tile amx_int8"
ZEN3 = "fpu sse2 avx avx2 fma"


def _cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(
        "processor\t: 0\nmodel name\t: Some CPU\n"
        f"flags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n"
    )
    return path


def _mock_cpu(monkeypatch, flags, onednn=True):
    monkeypatch.setattr(_hardware, "cpu_flags", lambda: frozenset(flags.split()))
    monkeypatch.setattr(_hardware, "_onednn_bf16", lambda: onednn)


def test_cpu_flags_reads_the_flags_line(tmp_path):
    flags = _hardware.cpu_flags(_cpuinfo(tmp_path, ZEN4))
    assert "avx512_bf16" in flags and "avx512f" in flags
    assert _hardware.cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(
    "flags, onednn, expected",
    [
        (SKYLAKE_SERVER, True, False),  # AVX-512 without BF16: emulated
        (CASCADE_LAKE, True, False),
        (ZEN3, False, False),
        (ZEN4, True, True),
        (SAPPHIRE_RAPIDS, True, True),
        (ZEN4, False, False),  # a torch build without oneDNN bfloat16
        ("", True, False),  # flags unknown (no /proc/cpuinfo)
    ],
)
def test_cpu_choice_follows_the_flags(monkeypatch, flags, onednn, expected):
    _mock_cpu(monkeypatch, flags, onednn)
    assert _hardware.native_bf16("cpu") is expected


@pytest.mark.parametrize(
    "cap, expected",
    [
        ("AVX2", False),
        ("avx512_core", False),
        ("AVX512_CORE_VNNI", False),
        ("AVX512_CORE_BF16", True),
        ("avx512_core_amx", True),
        ("ALL", True),
    ],
)
def test_onednn_isa_cap_below_bf16_means_emulated(monkeypatch, cap, expected):
    monkeypatch.setattr(_hardware, "cpu_flags", lambda: frozenset(ZEN4.split()))
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    uncapped = _hardware.native_bf16("cpu")  # what the torch build has
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert _hardware.native_bf16("cpu") is (expected and uncapped)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setenv("DNNL_MAX_CPU_ISA", cap)  # the older name
    assert _hardware.native_bf16("cpu") is (expected and uncapped)


@pytest.mark.parametrize(
    "capability, expected",
    [((6, 0), False), ((7, 0), False), ((7, 5), False), ((8, 0), True),
     ((8, 6), True), ((9, 0), True), ((12, 0), True)],
)
def test_cuda_choice_follows_the_compute_capability(monkeypatch, capability, expected):
    asked = []

    def get_device_capability(index):
        asked.append(index)
        return capability

    monkeypatch.setattr(torch.cuda, "get_device_capability", get_device_capability)
    # Emulated bfloat16 counts as "supported" for torch; it must not matter here.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert _hardware.native_bf16("cuda") is expected
    assert _hardware.native_bf16("cuda:1") is expected
    assert asked == [0, 1]


def test_other_devices_use_float32():
    assert _hardware.native_bf16("meta") is False


def test_precision_auto_resolves_through_the_hardware_check(monkeypatch):
    _mock_cpu(monkeypatch, CASCADE_LAKE)
    assert _hardware.resolve_precision("auto", "cpu") == "float32"
    _mock_cpu(monkeypatch, ZEN4)
    assert _hardware.resolve_precision("auto", "cpu") == "bfloat16"
    assert _hardware.resolve_precision("float32", "cpu") == "float32"
    # What fit records follows the same decision.
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    clf = ConvNetClassifier(max_epochs=1, precision="auto", n_threads=1)
    assert clf.fit(X, np.arange(40) % 2).precision_ == "bfloat16"
