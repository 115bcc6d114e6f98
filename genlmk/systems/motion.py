"""Training a First Order Motion Model with flow-regularized keypoints (a LightningModule).

One step: keypoints of a source and a driving frame of the same video; the generator redraws the
source in the driving pose; losses (each switched off by a zero weight):

- ``perceptual``: pyramid loss on VGG19 features (or another feature network) of prediction vs driving;
- ``generator_gan`` / ``feature_matching``: LSGAN against a multi-scale discriminator, which then takes
  its own step (``discriminator_gan``);
- ``equivariance_value`` / ``equivariance_jacobian``: keypoints and Jacobians follow a random affine +
  thin-plate-spline warp of the driving frame;
- ``optical_flow``: the driving frame's keypoint heatmaps, carried to its neighbouring frame by OpenCV
  optical flow, match the heatmaps found there (needs the data module's ``flow_pairs``).

Optimization is manual (Adam with betas (0.5, 0.999), learning rates divided by 10 at each epoch
milestone, as the reference). Validation reports the reconstruction L1 (``val/l1``) next to the L1 of
simply copying the source frame (``val/l1_copy_source``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor, nn

from genlmk.checkpoints import FRAME_SIZE_KEY, KIND_KEY
from genlmk.data.appearance import uint8_frames
from genlmk.errors import ConfigError
from genlmk.geometry.coordinates import normalized_to_pixels
from genlmk.geometry.filters import image_pyramid
from genlmk.geometry.keypoints import Keypoints
from genlmk.geometry.transforms import sample_warp, warp_images
from genlmk.losses.adversarial import feature_matching_loss, lsgan_discriminator_loss, lsgan_generator_loss
from genlmk.losses.equivariance import equivariance_jacobian_loss, equivariance_value_loss
from genlmk.losses.flow_keypoints import flow_heatmap_loss
from genlmk.losses.motion_options import MotionLossWeights, MotionWarp, plain
from genlmk.losses.perceptual import VGG19Features, pyramid_perceptual_loss
from genlmk.networks.fomm import VOX_256, build_fomm
from genlmk.options import build_options
from genlmk.training.guards import check_finite_losses
from genlmk.visualization import draw_keypoints


def _with_keypoints(images: Tensor, value: Tensor) -> np.ndarray:
    """Images (B, 3, H, W) with their normalized keypoints (B, K, 2) drawn, (B, H, W, 3) uint8."""
    height, width = images.shape[-2:]
    pixels = normalized_to_pixels(value.detach().float(), height, width, align_corners=True).cpu().numpy()
    radius = max(1, height // 64)
    return np.stack([draw_keypoints(img, pts, radius) for img, pts in zip(uint8_frames(images), pixels)])


class MotionTransferSystem(LightningModule):
    """Keypoint detector + generator (+ discriminator) trained on frame pairs.

    Args:
        model_params: the reference's ``model_params`` layout (``common_params``,
            ``kp_detector_params``, ``generator_params``, ``discriminator_params``); default vox-256.
        loss_weights: :class:`~genlmk.losses.motion_options.MotionLossWeights` (or a mapping of
            some of its fields; the others keep the reference's vox-256 values).
        transform_params: the random warp for equivariance,
            :class:`~genlmk.losses.motion_options.MotionWarp` (or a mapping of its fields).
        scales: image pyramid scales of the perceptual loss.
        perceptual_network: module mapping images (B, 3, H, W) in [0, 1] to a list of feature maps;
            None builds :class:`VGG19Features` (weights from the torch cache; a clear error if absent).
            Not built at all when every perceptual weight is 0.
        lr_generator, lr_kp_detector, lr_discriminator: Adam learning rates.
        epoch_milestones: epochs after which the learning rates are divided by 10.
        log_images_every_n_steps: how often training image grids go to TensorBoard.
    """

    def __init__(
        self,
        model_params: dict[str, Any] | None = None,
        loss_weights: MotionLossWeights | None = None,
        transform_params: MotionWarp | None = None,
        scales: Sequence[float] = (1.0, 0.5, 0.25, 0.125),
        perceptual_network: nn.Module | None = None,
        lr_generator: float = 2e-4,
        lr_kp_detector: float = 2e-4,
        lr_discriminator: float = 2e-4,
        epoch_milestones: Sequence[int] = (60, 90),
        log_images_every_n_steps: int = 500,
    ) -> None:
        super().__init__()
        self.model_params = copy.deepcopy(dict(model_params or VOX_256))
        self.loss_weights = build_options(MotionLossWeights, loss_weights, "model.loss_weights")
        self.transform_params = build_options(MotionWarp, transform_params, "model.transform_params")
        self.save_hyperparameters(
            {
                "model_params": self.model_params,
                "loss_weights": plain(self.loss_weights),
                "transform_params": plain(self.transform_params),
                "scales": [float(s) for s in scales],
                "lr_generator": lr_generator,
                "lr_kp_detector": lr_kp_detector,
                "lr_discriminator": lr_discriminator,
                "epoch_milestones": [int(m) for m in epoch_milestones],
                "log_images_every_n_steps": log_images_every_n_steps,
            }
        )
        self.kp_detector, self.generator, self.discriminator = build_fomm(self.model_params)
        self.scales = [float(s) for s in scales]
        self.use_gan = self.loss_weights.generator_gan != 0
        if any(self.loss_weights.perceptual):
            self.perceptual_network = (
                perceptual_network if perceptual_network is not None else VGG19Features()
            )
        else:
            self.perceptual_network = None
        self.automatic_optimization = False

    # ------------------------------------------------------------------------------ losses

    def generator_losses(self, batch: Mapping[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Weighted generator-side losses of one batch, and what was generated (for logging).

        Args:
            batch: ``source``, ``driving`` (B, 3, H, W) in [0, 1]; for the flow loss also
                ``neighbour``, ``flow`` (B, 2, H, W) pixels neighbour -> driving, ``flow_valid``.
        """
        weights = self.loss_weights
        source, driving = batch["source"], batch["driving"]
        kp_source, kp_driving = self.kp_detector(source), self.kp_detector(driving)
        generated = self.generator(source, kp_source, kp_driving)
        losses: dict[str, Tensor] = {}
        disc_scales = self.discriminator.scales if self.use_gan else ()
        scales = sorted({*self.scales, *map(float, disc_scales)}, reverse=True)
        real = image_pyramid(driving, scales)
        fake = image_pyramid(generated.prediction, scales)
        if self.perceptual_network is not None:
            losses["perceptual"] = pyramid_perceptual_loss(
                {s: fake[s] for s in self.scales},
                {s: real[s] for s in self.scales},
                self.perceptual_network,
                weights.perceptual,
            )
        if self.use_gan:
            condition = kp_driving.value.detach()
            scores_fake = self.discriminator({s: fake[float(s)] for s in disc_scales}, condition)
            scores_real = self.discriminator({s: real[float(s)] for s in disc_scales}, condition)
            losses["generator_gan"] = weights.generator_gan * lsgan_generator_loss(
                [o.prediction for o in scores_fake.values()]
            )
            if any(weights.feature_matching):
                losses["feature_matching"] = feature_matching_loss(
                    [o.features for o in scores_real.values()],
                    [o.features for o in scores_fake.values()],
                    weights.feature_matching,
                )
        if weights.equivariance_value or weights.equivariance_jacobian:
            warp = sample_warp(driving.shape[0], **asdict(self.transform_params), device=driving.device)
            kp_warped = self.kp_detector(warp_images(warp, driving))
            if weights.equivariance_value:
                losses["equivariance_value"] = weights.equivariance_value * equivariance_value_loss(
                    kp_driving.value, kp_warped.value, warp
                )
            if weights.equivariance_jacobian:
                if kp_driving.jacobian is None:
                    raise ConfigError("loss_weights.equivariance_jacobian > 0 needs estimate_jacobian: true")
                losses["equivariance_jacobian"] = weights.equivariance_jacobian * equivariance_jacobian_loss(
                    kp_driving.jacobian, kp_warped.value, kp_warped.jacobian, warp
                )
        if weights.optical_flow:
            if "flow" not in batch:
                raise ConfigError(
                    "loss_weights.optical_flow > 0 needs flow pairs: set data.init_args.flow_pairs true"
                )
            kp_next = self.kp_detector(batch["neighbour"])
            losses["optical_flow"] = weights.optical_flow * flow_heatmap_loss(
                kp_driving.heatmap, kp_next.heatmap, batch["flow"], batch["flow_valid"]
            )
        return losses, {
            "kp_source": kp_source,
            "kp_driving": kp_driving,
            "generated": generated,
            "fake": fake,
        }

    def discriminator_loss(
        self, driving: Tensor, fake: Mapping[float, Tensor], kp_driving: Keypoints
    ) -> Tensor:
        """Weighted LSGAN loss of the discriminator on real vs (detached) generated pyramids."""
        scales = self.discriminator.scales
        real = image_pyramid(driving, [float(s) for s in scales])
        condition = kp_driving.value.detach()
        scores_real = self.discriminator({s: real[float(s)] for s in scales}, condition)
        scores_fake = self.discriminator({s: fake[float(s)].detach() for s in scales}, condition)
        return self.loss_weights.discriminator_gan * lsgan_discriminator_loss(
            [o.prediction for o in scores_real.values()], [o.prediction for o in scores_fake.values()]
        )

    # ------------------------------------------------------------------------------ training

    def configure_optimizers(self):
        betas = (0.5, 0.999)
        milestones = self.hparams.epoch_milestones
        optimizers = [
            torch.optim.Adam(
                [
                    {"params": self.generator.parameters(), "lr": self.hparams.lr_generator},
                    {"params": self.kp_detector.parameters(), "lr": self.hparams.lr_kp_detector},
                ],
                betas=betas,
            )
        ]
        if self.use_gan:
            optimizers.append(
                torch.optim.Adam(
                    self.discriminator.parameters(), lr=self.hparams.lr_discriminator, betas=betas
                )
            )
        schedulers = [torch.optim.lr_scheduler.MultiStepLR(o, milestones, gamma=0.1) for o in optimizers]
        return optimizers, schedulers

    def training_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        generator_opt = optimizers[0]
        if self.use_gan:
            self.toggle_optimizer(generator_opt)
        losses, out = self.generator_losses(batch)
        check_finite_losses(self, losses)
        total = sum(losses.values())
        generator_opt.zero_grad()
        self.manual_backward(total)
        generator_opt.step()
        if self.use_gan:
            self.untoggle_optimizer(generator_opt)
            discriminator_opt = optimizers[1]
            self.toggle_optimizer(discriminator_opt)
            losses["discriminator_gan"] = self.discriminator_loss(
                batch["driving"], out["fake"], out["kp_driving"]
            )
            check_finite_losses(self, {"discriminator_gan": losses["discriminator_gan"]})
            discriminator_opt.zero_grad()
            self.manual_backward(losses["discriminator_gan"])
            discriminator_opt.step()
            self.untoggle_optimizer(discriminator_opt)
        batch_size = batch["driving"].shape[0]
        self.log_dict({f"train/{k}": v.detach() for k, v in losses.items()}, batch_size=batch_size)
        self.log("train/total", total.detach(), prog_bar=True, batch_size=batch_size)
        every = self.hparams.log_images_every_n_steps
        if every and self.global_step % every == 0:
            self._log_pairs("train/pairs", batch["source"], batch["driving"], out)
        return total.detach()

    def on_train_epoch_end(self) -> None:
        schedulers = self.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    # ------------------------------------------------------------------------------ validation

    def validation_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> None:
        source, driving = batch["source"], batch["driving"]
        kp_source, kp_driving = self.kp_detector(source), self.kp_detector(driving)
        generated = self.generator(source, kp_source, kp_driving)
        size = driving.shape[0]
        # sync_dist: under DDP each process validates a share
        l1 = (generated.prediction - driving).abs().mean()
        self.log("val/l1", l1, batch_size=size, prog_bar=True, sync_dist=True)
        self.log("val/l1_copy_source", (source - driving).abs().mean(), batch_size=size, sync_dist=True)
        if batch_idx == 0:
            out = {"kp_source": kp_source, "kp_driving": kp_driving, "generated": generated}
            self._log_pairs("val/pairs", source, driving, out)
            self._log_keypoint_track(
                "val/keypoints_over_frames", source, driving, kp_source, kp_driving, batch
            )

    # ------------------------------------------------------------------------------ images

    def _tensorboard(self):
        return self.logger.experiment if isinstance(self.logger, TensorBoardLogger) else None

    def _log_pairs(self, tag: str, source: Tensor, driving: Tensor, out: Mapping[str, Any]) -> None:
        """Rows of source | driving | prediction (with keypoints) | deformed source | occlusion."""
        board = self._tensorboard()
        if board is None:
            return
        count = min(4, source.shape[0])
        generated = out["generated"]
        height, width = source.shape[-2:]
        columns = [
            _with_keypoints(source[:count], out["kp_source"].value[:count]),
            _with_keypoints(driving[:count], out["kp_driving"].value[:count]),
            _with_keypoints(generated.prediction[:count], out["kp_driving"].value[:count]),
            uint8_frames(generated.deformed[:count]),
        ]
        if generated.motion.occlusion is not None:
            occlusion = nn.functional.interpolate(generated.motion.occlusion[:count], size=(height, width))
            columns.append(uint8_frames(occlusion.expand(-1, 3, -1, -1)))
        grid = np.concatenate([np.concatenate(list(row), axis=1) for row in zip(*columns)], axis=0)
        board.add_image(tag, grid, self.global_step, dataformats="HWC")

    def _log_keypoint_track(
        self,
        tag: str,
        source: Tensor,
        driving: Tensor,
        kp_source: Keypoints,
        kp_driving: Keypoints,
        batch: Mapping[str, Tensor],
    ) -> None:
        """The first validation video's frames in order (frame 0 first), each with its keypoints."""
        board = self._tensorboard()
        if board is None:
            return
        same = batch["video"] == batch["video"][0]
        frames = torch.cat([source[:1], driving[same]])
        values = torch.cat([kp_source.value[:1], kp_driving.value[same]])
        board.add_image(
            tag,
            np.concatenate(list(_with_keypoints(frames, values)), axis=1),
            self.global_step,
            dataformats="HWC",
        )

    # ------------------------------------------------------------------------------ checkpoints

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[KIND_KEY] = "motion"
        datamodule = getattr(self.trainer, "datamodule", None)
        frame_size = getattr(datamodule, "frame_size", None)  # (width, height)
        if frame_size is not None:
            checkpoint[FRAME_SIZE_KEY] = [int(s) for s in frame_size]
