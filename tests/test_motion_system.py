from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import TensorBoardLogger
from motion_helpers import TINY

from genlmk.checkpoints import load_checkpoint
from genlmk.cli.main import main
from genlmk.data.motion import MotionDataModule
from genlmk.data.synthetic_motion import write_synthetic_motion_dataset
from genlmk.errors import ConfigError
from genlmk.inference.motion import MotionTransfer
from genlmk.losses.perceptual import ImageAsFeatures
from genlmk.systems.motion import MotionTransferSystem

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    return write_synthetic_motion_dataset(tmp_path_factory.mktemp("motion"), 3, 1, num_frames=6, size=32)


def _system(**weights) -> MotionTransferSystem:
    return MotionTransferSystem(
        model_params=TINY,
        loss_weights={"perceptual": [10.0], **weights},
        perceptual_network=ImageAsFeatures(),
        scales=[1, 0.5],
        log_images_every_n_steps=1,
    )


def _tags(log_dir: Path) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return set(events.Tags()["images"]) | set(events.Tags()["scalars"])


def test_gan_training_steps_log_and_save_a_loadable_motion_checkpoint(tmp_path, synthetic_root):
    system = _system(generator_gan=1.0, feature_matching=[10.0, 10.0], optical_flow=1.0)
    disc_before = [p.detach().clone() for p in system.discriminator.parameters()]
    data = MotionDataModule(str(synthetic_root), frame_size=32, batch_size=2, num_workers=0, repeats=1)
    logger = TensorBoardLogger(tmp_path, name="", version="run")
    trainer = Trainer(
        max_steps=2,
        accelerator="cpu",
        logger=logger,
        log_every_n_steps=1,
        limit_val_batches=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(system, datamodule=data)
    assert any(not torch.equal(a, b) for a, b in zip(disc_before, system.discriminator.parameters()))
    tags = _tags(tmp_path / "run")
    expected = {"train/pairs", "val/pairs", "val/keypoints_over_frames", "val/l1", "val/l1_copy_source"}
    expected |= {f"train/{k}" for k in ("perceptual", "generator_gan", "feature_matching", "optical_flow")}
    expected |= {"train/discriminator_gan", "train/equivariance_jacobian", "train/total"}
    assert expected <= tags

    [path] = (tmp_path / "run" / "checkpoints").glob("*.ckpt")
    checkpoint = load_checkpoint(path, kind="motion")  # weights_only, right kind
    assert checkpoint["genlmk_frame_width_height"] == [32, 32]
    assert checkpoint["hyper_parameters"]["model_params"] == TINY
    model = MotionTransfer.from_checkpoint(path)
    assert model.frame_size == (32, 32)
    assert torch.equal(model.generator.final.weight, system.generator.final.weight)


def test_generator_losses_without_gan_are_finite_and_backpropagate():
    system = _system(optical_flow=1.0)
    batch = {k: torch.rand(2, 3, 32, 32) for k in ("source", "driving", "neighbour")}
    batch |= {"flow": torch.randn(2, 2, 32, 32), "flow_valid": torch.ones(2, 1, 32, 32, dtype=torch.bool)}
    losses, _ = system.generator_losses(batch)
    assert set(losses) == {"perceptual", "equivariance_value", "equivariance_jacobian", "optical_flow"}
    total = sum(losses.values())
    total.backward()
    assert torch.isfinite(total)
    assert system.kp_detector.kp.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in system.discriminator.parameters())


def test_system_configuration_errors():
    with pytest.raises(ConfigError, match=r"model.loss_weights: unknown key\(s\) \['perceptul'\]"):
        MotionTransferSystem(model_params=TINY, loss_weights={"perceptul": [1.0]})
    with pytest.raises(ConfigError, match=r"model\.loss_weights\.perceptual must be >= 0, got -1\.0"):
        MotionTransferSystem(model_params=TINY, loss_weights={"perceptual": [10.0, -1.0]})
    with pytest.raises(ConfigError, match=r"model\.transform_params: unknown key\(s\) \['sigma'\]"):
        MotionTransferSystem(model_params=TINY, transform_params={"sigma": 0.1})
    stored = _system(optical_flow=2.0).hparams["loss_weights"]  # plain values, the rest the defaults
    assert (
        stored["perceptual"] == [10.0]
        and stored["optical_flow"] == 2.0
        and stored["equivariance_value"] == 10.0
    )
    with pytest.raises(ConfigError, match="optical_flow > 0 needs flow pairs"):
        _system(optical_flow=1.0).generator_losses(
            {k: torch.rand(1, 3, 32, 32) for k in ("source", "driving")}
        )


def test_fit_command_trains_the_cpu_preset_on_synthetic_videos(tmp_path, synthetic_root, capsys):
    status = main(
        [
            "fit",
            "--config",
            str(REPO / "configs/motion/cpu.yaml"),
            "--data.init_args.root",
            str(synthetic_root),
            "--data.init_args.frame_size",
            "32",
            "--data.init_args.num_workers",
            "0",
            "--data.init_args.batch_size",
            "2",
            "--trainer.max_steps",
            "1",
            "--trainer.limit_val_batches",
            "1",
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.default_root_dir",
            str(tmp_path),
            "--trainer.logger.init_args.save_dir",
            str(tmp_path),
        ]
    )
    assert status == 0
    assert list(tmp_path.rglob("*.ckpt")), "no checkpoint written"


def test_reference_preset_parses(capsys):
    with pytest.raises(SystemExit) as done:
        main(["fit", "--config", str(REPO / "configs/motion/vox-256.yaml"), "--print_config"])
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert "genlmk.systems.motion.MotionTransferSystem" in printed
    assert "batch_size: 40" in printed and "max_features: 1024" in printed


def test_fit_reports_missing_vgg_weights_in_one_line(tmp_path, synthetic_root, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-cache"))
    config = str(REPO / "configs/motion/vox-256.yaml")
    assert main(["fit", "--config", config, "--data.init_args.root", str(synthetic_root)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("genlmk: error: ") and err.count("\n") == 1
    assert "vgg19-dcbb9e9d.pth: VGG19 weights not found" in err and str(tmp_path / "empty-cache") in err
