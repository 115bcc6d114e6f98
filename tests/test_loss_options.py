"""The landmark system's typed options: checks, mappings, layering, and old checkpoints."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_SYSTEM
from training_helpers import landmark_data, landmark_fit_args

from genlmk.checkpoints import KIND_KEY, TEMPLATE_KEY, atomic_torch_save, load_checkpoint
from genlmk.cli.main import main
from genlmk.errors import ConfigError
from genlmk.inference.landmarker import Landmarker
from genlmk.losses.options import FlowAppearance, FlowTerm, LandmarkLosses, upgrade_hparams
from genlmk.networks.cyclegan import GeneratorOptions
from genlmk.options import build_options, known_keys, lay_over
from genlmk.rendering import MarkerRenderSettings
from genlmk.systems.landmarks import LandmarkGAN

# the flat hyperparameters LandmarkGAN wrote before the ``losses`` layout
OLD_LOSS_HPARAMS = {
    "weights": {"gan": 1.0, "cycle": 10.0, "spring": 1.0, "chamfer": 5.0, "paint_free": 10.0, "flow": 20.0},
    "equivariance": {"jpeg": 40, "threshold": 0.5},
    "paint_tolerance": 0.05,
    "paint_samples": 256,
    "flow_method": "dis",
    "flow_window": 31,
    "flow_threshold": 0.25,
    "flow_aperture": False,
    "flow_appearance": {"gain": 0.08, "jpeg": 40},
    "order_lines": "closed",
    "detach_landmarker_input": True,
}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"gan": {"weight": -1.0}}, r"model\.losses\.gan\.weight must be >= 0, got -1\.0"),
        ({"chamfer": {"samples": 0}}, r"model\.losses\.chamfer\.samples must be at least 1, got 0"),
        (
            {"paint_free": {"tolerance": 0.0}},
            r"model\.losses\.paint_free\.tolerance must be a cosine distance",
        ),
        ({"equivariance": {"affine": -0.1}}, r"model\.losses\.equivariance\.affine must not be negative"),
        ({"flow": {"weight": float("nan")}}, r"model\.losses\.flow\.weight must be >= 0, got nan"),
        ({"flow": 3}, r"model\.losses\.flow: expected a mapping of FlowTerm fields, got 3"),
    ],
)
def test_each_bad_loss_setting_is_a_one_line_config_error_naming_the_option(block, message):
    with pytest.raises(ConfigError, match=message):
        build_options(LandmarkLosses, block, "model.losses")


def test_a_mapping_fills_only_the_fields_it_names_and_the_options_are_frozen():
    losses = build_options(
        LandmarkLosses, {"flow": {"weight": 2.0, "appearance": {"jpeg": 40}}}, "model.losses"
    )
    assert losses.flow == FlowTerm(weight=2.0, appearance=FlowAppearance(jpeg=40))
    assert losses.chamfer == LandmarkLosses().chamfer and losses.weight("cycle") == 10.0
    assert losses.flow.aperture is True  # the default: along-line motion from the affine fit
    assert build_options(LandmarkLosses, losses, "model.losses") is losses
    with pytest.raises(FrozenInstanceError):
        losses.flow.weight = 3.0  # type: ignore[misc]


def test_known_keys_walk_the_typed_blocks_of_a_constructor():
    assert known_keys(LandmarkGAN, "losses.flow.windw") == sorted(
        ["weight", "method", "window", "threshold", "aperture", "appearance"]
    )
    assert known_keys(LandmarkGAN, "renderer.backnd") == sorted(
        ["backend", "center_coverage", "sample_spacing", "truncate", "points_per_pixel"]
    )
    assert known_keys(MarkerRenderSettings, "backnd") == known_keys(LandmarkGAN, "renderer.backnd")
    assert known_keys(LandmarkGAN, "colour") is None  # a top-level argument: no block to list
    assert "visibility" in known_keys(LandmarkGAN, "landmarker.hed")


def test_presets_lay_over_typed_blocks_field_by_field_and_replace_other_values_whole():
    base = {
        "losses": {"chamfer": {"weight": 5.0}, "flow": {"weight": 1.0, "window": 15}},
        "landmarker": {"channels": [4, 8], "coords": True},
        "generator": {"ngf": 16, "blocks": 3},
    }
    top = {"losses": {"flow": {"window": 31}}, "landmarker": {"head": "heatmap"}, "generator": {"ngf": 8}}
    laid = lay_over(LandmarkGAN, base, top)
    assert laid["losses"] == {"chamfer": {"weight": 5.0}, "flow": {"weight": 1.0, "window": 31}}
    # a later preset adds a field to the landmarker an earlier one built
    assert laid["landmarker"] == {"channels": [4, 8], "coords": True, "head": "heatmap"}
    assert laid["generator"] == {"ngf": 8, "blocks": 3}
    assert lay_over(None, base, top)["losses"] == top["losses"]


def test_old_flat_hyperparameters_are_translated_into_the_losses_layout():
    upgraded = upgrade_hparams({"lr": 1e-3, **OLD_LOSS_HPARAMS})
    assert set(upgraded) == {"lr", "losses"}
    losses = build_options(LandmarkLosses, upgraded["losses"], "model.losses")
    assert (losses.chamfer.weight, losses.paint_free.weight, losses.flow.weight) == (5.0, 10.0, 20.0)
    assert (losses.flow.method, losses.flow.window, losses.flow.threshold) == ("dis", 31, 0.25)
    assert losses.flow.aperture is False and losses.flow.appearance.amounts()["gain"] == 0.08
    assert (losses.chamfer.tolerance, losses.paint_free.tolerance, losses.chamfer.samples) == (
        0.05,
        0.05,
        256,
    )
    assert (losses.equivariance.jpeg, losses.equivariance.threshold) == (40, 0.5)
    assert losses.equivariance.weight == 0.0 and losses.order.lines == "closed"
    new = {"lr": 1e-3, "losses": {"flow": {"weight": 1.0}}}
    assert upgrade_hparams(new) == new


def test_a_checkpoint_with_the_old_hyperparameter_layout_loads_and_predicts_the_same(tmp_path):
    torch.manual_seed(0)
    trained = LandmarkGAN(template="face", **TINY_SYSTEM).eval()
    old_hparams = {
        **TINY_SYSTEM,
        "template": trained.hparams["template"],
        "image_size": [64, 64],
        "renderer": {"backend": "splat"},
        "lr": 2e-4,
        "landmarker_lr": None,
        "betas": [0.5, 0.999],
        "decay_start": 0.5,
        "pool_size": 50,
        "init_generator": None,
        "init_discriminator_marked": None,
        "init_discriminator_unmarked": None,
        **OLD_LOSS_HPARAMS,
    }
    path = tmp_path / "old.ckpt"
    atomic_torch_save(
        {
            KIND_KEY: "landmarks",
            TEMPLATE_KEY: trained.hparams["template"],
            "hyper_parameters": old_hparams,
            "state_dict": trained.state_dict(),
            "pytorch-lightning_version": "2.6.0",
        },
        path,
    )
    images = torch.rand(2, 3, 64, 64)
    expected = trained(images)

    loaded = LandmarkGAN.load_from_checkpoint(path, map_location="cpu").eval()
    assert torch.equal(loaded(images), expected)
    assert loaded.losses.flow.window == 31 and loaded.losses.chamfer.weight == 5.0
    assert loaded.hparams["losses"]["order"]["lines"] == "closed"
    assert "weights" not in loaded.hparams and "flow_window" not in loaded.hparams
    assert torch.allclose(Landmarker.from_checkpoint(path).run_network(images), expected)


def test_the_network_sizes_are_typed_blocks_too():
    with pytest.raises(ConfigError, match=r"model\.generator\.ngf must be at least 1, got 0"):
        LandmarkGAN(template="face", **{**TINY_SYSTEM, "generator": {"ngf": 0}})
    assert build_options(GeneratorOptions, {"blocks": 2}, "model.generator") == GeneratorOptions(blocks=2)


def test_fit_resumes_from_a_training_checkpoint_with_the_old_hyperparameter_layout(tmp_path):
    data = landmark_data(tmp_path / "data", frames=4)
    assert main(landmark_fit_args(data, tmp_path / "first", steps=2)) == 0
    (first,) = (tmp_path / "first").glob("landmarks/version_0/checkpoints/last.ckpt")
    checkpoint = torch.load(first, map_location="cpu", weights_only=True)
    hparams = {key: value for key, value in checkpoint["hyper_parameters"].items() if key != "losses"}
    checkpoint["hyper_parameters"] = {**hparams, **OLD_LOSS_HPARAMS}
    old = tmp_path / "old.ckpt"
    atomic_torch_save(checkpoint, old)

    assert main([*landmark_fit_args(data, tmp_path / "resumed", steps=4), "--ckpt_path", str(old)]) == 0
    (resumed,) = (tmp_path / "resumed").glob("landmarks/version_0/checkpoints/last.ckpt")
    stored = load_checkpoint(resumed)
    assert stored["global_step"] == 4
    flow = stored["hyper_parameters"]["losses"]["flow"]
    assert (flow["weight"], flow["method"], flow["window"]) == (20.0, "dis", 31)  # the old checkpoint's


# written by `genlmk fit` before the losses layout (tiny networks, 32 px, two steps, equivariance
# weight 2, flow window 21, flow_appearance left at its None default), through LightningCLI, whose
# checkpoints are rebuilt by jsonargparse on loading
OLD_CLI_CHECKPOINT = Path(__file__).parent / "data" / "landmarks-old-layout.ckpt"


def test_a_checkpoint_written_by_the_old_command_line_loads_predicts_and_resumes(tmp_path):
    stored = torch.load(OLD_CLI_CHECKPOINT, map_location="cpu", weights_only=True)["hyper_parameters"]
    assert "weights" in stored and stored["flow_appearance"] is None and "_instantiator" in stored
    loaded = LandmarkGAN.load_from_checkpoint(OLD_CLI_CHECKPOINT, map_location="cpu")
    assert (loaded.losses.equivariance.weight, loaded.losses.flow.window) == (2.0, 21)
    assert loaded.losses.flow.appearance == FlowAppearance()
    landmarks = Landmarker.from_checkpoint(OLD_CLI_CHECKPOINT).predict(np.zeros((2, 32, 32, 3), np.uint8))
    assert landmarks.shape == (2, 4, 2) and np.isfinite(landmarks).all()

    data = landmark_data(tmp_path / "data", frames=4)
    args = [*landmark_fit_args(data, tmp_path / "resumed", steps=3), "--model.pool_size", "0"]
    assert main([*args, "--ckpt_path", str(OLD_CLI_CHECKPOINT)]) == 0
    (resumed,) = (tmp_path / "resumed").glob("landmarks/version_0/checkpoints/last.ckpt")
    assert load_checkpoint(resumed)["global_step"] == 3
