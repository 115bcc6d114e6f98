from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TINY_SYSTEM

from genlmk.data.synthetic import SynthConfig, write_synthetic_dataset
from genlmk.data.unpaired import UnpairedFramesDataModule
from genlmk.errors import ConfigError
from genlmk.systems.image_pool import ImagePool
from genlmk.systems.landmarks import LandmarkGAN


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from genlmk.template import load_template

    root = tmp_path_factory.mktemp("synth")
    write_synthetic_dataset(
        load_template("face"),
        root,
        SynthConfig(size=80, train_marked=10, train_unmarked=10, test=2, clip_frames=2),
    )
    return root


def test_generator_losses_are_finite_and_complete(synth):
    model = LandmarkGAN(
        template=str(synth / "template.yaml"),
        losses={"identity": {"weight": 1.0}, "paint_free": {"weight": 1.0}},
        **TINY_SYSTEM,
    )
    batch = torch.rand(2, 3, 64, 64)
    total, parts, images = model.generator_losses(batch, torch.rand(2, 3, 64, 64))
    assert set(parts) == {
        "gan_marked",
        "gan_unmarked",
        "cycle_unmarked",
        "cycle_marked",
        "spring",
        "chamfer",
        "identity",
        "paint_free",
    }
    assert torch.isfinite(total) and all(torch.isfinite(v) for v in parts.values())
    assert images["fake_marked"].shape == (2, 3, 64, 64)
    assert images["landmarks_unmarked"].shape == (2, 68, 2)
    total.backward()
    assert model.landmarker.regressor[-1].weight.grad.abs().sum() > 0


def test_heatmap_landmarker_trains_through_the_generator_losses(synth):
    landmarker = {"channels": [4, 8, 8, 8], "hidden": 8, "head": "heatmap", "norm": "instance"}
    model = LandmarkGAN(template=str(synth / "template.yaml"), **{**TINY_SYSTEM, "landmarker": landmarker})
    total, _, images = model.generator_losses(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    assert torch.isfinite(total) and images["landmarks_unmarked"].shape == (2, 68, 2)
    total.backward()
    assert model.landmarker.heatmaps.logits.weight.grad.abs().sum() > 0


def test_unknown_loss_weight_or_network_option_is_a_config_error():
    with pytest.raises(
        ConfigError, match=r"model\.losses: unknown key\(s\) \['cylce'\]; known: \['chamfer', "
    ):
        LandmarkGAN(template="face", losses={"cylce": {"weight": 1.0}}, **TINY_SYSTEM)
    with pytest.raises(
        ConfigError, match=r"model\.losses\.flow: unknown key\(s\) \['windw'\]; known: \['aperture'"
    ):
        LandmarkGAN(template="face", losses={"flow": {"windw": 15}}, **TINY_SYSTEM)
    with pytest.raises(
        ConfigError, match=r"model\.renderer: unknown key\(s\) \['backnd'\]; known: \['backend'"
    ):
        LandmarkGAN(template="face", renderer={"backnd": "splat"}, **TINY_SYSTEM)
    with pytest.raises(ConfigError, match=r"model\.generator: unknown key\(s\) \['depth'\]"):
        LandmarkGAN(template="face", **{**TINY_SYSTEM, "generator": {"depth": 3}})
    with pytest.raises(ConfigError, match=r"model\.landmarker: unknown key\(s\) \['hed'\]"):
        LandmarkGAN(template="face", **{**TINY_SYSTEM, "landmarker": {"hed": "heatmap"}})
    with pytest.raises(
        ConfigError, match=r"model\.landmarker: head must be 'offsets', 'affine' or 'heatmap', got 'dense'"
    ):
        LandmarkGAN(template="face", **{**TINY_SYSTEM, "landmarker": {"head": "dense"}})


def test_template_is_kept_in_hyperparameters_as_its_yaml_structure(synth):
    model = LandmarkGAN(template=str(synth / "template.yaml"), **TINY_SYSTEM)
    assert isinstance(model.hparams["template"], dict)
    again = LandmarkGAN(**{**model.hparams, "template": model.hparams["template"]})
    assert again.template.names == model.template.names
    assert np.allclose(again.template.points, model.template.points)
    assert model.template.size == (64, 64)  # rescaled from the 80 px synthetic canvas


def test_data_module_splits_resizes_and_scales_ground_truth(synth):
    data = UnpairedFramesDataModule(
        marked=str(synth / "train_marked"),
        unmarked=str(synth / "train_unmarked"),
        image_size=(64, 64),
        batch_size=2,
        val_fraction=0.2,
        unmarked_gt=str(synth / "train_unmarked_gt.csv"),
    )
    model = LandmarkGAN(template=str(synth / "template.yaml"), **TINY_SYSTEM)

    class _Trainer:
        lightning_module = model

    data.trainer = _Trainer()
    data.setup("fit")
    assert (len(data.train_set), len(data.val_set)) == (8, 2)
    item = data.val_set[0]
    assert (
        item["unmarked"].shape == (3, 64, 64) and 0 <= item["unmarked"].min() <= item["unmarked"].max() <= 1
    )
    from genlmk.data.landmark_csv import read_landmark_csv

    gt, _, _ = read_landmark_csv(synth / "train_unmarked_gt.csv", model.template.names)
    assert np.allclose(item["landmarks"].numpy(), gt[8] * 64 / 80, atol=1e-4)


def test_data_module_refuses_a_size_other_than_the_model_s(synth):
    data = UnpairedFramesDataModule(
        marked=str(synth / "train_marked"), unmarked=str(synth / "train_unmarked"), image_size=(96, 96)
    )

    class _Trainer:
        lightning_module = LandmarkGAN(template="face", **TINY_SYSTEM)

    data.trainer = _Trainer()
    with pytest.raises(ConfigError, match=r"data.image_size \[96, 96\] differs from the model's \[64, 64\]"):
        data.setup("fit")


def test_image_pool_state_round_trip_continues_identically():
    pool = ImagePool(size=3, seed=7)
    for i in range(4):
        pool.query(torch.full((2, 1, 2, 2), float(i)))
    clone = ImagePool(size=3, seed=0)
    clone.load_state_dict(pool.state_dict())
    new = torch.full((2, 1, 2, 2), 9.0)
    assert torch.equal(pool.query(new), clone.query(new))
    assert len(pool.images) == 3
