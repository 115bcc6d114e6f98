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
    assert layered["model"]["weights"] == _model_args("video.yaml")["weights"]  # replaced whole
    assert layered["model"]["lr"] == _model_args("cpu.yaml")["lr"]  # only cpu.yaml sets it
    assert layered["data"]["temporal"] is True and layered["data"]["batch_size"] == 8
    bare = tmp_path / "bare.yaml"
    bare.write_text("trainer: {max_steps: 3}\n")
    assert layered_init_args([bare]) == {"model": {}, "data": {}}


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


def test_the_video_preset_keeps_every_cpu_preset_weight_and_adds_the_temporal_terms():
    cpu, video = _model_args("cpu.yaml")["weights"], _model_args("video.yaml")["weights"]
    assert {name: video.get(name) for name in cpu} == cpu
    assert video["flow"] > 0 and video["equivariance"] > 0 and video["order"] > 0


def test_the_video_preset_trains_with_the_aperture_flow_loss_on_changed_next_frames(tmp_path):
    data = landmark_data(tmp_path / "data", frames=8)
    args = landmark_fit_args(data, tmp_path / "runs", steps=2)
    overlays = ["--config", str(PRESETS / "heatmap.yaml"), "--config", str(PRESETS / "video.yaml")]
    cpu_preset = args.index(str(PRESETS / "cpu.yaml"))
    args[cpu_preset + 1 : cpu_preset + 1] = overlays
    assert main([*args, "--model.landmarker", TINY_HEATMAP]) == 0

    (checkpoint,) = (tmp_path / "runs").glob("landmarks/version_0/checkpoints/last.ckpt")
    hparams = torch.load(checkpoint, map_location="cpu", weights_only=False)["hyper_parameters"]
    assert hparams["flow_aperture"] is True and hparams["order_lines"] == "all"
    assert (hparams["flow_window"], hparams["flow_threshold"]) == (31, 0.25)
    assert hparams["weights"]["flow"] == 20.0 and hparams["weights"]["chamfer"] == 5.0
    assert hparams["equivariance"] == {"jpeg": 40, "affine": 0.08, "threshold": 0.25}
    appearance = {"gain": 0.08, "color": 0.03, "gamma": 0.05, "noise": 0.01, "ramp": 0.08, "jpeg": 40}
    assert hparams["flow_appearance"] == appearance
    run_config = yaml.safe_load(next((tmp_path / "runs").glob("landmarks/version_0/config.yaml")).read_text())
    assert run_config["data"]["init_args"]["reencode"] == [18, 23, 28]
    logged = scalars(next((tmp_path / "runs").glob("landmarks/version_0")))
    # the flow term ran on consecutive frames (data.temporal from the preset) at every step
    assert [step for step, _ in logged["train/flow"]] == [0, 1]
