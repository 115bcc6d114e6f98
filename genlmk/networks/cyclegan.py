"""CycleGAN networks: ResNet generator and PatchGAN discriminator.

Layer order and parameter names follow the reference CycleGAN implementation
(``model.<index>.weight``), so its released checkpoints load through
:func:`cyclegan_checkpoint_filter_fn`. Images enter and leave as RGB in [0, 1]; the networks
work in [-1, 1] inside, as the reference does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from genlmk.options import require


@dataclass(frozen=True)
class GeneratorOptions:
    """Sizes of the marked -> unmarked :class:`ResnetGenerator` (``model.generator``).

    Attributes:
        ngf: channels of the first convolution.
        blocks: residual blocks at the bottleneck.
        residual: start as the identity (the output is the input plus a learnt change).
    """

    ngf: int = 64
    blocks: int = 6
    residual: bool = False

    def __post_init__(self) -> None:
        require(self.ngf >= 1, "model.generator.ngf", "must be at least 1", self.ngf)
        require(self.blocks >= 0, "model.generator.blocks", "must not be negative", self.blocks)


@dataclass(frozen=True)
class DiscriminatorOptions:
    """Sizes of both PatchGAN :class:`NLayerDiscriminator` s (``model.discriminator``).

    Attributes:
        ndf: channels of the first convolution.
        layers: stride-2 convolution layers (each halves the patch grid).
    """

    ndf: int = 64
    layers: int = 3

    def __post_init__(self) -> None:
        require(self.ndf >= 1, "model.discriminator.ndf", "must be at least 1", self.ndf)
        require(self.layers >= 1, "model.discriminator.layers", "must be at least 1", self.layers)


def _norm(channels: int) -> nn.Module:
    # the reference's "instance" norm: no affine parameters, no running statistics
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convolutions with instance norm, plus the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Image-to-image generator: 7x7 stem, two stride-2 downsamplings, ``blocks`` residual
    blocks, two transposed-convolution upsamplings, 7x7 head with tanh.

    Args:
        ngf: channels after the stem (64 in the reference).
        blocks: residual blocks (6 for 128 px, 9 for 256 px in the reference).
        residual: add the input to the output (the head then predicts a change, and starts at
            zero, so the generator starts as the identity). Same parameters as the reference;
            suits translations that are local edits, like removing paint.

    Shape:
        input (B, 3, H, W) RGB in [0, 1], H and W multiples of 4; output the same.
    """

    def __init__(
        self,
        ngf: int = 64,
        blocks: int = 9,
        residual: bool = False,
        in_channels: int = 3,
        out_channels: int = 3,
    ) -> None:
        super().__init__()
        self.residual = residual
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7),
            _norm(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), _norm(2 * c), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                _norm(c // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def reset_head(self, std: float = 1e-3) -> None:
        """Shrink the last convolution to near zero: with ``residual`` the generator then starts
        as (almost) the identity, while earlier layers still receive gradient."""
        head = self.model[-2]
        nn.init.normal_(head.weight, std=std)
        nn.init.zeros_(head.bias)

    def forward(self, images: Tensor) -> Tensor:
        change = self.model(images * 2.0 - 1.0)
        if self.residual:
            return (images + change).clamp(0.0, 1.0)
        return (change + 1.0) * 0.5


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator (70x70 receptive field with the default 3 layers).

    Shape:
        input (B, 3, H, W) RGB in [0, 1]; output (B, 1, H', W') unbounded realness scores,
        one per overlapping patch (LSGAN targets 1 for real, 0 for fake).
    """

    def __init__(self, ndf: int = 64, layers: int = 3, in_channels: int = 3) -> None:
        super().__init__()
        seq: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < layers else 1
            seq += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1),
                _norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        seq += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, images: Tensor) -> Tensor:
        return self.model(images * 2.0 - 1.0)


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """The reference's "normal" init: conv weights N(0, gain), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


_RUNNING_STATS = re.compile(r"\.(running_mean|running_var|num_batches_tracked)$")


def cyclegan_checkpoint_filter_fn(state_dict: Mapping[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
    """Map a reference CycleGAN checkpoint (``latest_net_G_A.pth``, ``latest_net_D_B.pth``...)
    onto ``model``.

    - accepts a plain state dict or one wrapped by DataParallel (``module.`` prefix);
    - drops InstanceNorm running statistics that old reference checkpoints carry;
    - passes our own state dicts through unchanged.

    Raises:
        ValueError: the checkpoint's parameter names do not fit ``model``.
    """
    out = {}
    for key, value in state_dict.items():
        key = key.removeprefix("module.")
        if _RUNNING_STATS.search(key):
            continue
        out[key] = value
    expected = set(model.state_dict())
    missing, unexpected = expected - set(out), set(out) - expected
    if missing or unexpected:
        raise ValueError(
            f"checkpoint does not fit {type(model).__name__}: missing {sorted(missing)[:3]}, "
            f"unexpected {sorted(unexpected)[:3]} (check ngf / blocks / ndf / layers)"
        )
    return out


def load_cyclegan_weights(model: nn.Module, path: str) -> None:
    """Load a reference CycleGAN ``.pth`` file into ``model`` strictly."""
    from genlmk.errors import CheckpointError

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: CycleGAN weights file not found") from None
    except Exception as exc:
        raise CheckpointError(
            f"{path}: not a readable CycleGAN checkpoint ({exc.__class__.__name__})"
        ) from None
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: expected a state dict, got {type(state).__name__}")
    try:
        model.load_state_dict(cyclegan_checkpoint_filter_fn(state, model), strict=True)
    except (ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: {str(exc).splitlines()[0]}") from None
