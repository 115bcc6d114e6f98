from __future__ import annotations

import pytest
import torch
from conftest import TINY_SYSTEM

from genlmk.errors import ConfigError
from genlmk.systems.landmarks import LandmarkGAN
from genlmk.training import precision
from genlmk.training.precision import resolve_image_dtype


def test_auto_precision_is_bfloat16_only_where_the_processor_has_it(monkeypatch):
    monkeypatch.setattr(precision, "native_bfloat16", lambda device_type: True)
    assert resolve_image_dtype("auto", "cpu") == torch.bfloat16
    monkeypatch.setattr(precision, "native_bfloat16", lambda device_type: False)
    assert resolve_image_dtype("auto", "cpu") == torch.float32
    # an explicit choice is kept either way
    assert resolve_image_dtype("bfloat16", "cpu") == torch.bfloat16
    assert resolve_image_dtype("float32", "cpu") == torch.float32


def test_unknown_image_precision_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"model\.image_precision"):
        LandmarkGAN(template="face", image_precision="fp8", **TINY_SYSTEM)


def _conv_output_dtypes(net: torch.nn.Module) -> list[torch.dtype]:
    seen: list[torch.dtype] = []
    for layer in net.modules():
        if isinstance(layer, torch.nn.Conv2d):
            layer.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    return seen


def test_bfloat16_image_networks_leave_landmarks_and_losses_in_float32():
    torch.manual_seed(0)
    exact = LandmarkGAN(template="face", image_precision="float32", **TINY_SYSTEM)
    reduced = LandmarkGAN(template="face", image_precision="bfloat16", **TINY_SYSTEM)
    reduced.load_state_dict(exact.state_dict())
    generator_dtypes = _conv_output_dtypes(reduced.generator)
    discriminator_dtypes = _conv_output_dtypes(reduced.disc_marked)
    landmarker_dtypes = _conv_output_dtypes(reduced.landmarker)
    unmarked, marked = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)

    total, parts, images = reduced.generator_losses(unmarked, marked)
    _, exact_parts, exact_images = exact.generator_losses(unmarked, marked)

    assert generator_dtypes and set(generator_dtypes) == {torch.bfloat16}
    assert discriminator_dtypes and set(discriminator_dtypes) == {torch.bfloat16}
    assert landmarker_dtypes and set(landmarker_dtypes) == {torch.float32}
    assert images["fake_unmarked"].dtype == torch.float32
    assert all(value.dtype == torch.float32 for value in parts.values())
    # the landmarks of real frames never pass through a reduced-precision network
    assert torch.equal(images["landmarks_unmarked"], exact_images["landmarks_unmarked"])
    # images are good to about a grey level, so the image losses stay close
    assert torch.allclose(images["fake_unmarked"], exact_images["fake_unmarked"], atol=0.02)
    assert parts["cycle_unmarked"].item() == pytest.approx(exact_parts["cycle_unmarked"].item(), rel=0.05)
    total.backward()
    gradients = [p.grad for p in reduced.generator.parameters()]
    assert all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() for g in gradients)
    judged = reduced.discriminator_losses(unmarked, marked, images["fake_marked"], images["fake_unmarked"])
    assert all(torch.isfinite(v) and v.dtype == torch.float32 for v in judged.values())
