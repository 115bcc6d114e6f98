"""First Order Motion Model networks (Siarohin et al., NeurIPS 2019), in one file.

Blocks (hourglass encoder/decoder, down/up/same/residual blocks, anti-aliased downscaling), the
keypoint detector with local Jacobians, the dense motion network with occlusion map, the
occlusion-aware generator, the multi-scale discriminator; builders from the reference's
``model_params`` dictionary (:data:`VOX_256`); :func:`checkpoint_filter_fn` for released and genlmk
checkpoints and :func:`infer_model_params` for released files, which carry no configuration.

Parameter and buffer names and shapes are those of the reference implementation, so a released
``vox-cpk.pth.tar`` loads strictly (BatchNorm statistics included) and computes the same outputs.

Conventions: images are (B, C, H, W) floats in [0, 1]; keypoints are
:class:`genlmk.geometry.keypoints.Keypoints` in normalized [-1, 1] coordinates (``align_corners=True``
style grids); sampling grids go to ``grid_sample`` with ``align_corners=False``, as the reference
runs on every PyTorch since 1.3.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlmk.errors import CheckpointError, ConfigError
from genlmk.geometry.filters import antialias_downscale, antialias_kernel
from genlmk.geometry.keypoints import Keypoints, gaussian_heatmaps, heatmap_expectation, keypoint_grid

# ----------------------------------------------------------------------------------------- blocks


class DownBlock2d(nn.Module):
    """Conv 3x3 -> BatchNorm -> ReLU -> 2x2 average pooling (halves H and W)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(F.relu(self.norm(self.conv(x))), 2)


class UpBlock2d(nn.Module):
    """Nearest-neighbour 2x upsampling -> conv 3x3 -> BatchNorm -> ReLU (doubles H and W)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))))


class SameBlock2d(nn.Module):
    """Conv (size-preserving padding) -> BatchNorm -> ReLU."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=kernel_size, padding=kernel_size // 2)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(x)))


class ResBlock2d(nn.Module):
    """Pre-activation residual block: ``x + conv2(relu(norm2(conv1(relu(norm1(x))))))``, 3x3 convs."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(features, features, kernel_size=3, padding=1)
        self.norm1 = nn.BatchNorm2d(features, affine=True)
        self.norm2 = nn.BatchNorm2d(features, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        return x + self.conv2(F.relu(self.norm2(out)))


def _width(block_expansion: int, level: int, max_features: int) -> int:
    """Channels at depth ``level`` of an encoder: ``min(max_features, block_expansion * 2**level)``."""
    return min(max_features, block_expansion * 2**level)


class Encoder(nn.Module):
    """Hourglass encoder: ``num_blocks`` :class:`DownBlock2d`; returns the input and every level."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        self.down_blocks = nn.ModuleList(
            DownBlock2d(
                in_features if i == 0 else _width(block_expansion, i, max_features),
                _width(block_expansion, i + 1, max_features),
            )
            for i in range(num_blocks)
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        levels = [x]
        for block in self.down_blocks:
            levels.append(block(levels[-1]))
        return levels


class Decoder(nn.Module):
    """Hourglass decoder: :class:`UpBlock2d` per level, each output concatenated with its skip."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        self.up_blocks = nn.ModuleList(
            UpBlock2d(
                (1 if i == num_blocks - 1 else 2) * _width(block_expansion, i + 1, max_features),
                _width(block_expansion, i, max_features),
            )
            for i in reversed(range(num_blocks))
        )
        self.out_features = block_expansion + in_features

    def forward(self, levels: list[Tensor]) -> Tensor:
        out = levels[-1]
        for block, skip in zip(self.up_blocks, reversed(levels[:-1])):
            out = torch.cat([block(out), skip], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net: (B, in_features, H, W) -> (B, block_expansion + in_features, H, W).

    H and W must be divisible by ``2 ** num_blocks``.
    """

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256):
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features)
        self.out_features = self.decoder.out_features

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


class AntiAliasDownscale(nn.Module):
    """:func:`genlmk.geometry.filters.antialias_downscale` with its kernel as buffer ``weight``."""

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.register_buffer("weight", antialias_kernel(scale, channels))

    def forward(self, x: Tensor) -> Tensor:
        return antialias_downscale(x, self.scale, self.weight)


def _downscaler(channels: int, scale: float) -> AntiAliasDownscale | None:
    return None if scale == 1 else AntiAliasDownscale(channels, scale)


# -------------------------------------------------------------------------------- keypoint detector


class KPDetector(nn.Module):
    """Unsupervised keypoints with local affine Jacobians.

    An hourglass on the (anti-aliased, downscaled) image predicts one heatmap per keypoint
    (softmax over pixels at ``temperature``); the keypoint is the heatmap's expected position, its
    Jacobian the heatmap-weighted average of 4 predicted maps (``jacobian`` starts as the identity).

    Args:
        num_kp: keypoints K.
        num_channels: image channels C.
        block_expansion, max_features, num_blocks: hourglass sizes.
        temperature: softmax temperature of the heatmaps.
        estimate_jacobian: predict Jacobians (first-order model) or not (zero-order).
        scale_factor: the image is downscaled by this factor first (1: no downscaling).
        single_jacobian_map: one Jacobian map shared by all keypoints.
        pad: padding of the 7x7 heatmap convolution (the reference uses 0, so 64 px give 58x58 maps).
    """

    def __init__(
        self,
        num_kp: int = 10,
        num_channels: int = 3,
        block_expansion: int = 32,
        max_features: int = 1024,
        num_blocks: int = 5,
        temperature: float = 0.1,
        estimate_jacobian: bool = True,
        scale_factor: float = 0.25,
        single_jacobian_map: bool = False,
        pad: int = 0,
    ) -> None:
        super().__init__()
        self.predictor = Hourglass(block_expansion, num_channels, num_blocks, max_features)
        self.kp = nn.Conv2d(self.predictor.out_features, num_kp, kernel_size=7, padding=pad)
        self.num_jacobian_maps = 1 if single_jacobian_map else num_kp
        if estimate_jacobian:
            self.jacobian = nn.Conv2d(
                self.predictor.out_features, 4 * self.num_jacobian_maps, kernel_size=7, padding=pad
            )
            nn.init.zeros_(self.jacobian.weight)
            with torch.no_grad():
                self.jacobian.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(self.num_jacobian_maps))
        else:
            self.jacobian = None
        self.temperature = temperature
        self.down = _downscaler(num_channels, scale_factor)

    def forward(self, images: Tensor) -> Keypoints:
        """Detect keypoints.

        Args:
            images: (B, C, H, W) in [0, 1].

        Returns:
            Keypoints with ``value`` (B, K, 2) in [-1, 1], ``jacobian`` (B, K, 2, 2) or None,
            ``heatmap`` (B, K, h, w) summing to 1 per keypoint.
        """
        if self.down is not None:
            images = self.down(images)
        features = self.predictor(images)
        logits = self.kp(features)
        b, k, h, w = logits.shape
        heatmap = F.softmax(logits.reshape(b, k, -1) / self.temperature, dim=2).reshape(b, k, h, w)
        value = heatmap_expectation(heatmap)
        jacobian = None
        if self.jacobian is not None:
            maps = self.jacobian(features).reshape(b, self.num_jacobian_maps, 4, h, w)
            jacobian = (heatmap.unsqueeze(2) * maps).sum(dim=(-2, -1)).reshape(b, k, 2, 2)
        return Keypoints(value, jacobian, heatmap)


# ------------------------------------------------------------------------------------- dense motion


class DenseMotion(NamedTuple):
    """Output of :class:`DenseMotionNetwork` at its working resolution h x w.

    Attributes:
        deformation: (B, h, w, 2) for every driving-frame pixel, the normalized source position to
            sample (a ``grid_sample`` grid).
        mask: (B, K + 1, h, w) softmax weights of the background and of each keypoint's motion.
        sparse_deformed: (B, K + 1, C, h, w) the source warped by each candidate motion.
        occlusion: (B, 1, h, w) in (0, 1), 1 where the source is visible; None when not estimated.
    """

    deformation: Tensor
    mask: Tensor
    sparse_deformed: Tensor
    occlusion: Tensor | None


class DenseMotionNetwork(nn.Module):
    """Combines the keypoints' local affine motions into one dense motion field (and occlusion).

    Args:
        num_kp: keypoints K; num_channels: image channels C.
        block_expansion, max_features, num_blocks: hourglass sizes.
        scale_factor: works on the source downscaled by this factor.
        kp_variance: variance of the keypoint Gaussians, in squared normalized units.
        estimate_occlusion_map: predict the occlusion map.
    """

    def __init__(
        self,
        num_kp: int = 10,
        num_channels: int = 3,
        block_expansion: int = 64,
        max_features: int = 1024,
        num_blocks: int = 5,
        scale_factor: float = 0.25,
        kp_variance: float = 0.01,
        estimate_occlusion_map: bool = True,
    ) -> None:
        super().__init__()
        self.hourglass = Hourglass(
            block_expansion, (num_kp + 1) * (num_channels + 1), num_blocks, max_features
        )
        self.mask = nn.Conv2d(self.hourglass.out_features, num_kp + 1, kernel_size=7, padding=3)
        self.occlusion = (
            nn.Conv2d(self.hourglass.out_features, 1, kernel_size=7, padding=3)
            if estimate_occlusion_map
            else None
        )
        self.num_kp = num_kp
        self.kp_variance = kp_variance
        self.down = _downscaler(num_channels, scale_factor)

    @staticmethod
    def sparse_motions(height: int, width: int, kp_source: Keypoints, kp_driving: Keypoints) -> Tensor:
        """Each keypoint's motion ``T_k(z) = kp_s + J_s J_d^-1 (z - kp_d)``, plus the identity.

        Returns:
            (B, K + 1, height, width, 2) normalized source positions; index 0 is the background
            (identity), index k + 1 the first-order approximation around keypoint k.
        """
        grid = keypoint_grid(height, width, kp_source.value.device, kp_source.value.dtype)
        offsets = grid - kp_driving.value[:, :, None, None, :]
        if kp_driving.jacobian is not None and kp_source.jacobian is not None:
            jacobian = kp_source.jacobian @ torch.linalg.inv(kp_driving.jacobian)
            offsets = torch.einsum("bkij,bkhwj->bkhwi", jacobian, offsets)
        motions = offsets + kp_source.value[:, :, None, None, :]
        identity = grid.expand(motions.shape[0], 1, height, width, 2)
        return torch.cat([identity, motions], dim=1)

    def forward(self, source: Tensor, kp_source: Keypoints, kp_driving: Keypoints) -> DenseMotion:
        """Estimate the motion from the driving frame back to the source.

        Args:
            source: (B, C, H, W) in [0, 1].
            kp_source, kp_driving: keypoints with ``value`` (B, K, 2) and optional Jacobians.
        """
        if self.down is not None:
            source = self.down(source)
        b, c, h, w = source.shape
        heat = gaussian_heatmaps(kp_driving.value, h, w, self.kp_variance) - gaussian_heatmaps(
            kp_source.value, h, w, self.kp_variance
        )
        heat = torch.cat([heat.new_zeros(b, 1, h, w), heat], dim=1)
        motions = self.sparse_motions(h, w, kp_source, kp_driving)
        count = self.num_kp + 1
        repeated = source.unsqueeze(1).expand(b, count, c, h, w).reshape(b * count, c, h, w)
        deformed = F.grid_sample(repeated, motions.reshape(b * count, h, w, 2), align_corners=False)
        deformed = deformed.reshape(b, count, c, h, w)
        features = self.hourglass(torch.cat([heat.unsqueeze(2), deformed], dim=2).reshape(b, -1, h, w))
        mask = F.softmax(self.mask(features), dim=1)
        deformation = torch.einsum("bkhw,bkhwc->bhwc", mask, motions)
        occlusion = torch.sigmoid(self.occlusion(features)) if self.occlusion is not None else None
        return DenseMotion(deformation, mask, deformed, occlusion)


# ----------------------------------------------------------------------------------------- generator


class GeneratorOutput(NamedTuple):
    """Output of :class:`OcclusionAwareGenerator`.

    Attributes:
        prediction: (B, C, H, W) in [0, 1], the source animated by the driving keypoints.
        deformed: (B, C, H, W) the source warped by the dense motion alone (no inpainting).
        motion: the dense motion network's output (at its own resolution).
    """

    prediction: Tensor
    deformed: Tensor
    motion: DenseMotion


def _resize_to(x: Tensor, size: Sequence[int]) -> Tensor:
    return x if tuple(x.shape[-2:]) == tuple(size) else F.interpolate(x, size=size, mode="bilinear")


def deform(images: Tensor, deformation: Tensor) -> Tensor:
    """Sample ``images`` (B, C, H, W) at ``deformation`` (B, h, w, 2) resized bilinearly to H x W."""
    grid = _resize_to(deformation.permute(0, 3, 1, 2), images.shape[-2:]).permute(0, 2, 3, 1)
    return F.grid_sample(images, grid, align_corners=False)


class OcclusionAwareGenerator(nn.Module):
    """Encoder -> warp features by the dense motion, mask by occlusion -> residual bottleneck -> decoder.

    Args:
        num_channels: image channels C; num_kp: keypoints K.
        block_expansion, max_features: encoder widths; num_down_blocks: downscalings by 2.
        num_bottleneck_blocks: residual blocks at the lowest resolution.
        estimate_occlusion_map: let the dense motion network predict occlusion.
        dense_motion_params: keyword arguments of :class:`DenseMotionNetwork` (without K and C).
    """

    def __init__(
        self,
        num_channels: int = 3,
        num_kp: int = 10,
        block_expansion: int = 64,
        max_features: int = 512,
        num_down_blocks: int = 2,
        num_bottleneck_blocks: int = 6,
        estimate_occlusion_map: bool = True,
        dense_motion_params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.dense_motion_network = DenseMotionNetwork(
            num_kp=num_kp,
            num_channels=num_channels,
            estimate_occlusion_map=estimate_occlusion_map,
            **(dense_motion_params or {}),
        )
        self.first = SameBlock2d(num_channels, block_expansion, kernel_size=7)
        widths = [_width(block_expansion, i, max_features) for i in range(num_down_blocks + 1)]
        self.down_blocks = nn.ModuleList(
            DownBlock2d(widths[i], widths[i + 1]) for i in range(num_down_blocks)
        )
        self.up_blocks = nn.ModuleList(
            UpBlock2d(widths[i + 1], widths[i]) for i in reversed(range(num_down_blocks))
        )
        self.bottleneck = nn.Sequential()
        for i in range(num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(widths[-1]))
        self.final = nn.Conv2d(block_expansion, num_channels, kernel_size=7, padding=3)

    def forward(self, source: Tensor, kp_source: Keypoints, kp_driving: Keypoints) -> GeneratorOutput:
        """Render the source with the pose of the driving keypoints.

        Args:
            source: (B, C, H, W) in [0, 1]; H, W divisible by ``2 ** num_down_blocks``.
            kp_source, kp_driving: keypoints (B, K, 2) with Jacobians (B, K, 2, 2) or None.
        """
        features = self.first(source)
        for block in self.down_blocks:
            features = block(features)
        motion = self.dense_motion_network(source, kp_source, kp_driving)
        features = deform(features, motion.deformation)
        if motion.occlusion is not None:
            features = features * _resize_to(motion.occlusion, features.shape[-2:])
        out = self.bottleneck(features)
        for block in self.up_blocks:
            out = block(out)
        prediction = torch.sigmoid(self.final(out))
        return GeneratorOutput(prediction, deform(source, motion.deformation), motion)


# ------------------------------------------------------------------------------------- discriminator


class DiscriminatorBlock(nn.Module):
    """Conv 4x4 (no padding, optional spectral norm) -> optional InstanceNorm -> LeakyReLU 0.2 -> pool."""

    def __init__(self, in_features: int, out_features: int, norm: bool, pool: bool, sn: bool) -> None:
        super().__init__()
        conv = nn.Conv2d(in_features, out_features, kernel_size=4)
        self.conv = nn.utils.spectral_norm(conv) if sn else conv
        self.norm = nn.InstanceNorm2d(out_features, affine=True) if norm else None
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        if self.norm is not None:
            out = self.norm(out)
        out = F.leaky_relu(out, 0.2)
        return F.avg_pool2d(out, 2) if self.pool else out


class DiscriminatorOutput(NamedTuple):
    """``features``: each block's output (for feature matching); ``prediction``: (B, 1, h, w) scores."""

    features: list[Tensor]
    prediction: Tensor


class Discriminator(nn.Module):
    """Pix2Pix-style patch discriminator, optionally conditioned on keypoint Gaussians."""

    def __init__(
        self,
        num_channels: int = 3,
        block_expansion: int = 64,
        num_blocks: int = 4,
        max_features: int = 512,
        sn: bool = False,
        use_kp: bool = False,
        num_kp: int = 10,
        kp_variance: float = 0.01,
    ) -> None:
        super().__init__()
        self.down_blocks = nn.ModuleList(
            DiscriminatorBlock(
                num_channels + num_kp * use_kp if i == 0 else _width(block_expansion, i, max_features),
                _width(block_expansion, i + 1, max_features),
                norm=i != 0,
                pool=i != num_blocks - 1,
                sn=sn,
            )
            for i in range(num_blocks)
        )
        conv = nn.Conv2d(_width(block_expansion, num_blocks, max_features), 1, kernel_size=1)
        self.conv = nn.utils.spectral_norm(conv) if sn else conv
        self.use_kp = use_kp
        self.kp_variance = kp_variance

    def forward(self, images: Tensor, kp_value: Tensor | None = None) -> DiscriminatorOutput:
        """Score images (B, C, H, W); ``kp_value`` (B, K, 2) is needed when ``use_kp``."""
        out = images
        if self.use_kp:
            if kp_value is None:
                raise ValueError("this discriminator is conditioned on keypoints (use_kp); pass kp_value")
            heat = gaussian_heatmaps(kp_value, images.shape[2], images.shape[3], self.kp_variance)
            out = torch.cat([out, heat], dim=1)
        features = []
        for block in self.down_blocks:
            out = block(out)
            features.append(out)
        return DiscriminatorOutput(features, self.conv(out))


def scale_key(scale: float) -> str:
    """Module name of the discriminator for a pyramid scale: ``1 -> "1"``, ``0.5 -> "0-5"``."""
    return f"{scale:g}".replace(".", "-")


class MultiScaleDiscriminator(nn.Module):
    """One :class:`Discriminator` per image-pyramid scale (``discs.<scale_key>``)."""

    def __init__(self, scales: Sequence[float] = (1,), **kwargs: Any) -> None:
        super().__init__()
        self.scales = tuple(scales)
        self.discs = nn.ModuleDict({scale_key(s): Discriminator(**kwargs) for s in self.scales})

    def forward(
        self, pyramid: Mapping[float, Tensor], kp_value: Tensor | None = None
    ) -> dict[float, DiscriminatorOutput]:
        """Score each scale of ``pyramid`` (``{scale: (B, C, H s, W s)}``, e.g. from ``image_pyramid``)."""
        return {s: self.discs[scale_key(s)](pyramid[s], kp_value) for s in self.scales}


# ---------------------------------------------------------------------------------------- builders

#: The reference ``model_params`` of ``config/vox-256.yaml`` (also TaiChi, BAIR, Nemo at 256 px).
VOX_256: dict[str, dict[str, Any]] = {
    "common_params": {"num_kp": 10, "num_channels": 3, "estimate_jacobian": True},
    "kp_detector_params": {
        "temperature": 0.1,
        "block_expansion": 32,
        "max_features": 1024,
        "scale_factor": 0.25,
        "num_blocks": 5,
    },
    "generator_params": {
        "block_expansion": 64,
        "max_features": 512,
        "num_down_blocks": 2,
        "num_bottleneck_blocks": 6,
        "estimate_occlusion_map": True,
        "dense_motion_params": {
            "block_expansion": 64,
            "max_features": 1024,
            "num_blocks": 5,
            "scale_factor": 0.25,
        },
    },
    "discriminator_params": {
        "scales": [1],
        "block_expansion": 32,
        "max_features": 512,
        "num_blocks": 4,
        "sn": True,
    },
}


class FOMM(NamedTuple):
    """The three networks of a First Order Motion Model (the discriminator only matters for training)."""

    kp_detector: KPDetector
    generator: OcclusionAwareGenerator
    discriminator: MultiScaleDiscriminator


def _section(model_params: Mapping[str, Any], name: str) -> dict[str, Any]:
    section = model_params.get(name, {})
    if not isinstance(section, Mapping):
        raise ConfigError(f"model_params.{name}: expected a mapping, got {type(section).__name__}")
    return dict(section)


def _construct(cls: type[nn.Module], where: str, **kwargs: Any) -> nn.Module:
    try:
        return cls(**kwargs)
    except TypeError as exc:
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
        reason = f"unknown key {unknown.group(1)!r}" if unknown else str(exc)
        raise ConfigError(f"model_params.{where}: {reason}") from None


def build_kp_detector(model_params: Mapping[str, Any]) -> KPDetector:
    """:class:`KPDetector` from ``common_params`` + ``kp_detector_params``."""
    common = _section(model_params, "common_params")
    return _construct(
        KPDetector, "kp_detector_params", **common, **_section(model_params, "kp_detector_params")
    )


def build_generator(model_params: Mapping[str, Any]) -> OcclusionAwareGenerator:
    """:class:`OcclusionAwareGenerator` from ``common_params`` + ``generator_params``."""
    common = _section(model_params, "common_params")
    common.pop("estimate_jacobian", None)  # the generator follows whatever the keypoints carry
    return _construct(
        OcclusionAwareGenerator, "generator_params", **common, **_section(model_params, "generator_params")
    )


def build_discriminator(model_params: Mapping[str, Any]) -> MultiScaleDiscriminator:
    """:class:`MultiScaleDiscriminator` from ``common_params`` + ``discriminator_params``."""
    common = _section(model_params, "common_params")
    common.pop("estimate_jacobian", None)
    params = _section(model_params, "discriminator_params")
    return _construct(MultiScaleDiscriminator, "discriminator_params", **common, **params)


def build_fomm(model_params: Mapping[str, Any] = VOX_256) -> FOMM:
    """All three networks from a reference-style ``model_params`` mapping (see :data:`VOX_256`).

    Raises:
        ConfigError: a section is not a mapping or holds an unknown key.
    """
    return FOMM(
        build_kp_detector(model_params), build_generator(model_params), build_discriminator(model_params)
    )


# ------------------------------------------------------------------------------------- checkpoints

PARTS = ("kp_detector", "generator", "discriminator")


def _clean_state(state: Mapping[str, Any]) -> dict[str, Tensor]:
    """Drop a DataParallel ``module.`` prefix; give pre-0.4.1 BatchNorm entries ``num_batches_tracked``."""
    out = {re.sub(r"^module\.", "", key): value for key, value in state.items()}
    for key in [k for k in out if k.endswith(".running_mean")]:
        out.setdefault(key[: -len("running_mean")] + "num_batches_tracked", torch.tensor(0, dtype=torch.long))
    return out


def checkpoint_filter_fn(checkpoint: Mapping[str, Any]) -> dict[str, dict[str, Tensor]]:
    """Map a checkpoint's weights onto :class:`FOMM`'s parts.

    Accepts the released layout (``vox-cpk.pth.tar``: a dict with ``generator``, ``kp_detector``,
    ``discriminator`` state dicts plus optimizer states and ``epoch``; DataParallel ``module.``
    prefixes and missing ``num_batches_tracked`` are mended) and genlmk's Lightning checkpoints
    (``state_dict`` with ``kp_detector.``, ``generator.``, ``discriminator.`` prefixes).

    Returns:
        ``{"kp_detector": ..., "generator": ..., ["discriminator": ...]}`` state dicts whose names
        are those of :class:`KPDetector`, :class:`OcclusionAwareGenerator`, :class:`MultiScaleDiscriminator`.

    Raises:
        CheckpointError: neither layout (the message lists the top-level keys found).
    """
    if isinstance(checkpoint.get("state_dict"), Mapping):
        parts: dict[str, dict[str, Tensor]] = {}
        for key, value in checkpoint["state_dict"].items():
            part, _, name = key.partition(".")
            if part in PARTS:
                parts.setdefault(part, {})[name] = value
    else:
        parts = {part: dict(checkpoint[part]) for part in PARTS if isinstance(checkpoint.get(part), Mapping)}
    if "kp_detector" not in parts or "generator" not in parts:
        found = ", ".join(sorted(map(str, checkpoint))[:8]) or "nothing"
        raise CheckpointError(
            "not a First Order Motion Model checkpoint "
            f"(needs 'kp_detector' and 'generator' weights; found {found})"
        )
    return {part: _clean_state(state) for part, state in parts.items()}


def _count(state: Mapping[str, Tensor], pattern: str) -> int:
    """Number of distinct indices ``{i}`` for which some key matches ``pattern`` (a regex with one group)."""
    return len({m.group(1) for key in state if (m := re.match(pattern, key))})


def _encoder_params(state: Mapping[str, Tensor], prefix: str) -> dict[str, Any]:
    blocks = _count(state, rf"{re.escape(prefix)}encoder\.down_blocks\.(\d+)\.conv\.weight")
    widths = [state[f"{prefix}encoder.down_blocks.{i}.conv.weight"].shape[0] for i in range(blocks)]
    return {"block_expansion": widths[0] // 2, "max_features": max(widths), "num_blocks": blocks}


def _scale_of(state: Mapping[str, Tensor], key: str) -> float:
    """The downscaling factor whose anti-alias kernel has the size of buffer ``key`` (1 if absent)."""
    if key not in state:
        return 1
    size = state[key].shape[-1]
    for step in range(2, 65):
        if antialias_kernel(1.0 / step).shape[-1] == size:
            return 1.0 / step
    raise CheckpointError(f"{key}: anti-alias kernel of size {size} matches no downscaling factor")


def infer_model_params(parts: Mapping[str, Mapping[str, Tensor]]) -> dict[str, dict[str, Any]]:
    """Reconstruct ``model_params`` from weight shapes (released checkpoints carry no configuration).

    Sizes, keypoint count, Jacobian and occlusion options, downscaling factors (from the anti-alias
    kernels) and the discriminator's options are read off the tensors; what leaves no trace in the
    weights (softmax temperature, Gaussian variance, heatmap padding) takes the :data:`VOX_256` value,
    which every released configuration shares.

    Args:
        parts: output of :func:`checkpoint_filter_fn`.

    Raises:
        CheckpointError: a tensor every FOMM has is missing.
    """
    try:
        return _infer_model_params(parts)
    except KeyError as exc:
        raise CheckpointError(f"weights of an unknown layout: no tensor {exc.args[0]!r}") from None


def _infer_model_params(parts: Mapping[str, Mapping[str, Tensor]]) -> dict[str, dict[str, Any]]:
    kp, gen = parts["kp_detector"], parts["generator"]
    params = copy.deepcopy(VOX_256)
    num_kp = kp["kp.weight"].shape[0]
    channels = kp["predictor.encoder.down_blocks.0.conv.weight"].shape[1]
    jacobian = kp.get("jacobian.weight")
    params["common_params"] = {
        "num_kp": num_kp,
        "num_channels": channels,
        "estimate_jacobian": jacobian is not None,
    }
    params["kp_detector_params"].update(
        _encoder_params(kp, "predictor."), scale_factor=_scale_of(kp, "down.weight")
    )
    if jacobian is not None and jacobian.shape[0] == 4 and num_kp != 1:
        params["kp_detector_params"]["single_jacobian_map"] = True
    motion = "dense_motion_network."
    downs = _count(gen, r"down_blocks\.(\d+)\.conv\.weight")
    params["generator_params"] = {
        "block_expansion": gen["first.conv.weight"].shape[0],
        "max_features": max((gen[f"down_blocks.{i}.conv.weight"].shape[0] for i in range(downs)), default=1),
        "num_down_blocks": downs,
        "num_bottleneck_blocks": _count(gen, r"bottleneck\.r(\d+)\."),
        "estimate_occlusion_map": f"{motion}occlusion.weight" in gen,
        "dense_motion_params": {
            **_encoder_params(gen, f"{motion}hourglass."),
            "scale_factor": _scale_of(gen, f"{motion}down.weight"),
        },
    }
    disc = parts.get("discriminator")
    if disc:
        convs: dict[str, dict[int, Tensor]] = {}
        for key, value in disc.items():
            m = re.fullmatch(r"discs\.([^.]+)\.down_blocks\.(\d+)\.conv\.weight(?:_orig)?", key)
            if m:
                convs.setdefault(m.group(1), {})[int(m.group(2))] = value
        blocks = next(iter(convs.values()))
        params["discriminator_params"] = {
            "scales": [float(k.replace("-", ".")) if "-" in k else int(k) for k in convs],
            "block_expansion": blocks[0].shape[0] // 2,
            "max_features": max(w.shape[0] for w in blocks.values()),
            "num_blocks": len(blocks),
            "sn": any(k.endswith("weight_orig") for k in disc),
            "use_kp": blocks[0].shape[1] > channels,
        }
    return params
