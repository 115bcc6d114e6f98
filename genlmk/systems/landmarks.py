"""The generative-landmarks system: an unpaired CycleGAN whose unmarked -> marked direction is a
landmark deformation network followed by the marker renderer.

Directions and losses (u: real unmarked frame, m: real marked frame, T: template):

- u -> marked:   Delta = L(u), fake_m = R(T + Delta, u)          (landmarker + renderer)
- m -> unmarked: fake_u = G(m)                                   (ResNet generator)
- adversarial (LSGAN): D_M judges fake_m against m, D_U judges fake_u against u;
- cycle (L1): G(fake_m) ~ u, and R(T + L(fake_u), fake_u) ~ m;
- spring: every template edge keeps its template length (both landmark predictions);
- order (optional): the points of every line (with ``order.lines: closed``, of closed lines only)
  stay in their template order rather than slide round or along it (all of it or part), which the
  chamfer, spring and adversarial terms cannot tell apart (both landmark predictions; zero while
  the order is right);
- paint chamfer: the lines predicted on fake_u = G(m) meet the paint segmented in m by the
  template's marker colour (a long-range geometric signal; weight 0 turns it off);
- visibility (with ``landmarker.visibility``): the landmarker also predicts each landmark's
  visibility v; the renderer fades each line out towards its hidden points (both directions), the
  chamfer's stroke -> paint direction is weighted by v, and a prior ``mean(-log v)`` keeps
  landmarks visible unless the other terms need them hidden;
- decoy (optional): strokes painted away from an unmarked frame's landmarks and taken off by G
  must not move L's answer, so L reads the part, not G's leftovers of the paint;
- identity (optional): G(u) ~ u;
- paint free (optional): G(m) holds no pixel of the marker colour (the unmarked domain has none),
  a direct push towards removing the paint that the adversarial term gives only slowly;
- flow (optional, needs consecutive unmarked frames): the landmarks of frame t moved by the OpenCV
  optical flow t -> t+1 should be those of frame t+1 (landmarks on unreliable flow left out);
- equivariance (optional): each unmarked frame is warped by a small random affine map and given
  a new exposure, white balance, noise and (optionally) JPEG artifacts; its landmarks carried
  back through the known map should be the frame's own (motion without flow error, on every
  frame, not only the video's pairs).

Networks are plain modules built from config blocks; every loss term's weight and settings are
one typed block of ``losses`` (:mod:`genlmk.losses.options`). This class wires them, computes
losses and logs. Checkpoints carry the template (``genlmk_template``) and the image pools.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, fields
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor

from genlmk.checkpoints import APPEARANCE_KEY, KIND_KEY, TEMPLATE_KEY, TRAINING_ROI_KEY
from genlmk.data.appearance import random_appearance, uint8_frames
from genlmk.data.frames import to_tensor
from genlmk.errors import InputDataError
from genlmk.geometry.flow import dense_flow, flow_consistency_mask
from genlmk.geometry.polylines import line_tangents
from genlmk.geometry.subject_search import Appearance, appearance_of
from genlmk.geometry.transforms import sample_warp, warp_images
from genlmk.losses import (
    chamfer_to_paint,
    decoy_invariance_loss,
    decoy_placement,
    estimate_paint_color,
    flow_landmark_loss,
    landmark_equivariance_loss,
    line_order_loss,
    lsgan_loss,
    paint_weights,
    sample_paint_points,
    spring_loss,
    visibility_prior,
)
from genlmk.losses.options import LandmarkLosses, upgrade_hparams
from genlmk.metrics.landmarks import box_diagonal, nme
from genlmk.networks.cyclegan import (
    DiscriminatorOptions,
    GeneratorOptions,
    NLayerDiscriminator,
    ResnetGenerator,
    init_weights,
    load_cyclegan_weights,
)
from genlmk.networks.deformation import LandmarkerOptions, build_landmarker
from genlmk.options import build_options, require
from genlmk.rendering import MarkerRenderer, MarkerRenderSettings, ink_samples, sample_visibility
from genlmk.rendering.paint_width import measure_paint_width
from genlmk.systems.image_pool import ImagePool
from genlmk.template import Template, load_template
from genlmk.training.distributed import gather_from_ranks, own_rank_state, rank_seed
from genlmk.training.guards import check_finite_losses
from genlmk.training.precision import check_image_precision, image_autocast, resolve_image_dtype

# loss parts whose weight has another name (both directions share one weight)
_WEIGHT_OF = {"gan_marked": "gan", "gan_unmarked": "gan", "cycle_marked": "cycle", "cycle_unmarked": "cycle"}
POOLS_KEY = "genlmk_image_pools"
LOSS_TERMS = tuple(field.name for field in fields(LandmarkLosses))
PAINT_COLORS = ("auto", "template")


@contextmanager
def _frozen(*modules: torch.nn.Module):
    """Stop gradients from reaching ``modules``' parameters inside the block."""
    params = [p for m in modules for p in m.parameters()]
    states = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, state in zip(params, states):
            p.requires_grad_(state)


def _check_paint_color(color: str | list[float]) -> None:
    if isinstance(color, str):
        rule = f"must be one of {PAINT_COLORS} or [r, g, b]"
        require(color in PAINT_COLORS, "model.paint_color", rule, color)
        return
    values = list(color)
    in_range = len(values) == 3 and all(0 <= float(v) <= 255 for v in values)
    require(in_range, "model.paint_color", "must be three values in [0, 255]", values)


def _even_sample(frames: np.ndarray, count: int = 64) -> Tensor:
    """About ``count`` frames spread evenly over (F, H, W, 3) uint8 ``frames``, as (S, 3, H, W)
    in [0, 1]: enough for the paint's median colour and width."""
    return torch.stack([to_tensor(frame) for frame in frames[:: max(1, len(frames) // count)]])


def _check_paint_width(width: str | float) -> None:
    if isinstance(width, str):
        require(width in ("auto", "template"), "model.paint_width", "must be auto, template or pixels", width)
        return
    require(float(width) > 0, "model.paint_width", "must be a positive width in pixels", width)


def resolve_template(
    template: str | dict | Template, image_size: tuple[int, int]
) -> tuple[Template, Template]:
    """(the template as authored, the template rescaled to the model input size)."""
    if isinstance(template, dict):
        template = Template.from_dict(template, source="<checkpoint>")
    elif not isinstance(template, Template):
        template = load_template(template)
    return template, template.rescaled(image_size)


class LandmarkGAN(L.LightningModule):
    """Trains a landmark deformation network from unpaired marked / unmarked frames.

    Args:
        template: template YAML path, built-in name, or its YAML structure (as stored in
            checkpoints).
        image_size: model input ``[width, height]``; frames are resized to it.
        landmarker: options of the landmark deformation network
            (:class:`~genlmk.networks.deformation.LandmarkerOptions`, or its mapping).
        generator: sizes of the marked -> unmarked ResNet generator
            (:class:`~genlmk.networks.cyclegan.GeneratorOptions`, or its mapping).
        discriminator: sizes of both PatchGAN discriminators
            (:class:`~genlmk.networks.cyclegan.DiscriminatorOptions`, or its mapping).
        renderer: :class:`~genlmk.rendering.MarkerRenderSettings` (or its mapping).
        losses: every loss term's weight and settings
            (:class:`~genlmk.losses.options.LandmarkLosses`, or its nested mapping).
        lr: Adam learning rate of the generator and discriminators; ``betas`` Adam's betas.
        landmarker_lr: the landmark network's learning rate (default: ``lr``).
        decay_start: fraction of the run after which the learning rate decays linearly to 0.
        pool_size: image pool size per discriminator (0 disables).
        image_log_every: steps between TensorBoard image grids (0 disables).
        init_generator, init_discriminator_marked, init_discriminator_unmarked: optional
            reference CycleGAN ``.pth`` files to start from (layouts must match the sizes).
        paint_color: the colour the renderer paints in and the paint segmentation looks for:
            ``"auto"`` (measured in the marked training frames when fitting starts, from the
            template's colour: light and exposure make paint film darker or tinted),
            ``"template"`` (the template's colour as authored) or ``[r, g, b]`` (0-255).
        paint_width: the width of the rendered strokes: ``"template"`` (the template's
            ``marker.width``), ``"auto"`` (measured in the marked training frames when fitting
            starts, :mod:`genlmk.rendering.paint_width`: strokes thinner than the filmed paint
            teach the generator to remove only thin paint) or pixels of the model input.
        image_precision: what the generator and the discriminators compute in: ``"float32"``,
            ``"bfloat16"`` or ``"auto"`` (bfloat16 where the processor has it natively,
            :mod:`genlmk.training.precision`). The landmarker, the renderer and the losses always
            compute in float32.
    """

    def __init__(
        self,
        template: str | dict = "face",
        image_size: tuple[int, int] = (128, 128),
        landmarker: LandmarkerOptions | None = None,
        generator: GeneratorOptions | None = None,
        discriminator: DiscriminatorOptions | None = None,
        renderer: MarkerRenderSettings | None = None,
        losses: LandmarkLosses | None = None,
        lr: float = 2e-4,
        landmarker_lr: float | None = None,
        betas: tuple[float, float] = (0.5, 0.999),
        decay_start: float = 0.5,
        pool_size: int = 50,
        image_log_every: int = 200,
        init_generator: str | None = None,
        init_discriminator_marked: str | None = None,
        init_discriminator_unmarked: str | None = None,
        paint_color: str | list[float] = "auto",
        paint_width: str | float = "template",
        image_precision: str = "float32",
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        image_size = (int(image_size[0]), int(image_size[1]))
        authored, self.template = resolve_template(template, image_size)
        self.losses = build_options(LandmarkLosses, losses, "model.losses")
        landmarker = build_options(LandmarkerOptions, landmarker, "model.landmarker")
        generator = build_options(GeneratorOptions, generator, "model.generator")
        discriminator = build_options(DiscriminatorOptions, discriminator, "model.discriminator")
        render_settings = build_options(MarkerRenderSettings, renderer, "model.renderer")
        self.save_hyperparameters()
        # plain values only: checkpoints are read back with ``weights_only``, and the template
        # must not depend on its file still existing
        self.hparams["template"] = authored.to_dict()
        self.hparams["image_size"] = list(image_size)
        for key, options in (
            ("losses", self.losses),
            ("landmarker", landmarker),
            ("generator", generator),
            ("discriminator", discriminator),
            ("renderer", render_settings),
        ):
            self.hparams[key] = asdict(options)
        _check_paint_color(paint_color)
        _check_paint_width(paint_width)
        check_image_precision(image_precision)

        # the order term's lines (distinct indices, closed flag), chosen once from the template
        self.ordered_lines = [
            (line[:-1], True) if self.template.is_closed(k) else (line, False)
            for k, line in enumerate(self.template.lines)
            if self.losses.order.lines == "all" or self.template.is_closed(k)
        ]

        points = torch.as_tensor(self.template.points, dtype=torch.float32)
        self.landmarker = build_landmarker(landmarker, points, image_size)
        self.generator = ResnetGenerator(**asdict(generator))
        self.disc_marked = NLayerDiscriminator(**asdict(discriminator))
        self.disc_unmarked = NLayerDiscriminator(**asdict(discriminator))
        for net in (self.generator, self.disc_marked, self.disc_unmarked):
            init_weights(net)
        if self.generator.residual:
            self.generator.reset_head()
        for net, path in (
            (self.generator, init_generator),
            (self.disc_marked, init_discriminator_marked),
            (self.disc_unmarked, init_discriminator_unmarked),
        ):
            if path:
                load_cyclegan_weights(net, path)
        self.renderer = MarkerRenderer(self.template, render_settings)
        self.register_buffer("template_points", points, persistent=False)
        self.register_buffer("edges", torch.as_tensor(self.template.edges), persistent=False)
        self.register_buffer("marker_color", torch.tensor(self.template.marker.color_unit), persistent=False)
        self.pool_marked = ImagePool(pool_size, seed=1)
        self.pool_unmarked = ImagePool(pool_size, seed=2)
        # what the training inputs look like, measured in setup (checkpoints keep it)
        self.appearance: Appearance | None = None
        # how the training frames were framed (data.roi), so that predict frames its inputs alike
        self.training_roi: str | None = None
        if not isinstance(paint_color, str):
            self._set_paint_color(torch.tensor([float(c) for c in paint_color]) / 255.0)
        if not isinstance(paint_width, str):
            self._set_paint_width(float(paint_width))

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: Any, *args: Any, **kwargs: Any) -> LandmarkGAN:
        """Lightning's loading, for checkpoints of either hyperparameter layout: the flat one
        written before ``losses`` (``weights``, ``flow_*``, ...) is translated by
        :func:`~genlmk.losses.options.upgrade_hparams`; ``kwargs`` override stored values."""
        from genlmk.checkpoints import load_checkpoint

        stored = load_checkpoint(checkpoint_path).get(cls.CHECKPOINT_HYPER_PARAMS_KEY) or {}
        upgraded = upgrade_hparams(dict(stored))
        return super().load_from_checkpoint(checkpoint_path, *args, **{**upgraded, **kwargs})

    # ------------------------------------------------------------------ inference
    def forward(self, images: Tensor) -> Tensor:
        """Landmarks (B, N, 2) in pixels of the model input for images (B, 3, H, W) in [0, 1]."""
        return self.landmarker.landmarks(images)

    def _predict_with_logits(self, images: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """For images (B, 3, H, W) in [0, 1]: landmarks (B, N, 2) in pixels of the model input,
        visibility logits (B, N) and visibility (B, N) in [0, 1] (both None without
        ``landmarker.visibility``)."""
        offsets, logits = self.landmarker.outputs(images)
        visible = None if logits is None else torch.sigmoid(logits)
        return self.landmarker.template_points + offsets, logits, visible

    def _image_net(self, net: torch.nn.Module, images: Tensor) -> Tensor:
        """``net`` (the generator or a discriminator) on images (B, 3, H, W), computed in
        ``image_precision``; its output comes back as float32."""
        device_type = images.device.type
        with image_autocast(resolve_image_dtype(self.hparams.image_precision, device_type), device_type):
            return net(images).float()

    def _generate(self, marked: Tensor) -> Tensor:
        """G: frames (B, 3, H, W) in [0, 1] without their paint."""
        return self._image_net(self.generator, marked)

    # ------------------------------------------------------------------ losses
    def _chamfer(self, landmarks: Tensor, marked: Tensor, visibility: Tensor | None = None) -> Tensor:
        """The paint chamfer of landmarks (B, N, 2) against marked frames; ``visibility`` (B, N)
        weights the stroke -> paint direction (when ``losses.visibility.chamfer``)."""
        sampling = self.renderer.sampling
        stroke, _ = ink_samples(landmarks, sampling)
        stroke_weights = None
        if visibility is not None and self.losses.visibility.chamfer:
            stroke_weights = sample_visibility(visibility, sampling)
        options = self.losses.chamfer
        weights = paint_weights(marked, self.marker_color, options.tolerance)
        paint, valid = sample_paint_points(weights, options.samples)
        return chamfer_to_paint(
            stroke, paint, valid, huber=2.0 * self.template.marker.width, stroke_weights=stroke_weights
        )

    def _order_loss(self, *predictions: Tensor) -> Tensor:
        """The order term summed over landmark predictions, each (B, N, 2) pixels."""
        device = self.template_points.device
        indices = [torch.tensor(line, device=device) for line, _ in self.ordered_lines]
        closed = [is_closed for _, is_closed in self.ordered_lines]
        return sum(line_order_loss(p, self.template_points, indices, closed) for p in predictions)

    def _flow_loss(self, unmarked: Tensor, unmarked_next: Tensor, landmarks: Tensor) -> Tensor:
        options = self.losses.flow
        method, window = options.method, options.window
        forward = dense_flow(unmarked, unmarked_next, method, window)
        valid = flow_consistency_mask(forward, dense_flow(unmarked_next, unmarked, method, window))
        changed_next = random_appearance(unmarked_next, options.appearance.amounts())
        landmarks_next = self.landmarker.landmarks(changed_next)
        tangents = None
        if options.aperture:
            lines = self.template.lines
            tangents = torch.from_numpy(line_tangents(landmarks.detach().cpu().numpy(), lines)).to(landmarks)
        return flow_landmark_loss(landmarks, landmarks_next, forward, valid, options.threshold, tangents)

    def _equivariance_loss(self, unmarked: Tensor, landmarks: Tensor) -> Tensor:
        change = self.losses.equivariance
        warp = sample_warp(len(unmarked), change.affine, device=unmarked.device)
        changed = random_appearance(warp_images(warp, unmarked), change.amounts())
        height, width = unmarked.shape[-2:]
        warped_landmarks = self.landmarker.landmarks(changed)
        return landmark_equivariance_loss(
            landmarks, warped_landmarks, warp, height, width, threshold=change.threshold
        )

    def _decoy_loss(self, unmarked: Tensor, landmarks: Tensor) -> Tensor:
        decoy = self.losses.decoy
        placed = decoy_placement(
            landmarks.detach(), decoy.shift * unmarked.shape[-1], decoy.scale, decoy.rotate
        )
        # G is not trained here: it is the landmarker that must stop reading G's leftovers
        with torch.no_grad():
            taken_off = self._generate(self.renderer(unmarked, placed).images)
        return decoy_invariance_loss(self.landmarker.landmarks(taken_off), landmarks, decoy.threshold)

    def generator_losses(
        self, unmarked: Tensor, marked: Tensor, unmarked_next: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
        """All generator-side losses for a batch (``unmarked_next``: frames t+1 of ``unmarked``,
        for the flow loss).

        Returns:
            total: weighted sum.
            parts: each unweighted loss term (scalars).
            images: the intermediate images and landmarks (for logging and the discriminators).
        """
        w = {term: self.losses.weight(term) for term in LOSS_TERMS}
        landmarks_u, logits_u, visible_u = self._predict_with_logits(unmarked)
        fake_marked = self.renderer(unmarked, landmarks_u, visible_u).images
        rec_unmarked = self._generate(fake_marked)
        fake_unmarked = self._generate(marked)
        # the landmarker reads a detached copy: G must not learn to leave hints of the paint for it
        # (CycleGAN's steganography), which real unmarked frames would lack
        landmarks_m, logits_m, visible_m = self._predict_with_logits(fake_unmarked.detach())
        rec_marked = self.renderer(fake_unmarked, landmarks_m, visible_m).images

        parts = {
            "gan_marked": lsgan_loss(self._image_net(self.disc_marked, fake_marked), True),
            "gan_unmarked": lsgan_loss(self._image_net(self.disc_unmarked, fake_unmarked), True),
            "cycle_unmarked": F.l1_loss(rec_unmarked, unmarked),
            "cycle_marked": F.l1_loss(rec_marked, marked),
            "spring": spring_loss(landmarks_u, self.template_points, self.edges)
            + spring_loss(landmarks_m, self.template_points, self.edges),
        }
        if w["order"] > 0:
            parts["order"] = self._order_loss(landmarks_u, landmarks_m)
        if w["chamfer"] > 0:
            parts["chamfer"] = self._chamfer(landmarks_m, marked, visible_m)
        if w["visibility"] > 0 and logits_u is not None:
            parts["visibility"] = visibility_prior(logits_u) + visibility_prior(logits_m)
        if w["decoy"] > 0:
            parts["decoy"] = self._decoy_loss(unmarked, landmarks_u)
        if w["identity"] > 0:
            parts["identity"] = F.l1_loss(self._generate(unmarked), unmarked)
        if w["flow"] > 0 and unmarked_next is not None:
            parts["flow"] = self._flow_loss(unmarked, unmarked_next, landmarks_u)
        if w["equivariance"] > 0:
            parts["equivariance"] = self._equivariance_loss(unmarked, landmarks_u)
        if w["paint_free"] > 0:
            tolerance = self.losses.paint_free.tolerance
            parts["paint_free"] = paint_weights(fake_unmarked, self.marker_color, tolerance).mean()
        total = sum(w[_WEIGHT_OF.get(key, key)] * value for key, value in parts.items())
        images = {
            "landmarks_unmarked": landmarks_u,
            "fake_marked": fake_marked,
            "rec_unmarked": rec_unmarked,
            "fake_unmarked": fake_unmarked,
            "rec_marked": rec_marked,
        }
        if visible_u is not None:
            images["visibility_unmarked"] = visible_u
        return total, parts, images

    def discriminator_losses(
        self, unmarked: Tensor, marked: Tensor, fake_marked: Tensor, fake_unmarked: Tensor
    ) -> dict[str, Tensor]:
        """LSGAN losses of both discriminators, fakes drawn through the image pools."""
        fake_m = self.pool_marked.query(fake_marked.detach())
        fake_u = self.pool_unmarked.query(fake_unmarked.detach())

        def judged(disc: torch.nn.Module, real: Tensor, fake: Tensor) -> Tensor:
            real_loss = lsgan_loss(self._image_net(disc, real), True)
            return 0.5 * (real_loss + lsgan_loss(self._image_net(disc, fake), False))

        return {
            "disc_marked": judged(self.disc_marked, marked, fake_m),
            "disc_unmarked": judged(self.disc_unmarked, unmarked, fake_u),
        }

    # ------------------------------------------------------------------ training
    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        # One optimizer holds every network (in parameter groups) and steps once per batch, so
        # global_step counts batches. This equals CycleGAN's alternating updates: the
        # discriminators' losses use fakes made before the generator step and their parameters
        # are disjoint from the generator side's.
        optimizer = self.optimizers()
        scheduler = self.lr_schedulers()
        unmarked, marked = batch["unmarked"], batch["marked"]
        optimizer.zero_grad(set_to_none=True)
        with _frozen(self.disc_marked, self.disc_unmarked):
            total, parts, images = self.generator_losses(unmarked, marked, batch.get("unmarked_next"))
            check_finite_losses(self, parts)
            self.manual_backward(total)
        d_parts = self.discriminator_losses(unmarked, marked, images["fake_marked"], images["fake_unmarked"])
        check_finite_losses(self, d_parts)
        self.manual_backward(d_parts["disc_marked"] + d_parts["disc_unmarked"])
        optimizer.step()
        scheduler.step()

        logged = {f"train/{k}": v.detach() for k, v in {**parts, **d_parts}.items()}
        logged["train/total"] = total.detach()
        if "visibility_unmarked" in images:  # the share of paint shown: watch it for a collapse
            logged["train/visible"] = images["visibility_unmarked"].detach().mean()
        self.log_dict(logged, prog_bar=False)
        self.log("loss", total.detach(), prog_bar=True, logger=False)
        every = self.hparams.image_log_every
        if every and self.global_step % every == 0:
            self._log_images("train", unmarked, marked, images)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        unmarked, marked = batch["unmarked"], batch["marked"]
        landmarks, _, visible = self._predict_with_logits(unmarked)
        fake_unmarked = self._generate(marked)
        landmarks_m, _, visible_m = self._predict_with_logits(fake_unmarked)
        self.log(
            "val/chamfer",
            self._chamfer(landmarks_m, marked, visible_m),
            prog_bar=True,
            sync_dist=True,  # under DDP each process validates a share
        )
        if "landmarks" in batch:
            gt = batch["landmarks"].double().cpu().numpy()
            error = nme(landmarks.detach().double().cpu().numpy(), gt, box_diagonal(gt))
            self.log("val/nme", error, prog_bar=True, sync_dist=True, batch_size=len(gt))
        if batch_idx == 0:
            fake_marked = self.renderer(unmarked, landmarks, visible).images
            rec_marked = self.renderer(fake_unmarked, landmarks_m, visible_m).images
            self._log_images(
                "val",
                unmarked,
                marked,
                {
                    "landmarks_unmarked": landmarks,
                    **({} if visible is None else {"visibility_unmarked": visible}),
                    "fake_marked": fake_marked,
                    "rec_unmarked": self._generate(fake_marked),
                    "fake_unmarked": fake_unmarked,
                    "rec_marked": rec_marked,
                },
            )

    def configure_optimizers(self):
        lr = self.hparams.lr
        groups = [
            {"params": self.generator.parameters()},
            {"params": self.landmarker.parameters(), "lr": self.hparams.landmarker_lr or lr},
            {"params": list(self.disc_marked.parameters()) + list(self.disc_unmarked.parameters())},
        ]
        optimizer = torch.optim.Adam(groups, lr=lr, betas=tuple(self.hparams.betas))
        total = max(1, int(self.trainer.estimated_stepping_batches))
        start = self.hparams.decay_start * total

        def factor(step: int) -> float:
            return 1.0 if step < start else max(0.0, (total - step) / max(1.0, total - start))

        return [optimizer], [torch.optim.lr_scheduler.LambdaLR(optimizer, factor)]

    def setup(self, stage: str) -> None:
        # under DDP each rank keeps its own pools; their random choices differ per rank too
        if stage == "fit" and self.global_rank > 0:
            for pool, seed in ((self.pool_marked, 1), (self.pool_unmarked, 2)):
                pool.generator.manual_seed(rank_seed(seed, self.global_rank))
        # fits given bare dataloaders (no datamodule) keep the template's colour
        marked = getattr(self.trainer.datamodule, "marked_frames", None) if stage == "fit" else None
        if self.hparams.paint_color == "auto" and marked is not None:
            self.calibrate_paint_color(marked, self.trainer.datamodule.marked_path)
        if self.hparams.paint_width == "auto" and marked is not None:
            self.calibrate_paint_width(marked, self.trainer.datamodule.marked_path)
        if stage == "fit":
            self.training_roi = getattr(self.trainer.datamodule, "roi", self.training_roi)
        unmarked = getattr(self.trainer.datamodule, "unmarked_frames", None) if stage == "fit" else None
        if unmarked is not None:
            # an even spread of up to 512 training inputs: the mean face they make is what
            # `predict --roi auto` looks for in a large frame
            self.appearance = appearance_of(unmarked[:: max(1, len(unmarked) // 512)])

    # ------------------------------------------------------------------ paint colour
    def _set_paint_color(self, color: Tensor) -> None:
        """Paint and look for paint of ``color`` (3,) RGB in [0, 1]."""
        self.marker_color.copy_(color)
        self.renderer.compositor.color.copy_(color)

    def calibrate_paint_color(self, marked: np.ndarray, source: str = "the marked frames") -> None:
        """Measure the paint's colour in marked frames (F, H, W, 3) uint8 and use it from now on;
        the checkpoint keeps it (``paint_color``).

        Raises:
            InputDataError: the frames hold (nearly) nothing of the template's colour.
        """
        frames = _even_sample(marked)
        color = estimate_paint_color(frames, torch.tensor(self.template.marker.color_unit))
        if color is None:
            raise InputDataError(
                f"{source}: no paint of the template's colour {list(self.template.marker.color)} found;"
                " set marker.color in the template to the paint's colour"
            )
        self._set_paint_color(color.to(self.marker_color))
        measured = [round(float(c) * 255, 1) for c in color]
        self.hparams["paint_color"] = measured
        rank_zero_info(
            f"paint colour measured in {source}: {measured} (template: {list(self.template.marker.color)})"
        )

    def _set_paint_width(self, width: float) -> None:
        """Render strokes ``width`` pixels wide (of the model input) from now on."""
        colour = self.renderer.compositor.color.clone()
        self.template = self.template.with_marker_width(width)
        self.renderer = MarkerRenderer(self.template, self.renderer.settings).to(colour.device)
        self.renderer.compositor.color.copy_(colour)

    def calibrate_paint_width(self, marked: np.ndarray, source: str = "the marked frames") -> None:
        """Measure the paint's stroke width in marked frames (F, H, W, 3) uint8 (of the model
        input's size) and render strokes that wide from now on; the checkpoint keeps it
        (``paint_width``).

        Raises:
            InputDataError: the frames show too little paint to measure.
        """
        frames = _even_sample(marked)
        # the part's usual colour: the paint's edge pixels are mixed with it in the frames
        background = frames.flatten(2).median(dim=2).values.median(dim=0).values
        width = measure_paint_width(
            frames, self.marker_color.cpu(), self.template, background, self.renderer.settings
        )
        if width is None:
            raise InputDataError(f"{source}: too little paint to measure its width; set model.paint_width")
        authored = self.template.marker.width
        self._set_paint_width(width)
        self.hparams["paint_width"] = round(width, 2)
        rank_zero_info(
            f"paint width measured in {source}: {width:.2f} px of the model input (template: {authored:.2f})"
        )

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[KIND_KEY] = "landmarks"
        checkpoint[TEMPLATE_KEY] = self.hparams["template"]
        pools = {"marked": self.pool_marked.state_dict(), "unmarked": self.pool_unmarked.state_dict()}
        ranks = gather_from_ranks(self._trainer, pools)  # every rank's pools (rank 0 writes the file)
        checkpoint[POOLS_KEY] = {**ranks[0], "ranks": ranks} if len(ranks) > 1 else pools
        if self.appearance is not None:
            checkpoint[APPEARANCE_KEY] = self.appearance.to_dict()
        if self.training_roi is not None:
            checkpoint[TRAINING_ROI_KEY] = self.training_roi

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if checkpoint.get(APPEARANCE_KEY) is not None:
            self.appearance = Appearance.from_dict(checkpoint[APPEARANCE_KEY])
        self.training_roi = checkpoint.get(TRAINING_ROI_KEY, self.training_roi)
        pools = checkpoint.get(POOLS_KEY)
        if pools and "ranks" in pools:
            pools = own_rank_state(self._trainer, pools["ranks"], "image pools")
        if pools:
            self.pool_marked.load_state_dict(pools["marked"], self.device)
            self.pool_unmarked.load_state_dict(pools["unmarked"], self.device)

    # ------------------------------------------------------------------ logging
    def _log_images(self, stage: str, unmarked: Tensor, marked: Tensor, images: dict[str, Tensor]) -> None:
        from lightning.pytorch.loggers import TensorBoardLogger
        from torchvision.utils import make_grid

        from genlmk.visualization import draw_landmarks

        logger = self.logger
        if not isinstance(logger, TensorBoardLogger):
            return
        count = min(4, unmarked.shape[0])
        with torch.no_grad():
            drawn = []
            points = images["landmarks_unmarked"][:count].detach().cpu().numpy()
            flags = images.get("visibility_unmarked")
            flags = [None] * count if flags is None else flags[:count].detach().cpu().numpy()
            for array, frame_points, frame_flags in zip(uint8_frames(unmarked[:count]), points, flags):
                overlay = draw_landmarks(array, frame_points, self.template, radius=1, visibility=frame_flags)
                drawn.append(to_tensor(overlay))
            rows = [
                torch.stack(drawn).to(unmarked.device),
                images["fake_marked"][:count],
                images["rec_unmarked"][:count],
                marked[:count],
                images["fake_unmarked"][:count],
                images["rec_marked"][:count],
            ]
            grid = make_grid(torch.cat([r.detach().clamp(0, 1) for r in rows]), nrow=count)
        logger.experiment.add_image(
            f"{stage}/unmarked+landmarks, fake marked, rec unmarked | marked, fake unmarked, rec marked",
            grid,
            self.global_step,
        )
