"""The landmark presets in configs/landmarks/: how they lay over each other and that they train."""

from __future__ import annotations

import pytest
import torch
import yaml
from training_helpers import ROOT, landmark_data, landmark_fit_args, scalars

from genlmk.cli.fit import layered_init_args
from genlmk.cli.main import main
from genlmk.errors import ConfigError

PRESETS = ROOT / "configs/landmarks"
TINY_HEATMAP = '{"channels": [4, 4, 4, 4], "hidden": 8, "head": "heatmap", "norm": "instance"}'


def _model_args(name: str) -> dict:
    return layered_init_args([PRESETS / name])["model"]


def test_presets_laid_over_each_other_take_each_key_from_the_last_file_that_sets_it(tmp_path):
    names = ("cpu.yaml", "heatmap.yaml", "video.yaml")
    layered = layered_init_args([PRESETS / name for name in names])
    assert layered["model"]["landmarker"]["head"] == "heatmap"  # heatmap.yaml over cpu.yaml
    # the loss blocks field by field: video.yaml's terms added, cpu.yaml's weights kept
    assert layered["model"]["losses"] == {
        **_model_args("cpu.yaml")["losses"],
        **_model_args("video.yaml")["losses"],
    }
    assert layered["model"]["lr"] == _model_args("cpu.yaml")["lr"]  # only cpu.yaml sets it
    assert layered["data"]["temporal"] is True and layered["data"]["batch_size"] == 8
    bare = tmp_path / "bare.yaml"
    bare.write_text("trainer: {max_steps: 3}\n")
    assert layered_init_args([bare]) == {"model": {}, "data": {}}


def test_sessions_preset_adds_visibility_to_the_head_an_earlier_preset_chose():
    recipe = layered_init_args([PRESETS / name for name in ("cpu.yaml", "heatmap.yaml", "sessions.yaml")])
    assert recipe["model"]["landmarker"] == {**_model_args("heatmap.yaml")["landmarker"], "visibility": True}
    regression = layered_init_args([PRESETS / "gpu.yaml", PRESETS / "sessions.yaml"])
    assert regression["model"]["landmarker"] == {**_model_args("gpu.yaml")["landmarker"], "visibility": True}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "preset file not found"),
        ("model: [unclosed\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
    ],
)
def test_a_preset_that_is_missing_or_not_a_yaml_mapping_is_named_in_a_config_error(tmp_path, text, problem):
    preset = tmp_path / "preset.yaml"
    if text is not None:
        preset.write_text(text)
    with pytest.raises(ConfigError, match=f"preset.yaml: {problem}"):
        layered_init_args([PRESETS / "cpu.yaml", preset])


@pytest.mark.parametrize("base", ["cpu.yaml", "gpu.yaml"])
def test_the_video_preset_changes_only_the_terms_it_names(base):
    laid = layered_init_args([PRESETS / base, PRESETS / "video.yaml"])["model"]["losses"]
    video = _model_args("video.yaml")["losses"]
    assert {term: block for term, block in laid.items() if term not in video} == {
        term: block for term, block in _model_args(base)["losses"].items() if term not in video
    }
    assert laid["chamfer"] == _model_args(base)["losses"]["chamfer"]  # gpu: chamfer 1, not cpu's 5
    assert all(laid[term]["weight"] > 0 for term in ("flow", "equivariance", "order"))


def test_the_video_preset_trains_with_the_aperture_flow_loss_on_changed_next_frames(tmp_path):
    data = landmark_data(tmp_path / "data", frames=8)
    args = landmark_fit_args(data, tmp_path / "runs", steps=2)
    overlays = ["--config", str(PRESETS / "heatmap.yaml"), "--config", str(PRESETS / "video.yaml")]
    cpu_preset = args.index(str(PRESETS / "cpu.yaml"))
    args[cpu_preset + 1 : cpu_preset + 1] = overlays
    assert main([*args, "--model.landmarker", TINY_HEATMAP]) == 0

    (checkpoint,) = (tmp_path / "runs").glob("landmarks/version_0/checkpoints/last.ckpt")
    hparams = torch.load(checkpoint, map_location="cpu", weights_only=False)["hyper_parameters"]
    losses = hparams["losses"]
    flow = losses["flow"]
    assert flow["aperture"] is True and losses["order"]["lines"] == "all"
    assert (flow["window"], flow["threshold"]) == (31, 0.25)
    assert (
        flow["weight"] == 20.0
        and losses["chamfer"]["weight"] == 5.0
        and losses["paint_free"]["weight"] == 10.0
    )
    equivariance = losses["equivariance"]
    assert (equivariance["weight"], equivariance["jpeg"], equivariance["affine"]) == (5.0, 40, 0.08)
    appearance = {"gain": 0.08, "color": 0.03, "gamma": 0.05, "noise": 0.01, "ramp": 0.08, "jpeg": 40}
    assert flow["appearance"] == appearance
    run_config = yaml.safe_load(next((tmp_path / "runs").glob("landmarks/version_0/config.yaml")).read_text())
    assert run_config["data"]["init_args"]["reencode"] == [18, 23, 28]
    logged = scalars(next((tmp_path / "runs").glob("landmarks/version_0")))
    # the flow term ran on consecutive frames (data.temporal from the preset) at every step
    assert [step for step, _ in logged["train/flow"]] == [0, 1]


def test_the_sessions_preset_adds_two_session_augmentation_equivariance_and_measured_paint_width_to_cpu():
    from genlmk.data.unpaired import augmentation_from_options

    layered = layered_init_args([PRESETS / "cpu.yaml", PRESETS / "sessions.yaml"])
    losses = layered["model"]["losses"]
    assert losses == {**_model_args("cpu.yaml")["losses"], "equivariance": {"weight": 5.0}}
    assert layered["model"]["paint_width"] == "auto" and "paint_width" not in _model_args("cpu.yaml")
    augment = layered["data"]["augment"]
    assert augment["white_balance"] == 0.2 and augment["scale"] == 0.15
    steps = [type(step).__name__ for step in augmentation_from_options(augment).transforms]
    assert "MultiplicativeNoise" in steps
    assert layered["data"]["batch_size"] == 8  # cpu.yaml's, untouched
