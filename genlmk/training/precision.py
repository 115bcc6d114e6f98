"""Reduced precision for the image-to-image networks, where the processor computes it natively.

The CycleGAN generator and the PatchGAN discriminators take most of a training step's time on a
CPU, and they only ever produce images and realness scores, which bfloat16's 8-bit mantissa
represents to about one grey level. Landmark coordinates are another matter: bfloat16 numbers
between 64 and 128 lie half a pixel apart, so the landmarker, the renderer and every
geometric loss always stay in float32 (they are simply never run inside :func:`image_autocast`).

- :func:`native_bfloat16`: whether a device type computes bfloat16 in hardware (on a CPU:
  AVX512-BF16 or AMX; elsewhere bfloat16 is emulated and slower than float32);
- :func:`resolve_image_dtype`: ``"auto" | "float32" | "bfloat16"`` to the dtype to run in;
- :func:`image_autocast`: the context a network call runs in.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import cache

import torch

from genlmk.options import require

IMAGE_PRECISIONS = ("auto", "float32", "bfloat16")


@cache
def native_bfloat16(device_type: str) -> bool:
    """Whether ``device_type`` (``"cpu"``, ``"cuda"``, ...) computes bfloat16 natively."""
    if device_type == "cpu":
        # private probes of torch's CPU dispatch; a torch without them counts as "not native"
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in probes)
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    return False


def check_image_precision(precision: str, key: str = "model.image_precision") -> None:
    require(precision in IMAGE_PRECISIONS, key, f"must be one of {IMAGE_PRECISIONS}", precision)


def resolve_image_dtype(precision: str, device_type: str) -> torch.dtype:
    """The dtype the image networks compute in: ``precision`` as chosen, ``"auto"`` being
    bfloat16 where :func:`native_bfloat16` and float32 elsewhere."""
    check_image_precision(precision)
    if precision == "auto":
        return torch.bfloat16 if native_bfloat16(device_type) else torch.float32
    return torch.bfloat16 if precision == "bfloat16" else torch.float32


def image_autocast(dtype: torch.dtype, device_type: str) -> AbstractContextManager:
    """Autocast to ``dtype`` on ``device_type`` (nothing for float32)."""
    if dtype == torch.float32:
        return nullcontext()
    return torch.autocast(device_type, dtype=dtype)
