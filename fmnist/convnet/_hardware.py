"""Which arithmetic a device computes natively, for ``precision="auto"``.

bfloat16 autocast pays off only where the hardware has bfloat16 instructions;
elsewhere oneDNN or CUDA emulate it, more slowly than float32. The one
decision is :func:`native_bf16`; it reads the CPU flags (Linux
``/proc/cpuinfo``) or the CUDA compute capability, never a "supported" query
that also counts emulation.
"""

import os

import torch

__all__ = [
    "BF16_CPU_FLAGS",
    "cpu_flags",
    "native_bf16",
    "resolve_device",
    "resolve_precision",
    "rng_devices",
]

# x86 flags of bfloat16 arithmetic: AVX-512 BF16 (Cooper Lake, Sapphire Rapids,
# Zen 4 and later) and AMX tiles (Sapphire Rapids and later).
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})

# oneDNN's instruction-set caps (ONEDNN_MAX_CPU_ISA, or its older name
# DNNL_MAX_CPU_ISA) under which it may still use bfloat16 instructions; a lower
# cap, such as AVX2 or AVX512_CORE, makes it emulate bfloat16.
_BF16_ISA_CAPS = frozenset(
    {
        "ALL",
        "DEFAULT",
        "AVX512_CORE_BF16",
        "AVX512_CORE_FP16",
        "AVX512_CORE_AMX",
        "AVX512_CORE_AMX_FP16",
        "AVX10_1_512",
        "AVX10_1_512_AMX",
        "AVX10_1_512_AMX_FP16",
        "AVX10_2_512",
        "AVX10_2_512_AMX_2",
    }
)

# bfloat16 tensor cores arrived with Ampere (compute capability 8.0).
_MIN_CUDA_CAPABILITY = (8, 0)


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU feature flags listed in ``path`` (empty when it is unreadable)."""
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def _onednn_isa_cap():
    """oneDNN's instruction-set cap from the environment, upper case, or ''."""
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        value = os.environ.get(name, "").strip().upper()
        if value:
            return value
    return ""


def _onednn_bf16():
    cap = _onednn_isa_cap()
    if cap and cap not in _BF16_ISA_CAPS:
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def native_bf16(device):
    """Whether ``device`` computes bfloat16 natively (so autocast is faster).

    Parameters
    ----------
    device : str
        A torch device string, ``"cpu"`` or ``"cuda[:index]"``.

    Returns
    -------
    bool
        CPU: oneDNN has bfloat16 kernels, the CPU lists ``avx512_bf16`` or
        ``amx_bf16`` among its flags (plain AVX-512 only emulates bfloat16;
        unknown flags count as no) and ``ONEDNN_MAX_CPU_ISA``, if set, does
        not cap oneDNN below AVX-512 BF16. CUDA: compute capability 8.0 or higher
        (Ampere and later). Any other device: False.
    """
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else 0
        return tuple(torch.cuda.get_device_capability(index)) >= _MIN_CUDA_CAPABILITY
    if device.type == "cpu":
        return bool(BF16_CPU_FLAGS & cpu_flags()) and _onednn_bf16()
    return False


def resolve_device(device):
    """The torch device for the ``device`` parameter ("auto": CUDA if present)."""
    device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_precision(precision, device):
    """The arithmetic for the ``precision`` parameter on ``device``."""
    if precision == "auto":
        return "bfloat16" if native_bf16(device) else "float32"
    return precision


def rng_devices(device):
    """CUDA devices whose random state ``torch.random.fork_rng`` must guard."""
    if device.startswith("cuda"):
        return [torch.device(device).index or 0]
    return []
