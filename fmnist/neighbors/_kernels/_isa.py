"""The x86 instruction-set levels the uint8 kernels compile for: one row each.

Every SIMD kernel reads what its compile target offers from :data:`LEVELS`,
through :func:`level_of` of the target's CPU features: the 4 x 4 tiles
(``._simd``: instructions, vector widths, bias, masked tails, row groups),
the panel tiles (``._panels``: which panel kinds serve) and the coarse
bounds (``._coarse``: the widest ``pmaddwd``). The first row whose features
the target has is its level, so rows go widest first.

Adding a level is one row here (and a target for the tests in
``tests/_subprocess_helpers.py``); adding a panel kind is one entry of
``._panels.KINDS`` and its code in ``._codes``, named in the rows that have
it.

The target's features come from numba's private code generator
(:func:`target_features`), the one place that reads them: the host's, or
``NUMBA_CPU_FEATURES`` when set (``NUMBA_CPU_NAME`` alone does not change
them).
"""

from typing import NamedTuple

from ._codes import (
    PANEL_DOT_VNNI,
    PANEL_DOT_VNNI_2X4,
    PANEL_DOT_WD,
    PANEL_SAD_256,
    PANEL_SAD_512,
)

__all__ = [
    "LEVELS",
    "VNNI_BIAS",
    "Level",
    "host_features",
    "host_level",
    "level_of",
    "target_features",
]

#: What the ``vpdpbusd`` tiles subtract per query byte: their training bytes
#: are flipped to signed bytes ``y ^ VNNI_BIAS`` (``y - 128``), since the
#: instruction multiplies unsigned by signed bytes.
VNNI_BIAS = 0x80


class Level(NamedTuple):
    """What one instruction-set level offers the uint8 kernels."""

    name: str
    #: LLVM feature names the level needs (all of them).
    features: frozenset
    #: Flags of ``/proc/cpuinfo`` a CPU needs to run the level's code.
    cpu_flags: frozenset
    #: ``psadbw`` vector widths in bytes, widest first (sums of |x - y|).
    sad_widths: tuple
    #: The byte dot product's instruction: "vpdpbusd" (unsigned x signed
    #: bytes, 4 per 32-bit lane, accumulating) or "pmaddwd" (int16 pairs).
    dot: str
    #: Bytes of a row per dot step, widest first.
    dot_widths: tuple
    #: int16 lanes of the widest ``pmaddwd`` (the coarse L2 bound's squares).
    pmaddwd_lanes: int
    #: A row's last partial step read under a mask (AVX-512BW's masked
    #: loads), so that the tiles cover every byte.
    masked_tail: bool
    #: Vector registers: with fewer than 32 a 4 x 4 tile runs as two 2 x 4
    #: halves (its 16 accumulators and 8 rows would spill).
    registers: int
    #: Panel kinds (``._codes.PANEL_*``), in order of preference per tile.
    panels: tuple
    #: A numba CPU name of this level, for the tests' children.
    target: str

    @property
    def bias(self):
        """What the dot tiles subtract per query byte (0 unless vpdpbusd)."""
        return VNNI_BIAS if self.dot == "vpdpbusd" else 0

    def widths(self, kind):
        """``(widths, bias)`` of the tiles of ``kind`` ("sad" or "dot")."""
        if kind == "sad":
            return self.sad_widths, 0
        return self.dot_widths, self.bias


_AVX512 = frozenset({"avx512f", "avx512bw"})

#: The levels, widest first.
LEVELS = (
    # 256-bit vpdpbusd (why: docs/design.rst, "Measured choices").
    Level(
        name="avx512-vnni",
        features=_AVX512 | {"avx512vl", "avx512vnni"},
        cpu_flags=frozenset({"avx512bw", "avx512vl", "avx512_vnni"}),
        sad_widths=(64,),
        dot="vpdpbusd",
        dot_widths=(32,),
        pmaddwd_lanes=32,
        masked_tail=True,
        registers=32,
        panels=(PANEL_SAD_512, PANEL_DOT_VNNI),
        target="cascadelake",
    ),
    Level(
        name="avx512",
        features=_AVX512,
        cpu_flags=frozenset({"avx512bw"}),
        sad_widths=(64,),
        dot="pmaddwd",
        dot_widths=(32,),
        pmaddwd_lanes=32,
        masked_tail=True,
        registers=32,
        panels=(PANEL_SAD_512, PANEL_DOT_WD),
        target="skylake-avx512",
    ),
    # AVX2 with the VEX-encoded byte dot product (Intel Alder Lake and later,
    # AMD Zen 5): 16 registers, so its panels take 2 queries by 4 panels.
    Level(
        name="avx-vnni",
        features=frozenset({"avx2", "avxvnni"}),
        cpu_flags=frozenset({"avx2", "avx_vnni"}),
        sad_widths=(32, 16),
        dot="vpdpbusd",
        dot_widths=(32,),
        pmaddwd_lanes=16,
        masked_tail=False,
        registers=16,
        panels=(PANEL_SAD_256, PANEL_DOT_VNNI_2X4),
        target="alderlake",
    ),
    Level(
        name="avx2",
        features=frozenset({"avx2"}),
        cpu_flags=frozenset({"avx2"}),
        sad_widths=(32, 16),
        dot="pmaddwd",
        dot_widths=(16, 8),
        pmaddwd_lanes=16,
        masked_tail=False,
        registers=16,
        panels=(PANEL_SAD_256, PANEL_DOT_WD),
        target="haswell",
    ),
    Level(
        name="sse2",
        features=frozenset({"sse2"}),
        cpu_flags=frozenset(),
        sad_widths=(16,),
        dot="pmaddwd",
        dot_widths=(8,),
        pmaddwd_lanes=8,
        masked_tail=False,
        registers=16,
        panels=(),
        target="x86-64",
    ),
    # Not x86 (or not known): the kernels' plain loops only.
    Level(
        name="scalar",
        features=frozenset(),
        cpu_flags=frozenset(),
        sad_widths=(),
        dot="",
        dot_widths=(),
        pmaddwd_lanes=0,
        masked_tail=False,
        registers=0,
        panels=(),
        target="",
    ),
)


def level_of(features):
    """The widest level of :data:`LEVELS` whose features are all in
    ``features`` (LLVM feature names)."""
    features = frozenset(features)
    return next(level for level in LEVELS if level.features <= features)


def target_features(context):
    """The CPU features numba's code generator of ``context`` compiles for."""
    try:
        text = context.codegen()._tm_features
    except AttributeError:  # pragma: no cover - other numba targets
        return frozenset()
    return frozenset(f[1:] for f in text.split(",") if f.startswith("+"))


def host_features():
    """The CPU features numba compiles for (the host's, or
    ``NUMBA_CPU_FEATURES``)."""
    from numba.core.registry import cpu_target

    return target_features(cpu_target.target_context)


def host_level():
    """The :class:`Level` numba compiles for in this process."""
    return level_of(host_features())
