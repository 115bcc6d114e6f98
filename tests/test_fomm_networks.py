from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from motion_helpers import TINY, randomize_, tiny_params

from genlmk.errors import CheckpointError, ConfigError
from genlmk.geometry.filters import antialias_downscale, antialias_kernel, image_pyramid
from genlmk.geometry.keypoints import Keypoints, keypoint_grid
from genlmk.inference.motion import MotionTransfer
from genlmk.networks.fomm import (
    VOX_256,
    DenseMotionNetwork,
    build_fomm,
    checkpoint_filter_fn,
    infer_model_params,
)

# ---------------------------------------------------------------- the released vox-256 layout, written out
# Channel pairs (in, out) of every block of config/vox-256.yaml, as literal numbers (independent of the
# width formulas in genlmk.networks.fomm).
_KP_DOWN = [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1024)]
_KP_UP = [(1024, 512), (1024, 256), (512, 128), (256, 64), (128, 32)]
_DM_DOWN = [(44, 128), (128, 256), (256, 512), (512, 1024), (1024, 1024)]
_DM_UP = [(1024, 1024), (2048, 512), (1024, 256), (512, 128), (256, 64)]
_DISC = [(3, 64), (64, 128), (128, 256), (256, 512)]


def _conv_bn(prefix: str, cin: int, cout: int, k: int = 3) -> dict[str, tuple]:
    shapes = {f"{prefix}.conv.weight": (cout, cin, k, k), f"{prefix}.conv.bias": (cout,)}
    for name in ("weight", "bias", "running_mean", "running_var"):
        shapes[f"{prefix}.norm.{name}"] = (cout,)
    shapes[f"{prefix}.norm.num_batches_tracked"] = ()
    return shapes


def _hourglass(prefix: str, down, up) -> dict[str, tuple]:
    shapes = {}
    for i, (cin, cout) in enumerate(down):
        shapes |= _conv_bn(f"{prefix}.encoder.down_blocks.{i}", cin, cout)
    for i, (cin, cout) in enumerate(up):
        shapes |= _conv_bn(f"{prefix}.decoder.up_blocks.{i}", cin, cout)
    return shapes


def released_vox_layout() -> dict[str, dict[str, tuple]]:
    """Names and shapes of every tensor in vox-cpk.pth.tar's three state dicts."""
    kp = _hourglass("predictor", _KP_DOWN, _KP_UP) | {
        "kp.weight": (10, 35, 7, 7),
        "kp.bias": (10,),
        "jacobian.weight": (40, 35, 7, 7),
        "jacobian.bias": (40,),
        "down.weight": (3, 1, 13, 13),
    }
    generator = _hourglass("dense_motion_network.hourglass", _DM_DOWN, _DM_UP) | {
        "dense_motion_network.mask.weight": (11, 108, 7, 7),
        "dense_motion_network.mask.bias": (11,),
        "dense_motion_network.occlusion.weight": (1, 108, 7, 7),
        "dense_motion_network.occlusion.bias": (1,),
        "dense_motion_network.down.weight": (3, 1, 13, 13),
        "final.weight": (3, 64, 7, 7),
        "final.bias": (3,),
    }
    generator |= _conv_bn("first", 3, 64, k=7)
    generator |= _conv_bn("down_blocks.0", 64, 128) | _conv_bn("down_blocks.1", 128, 256)
    generator |= _conv_bn("up_blocks.0", 256, 128) | _conv_bn("up_blocks.1", 128, 64)
    for r in range(6):
        for j in (1, 2):
            generator[f"bottleneck.r{r}.conv{j}.weight"] = (256, 256, 3, 3)
            generator[f"bottleneck.r{r}.conv{j}.bias"] = (256,)
            for name in ("weight", "bias", "running_mean", "running_var"):
                generator[f"bottleneck.r{r}.norm{j}.{name}"] = (256,)
            generator[f"bottleneck.r{r}.norm{j}.num_batches_tracked"] = ()
    disc = {}
    for i, (cin, cout) in enumerate([*_DISC, (512, 1)]):
        prefix = f"discs.1.down_blocks.{i}.conv" if i < len(_DISC) else "discs.1.conv"
        k = 4 if i < len(_DISC) else 1
        disc |= {
            f"{prefix}.weight_orig": (cout, cin, k, k),
            f"{prefix}.bias": (cout,),
            f"{prefix}.weight_u": (cout,),
            f"{prefix}.weight_v": (cin * k * k,),
        }
        if 0 < i < len(_DISC):
            disc |= {
                f"discs.1.down_blocks.{i}.norm.weight": (cout,),
                f"discs.1.down_blocks.{i}.norm.bias": (cout,),
            }
    return {"kp_detector": kp, "generator": generator, "discriminator": disc}


def _random_state(shapes: dict[str, tuple], generator: torch.Generator) -> dict[str, torch.Tensor]:
    state = {}
    for name, shape in shapes.items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(12345)
        elif name.endswith("running_var"):
            state[name] = torch.rand(shape, generator=generator) + 0.5
        elif name == "jacobian.bias":
            state[name] = torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(10) + 0.01 * torch.randn(
                40, generator=generator
            )
        else:
            scale = 0.001 if name == "jacobian.weight" else 0.02
            state[name] = scale * torch.randn(shape, generator=generator)
    return state


def test_our_networks_have_exactly_the_released_names_and_shapes():
    models = build_fomm(VOX_256)
    layout = released_vox_layout()
    for part in ("kp_detector", "generator", "discriminator"):
        ours = {k: tuple(v.shape) for k, v in getattr(models, part).state_dict().items()}
        assert ours == layout[part], part


def test_released_layout_checkpoint_loads_strictly_and_animates(tmp_path):
    generator = torch.Generator().manual_seed(0)
    layout = released_vox_layout()
    adam = {"state": {}, "param_groups": [{"lr": 2e-4, "betas": (0.5, 0.999), "params": [0, 1]}]}
    checkpoint = {part: _random_state(shapes, generator) for part, shapes in layout.items()}
    checkpoint |= {f"optimizer_{p}": adam for p in ("generator", "discriminator", "kp_detector")} | {
        "epoch": 99
    }
    # the pre-1.6 (non-zip) serialization of 2019's released files
    torch.save(checkpoint, tmp_path / "vox-cpk.pth.tar", _use_new_zipfile_serialization=False)

    parts = checkpoint_filter_fn(torch.load(tmp_path / "vox-cpk.pth.tar", weights_only=True))
    params = infer_model_params(parts)
    models = build_fomm(params)
    for part in ("kp_detector", "generator", "discriminator"):
        getattr(models, part).load_state_dict(parts[part], strict=True)  # raises on any mismatch
    assert torch.equal(models.kp_detector.kp.weight, checkpoint["kp_detector"]["kp.weight"])
    assert int(models.generator.bottleneck.r5.norm2.num_batches_tracked) == 12345

    model = MotionTransfer.from_checkpoint(tmp_path / "vox-cpk.pth.tar")
    assert model.frame_size == (256, 256)
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (200, 180, 3), dtype=np.uint8)  # resized to 256 px inside
    driving = model.prepare([rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(2)])
    frames, initial = model.animate(source, driving, relative=True, adapt_scale=True)
    frames = list(frames)
    assert initial == 0 and len(frames) == 2
    assert all(
        f.shape == (256, 256, 3) and np.isfinite(f).all() and 0 <= f.min() <= f.max() <= 1 for f in frames
    )


def test_filter_mends_dataparallel_prefix_and_pre_0_4_batchnorm():
    models = randomize_(build_fomm(TINY).kp_detector)
    state = {
        f"module.{k}": v for k, v in models.state_dict().items() if not k.endswith("num_batches_tracked")
    }
    parts = checkpoint_filter_fn({"kp_detector": state, "generator": {}})
    fresh = build_fomm(TINY).kp_detector
    fresh.load_state_dict(parts["kp_detector"], strict=True)
    assert torch.equal(
        fresh.predictor.encoder.down_blocks[0].norm.running_var,
        models.state_dict()["predictor.encoder.down_blocks.0.norm.running_var"],
    )


def test_filter_splits_lightning_checkpoints_and_rejects_foreign_files():
    models = build_fomm(TINY)
    state = {
        f"{part}.{k}": v
        for part in ("kp_detector", "generator")
        for k, v in getattr(models, part).state_dict().items()
    }
    state["perceptual_network.slices.0.weight"] = torch.zeros(1)
    parts = checkpoint_filter_fn({"state_dict": state, "epoch": 3})
    assert set(parts) == {"kp_detector", "generator"}
    assert set(parts["generator"]) == set(models.generator.state_dict())
    with pytest.raises(
        CheckpointError, match=r"not a First Order Motion Model checkpoint .*found epoch, model"
    ):
        checkpoint_filter_fn({"model": {}, "epoch": 1})


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "kp_detector_params": {"single_jacobian_map": True, "scale_factor": 1},
            "discriminator_params": {"scales": [1, 0.5], "use_kp": True, "sn": False, "num_blocks": 3},
            "generator_params": {"estimate_occlusion_map": False, "num_bottleneck_blocks": 3},
        },
    ],
)
def test_infer_model_params_rebuilds_networks_that_load_strictly(overrides):
    models = build_fomm(tiny_params(**overrides))
    parts = checkpoint_filter_fn(
        {p: getattr(models, p).state_dict() for p in ("kp_detector", "generator", "discriminator")}
    )
    params = infer_model_params(parts)
    rebuilt = build_fomm(params)
    for part in ("kp_detector", "generator", "discriminator"):
        getattr(rebuilt, part).load_state_dict(parts[part], strict=True)
    if overrides:
        assert params["kp_detector_params"]["single_jacobian_map"] is True
        assert params["kp_detector_params"]["scale_factor"] == 1
        assert (
            params["discriminator_params"]["use_kp"] is True and params["discriminator_params"]["sn"] is False
        )
        assert sorted(params["discriminator_params"]["scales"]) == [0.5, 1]


def test_build_rejects_unknown_keys_with_the_section_name():
    with pytest.raises(ConfigError, match=r"model_params.generator_params: unknown key 'num_blockz'"):
        build_fomm(tiny_params(generator_params={"num_blockz": 3}))
    with pytest.raises(ConfigError, match=r"model_params.kp_detector_params: expected a mapping"):
        build_fomm({**TINY, "kp_detector_params": [1, 2]})


def test_antialias_kernel_is_the_documented_gaussian():
    kernel = antialias_kernel(0.25, channels=3)
    assert kernel.shape == (3, 1, 13, 13)  # sigma = (1/0.25 - 1) / 2 = 1.5, size 2 * round(6) + 1
    assert torch.allclose(kernel.sum(dim=(-2, -1)), torch.ones(3, 1))
    row = kernel[0, 0, 6] / kernel[0, 0, 6, 6]
    assert torch.allclose(row, torch.exp(-((torch.arange(13.0) - 6) ** 2) / (2 * 1.5**2)), atol=1e-6)
    assert antialias_kernel(0.5).shape[-1] == 5 and antialias_kernel(0.125).shape[-1] == 29


def test_antialias_downscale_equals_blurring_then_subsampling():
    images = torch.rand(2, 3, 20, 24)
    kernel = antialias_kernel(0.25, 3)
    blurred = F.conv2d(F.pad(images, (6, 6, 6, 6)), kernel, groups=3)
    assert torch.allclose(antialias_downscale(images, 0.25), blurred[:, :, ::4, ::4], atol=1e-6)
    pyramid = image_pyramid(images, [1, 0.5])
    assert pyramid[1] is images and pyramid[0.5].shape == (2, 3, 10, 12)


def test_kp_detector_outputs_and_identity_jacobians_at_initialisation():
    detector = build_fomm(TINY).kp_detector.eval()
    kp = detector(torch.rand(3, 3, 32, 32))
    assert kp.value.shape == (3, 4, 2) and kp.heatmap.shape == (3, 4, 10, 10)  # 7x7 conv, no padding
    assert torch.allclose(kp.heatmap.sum(dim=(-2, -1)), torch.ones(3, 4))
    assert kp.value.abs().max() <= 1
    assert torch.allclose(kp.jacobian, torch.eye(2).expand(3, 4, 2, 2), atol=1e-6)


def test_sparse_motion_is_the_first_order_formula_at_every_pixel():
    generator = torch.Generator().manual_seed(3)
    kp_s = Keypoints(
        torch.rand(2, 3, 2, generator=generator) * 2 - 1, torch.randn(2, 3, 2, 2, generator=generator)
    )
    kp_d = Keypoints(
        torch.rand(2, 3, 2, generator=generator) * 2 - 1, torch.randn(2, 3, 2, 2, generator=generator)
    )
    motions = DenseMotionNetwork.sparse_motions(5, 7, kp_s, kp_d).numpy()
    assert motions.shape == (2, 4, 5, 7, 2)
    xs, ys = np.linspace(-1, 1, 7), np.linspace(-1, 1, 5)
    for b in range(2):
        for k in range(3):
            matrix = kp_s.jacobian[b, k].double().numpy() @ np.linalg.inv(
                kp_d.jacobian[b, k].double().numpy()
            )
            for i in (0, 3):
                for j in (0, 6, 2):
                    z = np.array([xs[j], ys[i]])
                    expected = kp_s.value[b, k].numpy() + matrix @ (z - kp_d.value[b, k].numpy())
                    np.testing.assert_allclose(motions[b, k + 1, i, j], expected, atol=1e-4)
        np.testing.assert_allclose(motions[b, 0], keypoint_grid(5, 7).numpy(), atol=1e-7)


def test_generator_with_equal_keypoints_warps_by_the_identity():
    models = build_fomm(TINY)
    generator = randomize_(models.generator).eval()
    source = torch.rand(2, 3, 32, 32)
    kp = models.kp_detector.eval()(source)
    out = generator(source, kp, kp)
    assert out.prediction.shape == (2, 3, 32, 32) and 0 <= out.prediction.min() <= out.prediction.max() <= 1
    assert out.motion.mask.shape == (2, 5, 16, 16) and out.motion.occlusion.shape == (2, 1, 16, 16)
    # every candidate motion is the identity when source and driving keypoints coincide
    assert torch.allclose(out.motion.deformation, keypoint_grid(16, 16).expand(2, 16, 16, 2), atol=1e-5)


def test_multiscale_discriminator_scores_each_scale():
    disc = build_fomm(tiny_params(discriminator_params={"scales": [1, 0.5], "num_blocks": 2})).discriminator
    assert sorted(disc.discs) == ["0-5", "1"]
    out = disc(image_pyramid(torch.rand(2, 3, 32, 32), [1, 0.5]))
    assert set(out) == {1, 0.5}
    assert out[1].prediction.shape[:2] == (2, 1) and len(out[0.5].features) == 2
