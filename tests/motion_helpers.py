"""Tiny First Order Motion Model settings and data shared by the motion tests (32 px frames)."""

from __future__ import annotations

import copy

import torch

TINY = {
    "common_params": {"num_kp": 4, "num_channels": 3, "estimate_jacobian": True},
    "kp_detector_params": {
        "temperature": 0.1,
        "block_expansion": 8,
        "max_features": 32,
        "scale_factor": 0.5,
        "num_blocks": 2,
    },
    "generator_params": {
        "block_expansion": 8,
        "max_features": 32,
        "num_down_blocks": 2,
        "num_bottleneck_blocks": 1,
        "estimate_occlusion_map": True,
        "dense_motion_params": {
            "block_expansion": 8,
            "max_features": 32,
            "num_blocks": 2,
            "scale_factor": 0.5,
        },
    },
    "discriminator_params": {
        "scales": [1],
        "block_expansion": 8,
        "max_features": 32,
        "num_blocks": 2,
        "sn": True,
    },
}


def tiny_params(**section_overrides) -> dict:
    """A deep copy of :data:`TINY`, sections updated with ``section_overrides``."""
    params = copy.deepcopy(TINY)
    for section, values in section_overrides.items():
        params[section].update(values)
    return params


def randomize_(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter and BatchNorm statistic non-trivial random values (in place)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.is_floating_point():
                noise = torch.randn(tensor.shape, generator=generator)
                tensor.copy_(noise.abs() + 0.5 if name.endswith("running_var") else 0.1 * noise + tensor)
    return module
