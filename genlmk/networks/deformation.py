"""Landmark deformation networks: image -> offsets of the template's landmarks.

The paper's network is 4 convolutions followed by 3 fully connected layers predicting the
offsets Delta (N, 2) that move the template T to the landmarks T + Delta. The last layer starts
near zero, so training starts from the template itself.

Options (all default to the paper's network):
- ``coords``: append normalised x/y coordinate channels to the input (CoordConv), which makes
  absolute positions easy to read off for the fully connected layers;
- ``head="affine"``: the head predicts a global affine motion of the whole template plus
  per-landmark offsets; useful when most motion is rigid;
- ``norm``: batch/instance normalisation after each convolution.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

Head = Literal["offsets", "affine"]


class LandmarkDeformationNet(nn.Module):
    """Predicts landmark offsets from an image.

    Args:
        template_points: (N, 2) template landmarks in pixels of the model input.
        image_size: model input ``(width, height)``.
        channels: output channels of the four stride-2 4x4 convolutions.
        hidden: width of the two hidden fully connected layers.
        coords: add coordinate channels to the input.
        head: ``offsets`` (paper) or ``affine`` (global affine + offsets).
        norm: ``none``, ``batch`` or ``instance``.

    Shape:
        input (B, 3, H, W) RGB in [0, 1]; output (B, N, 2) offsets in pixels (add the template
        points for landmark positions: :meth:`landmarks`).
    """

    def __init__(
        self,
        template_points: Tensor,
        image_size: tuple[int, int] = (128, 128),
        channels: tuple[int, int, int, int] = (32, 64, 128, 256),
        hidden: int = 256,
        coords: bool = False,
        head: Head = "offsets",
        norm: str = "none",
    ) -> None:
        super().__init__()
        if len(channels) != 4:
            raise ValueError(f"the deformation network has 4 convolutions; got channels {channels}")
        if head not in ("offsets", "affine"):
            raise ValueError(f"head must be 'offsets' or 'affine', got {head!r}")
        width, height = image_size
        if width % 16 or height % 16:
            raise ValueError(f"image size must be a multiple of 16, got {image_size}")
        points = torch.as_tensor(template_points, dtype=torch.float32)
        self.register_buffer("template_points", points)
        self.register_buffer("center", points.mean(dim=0))
        self.image_size = (width, height)
        self.coords = coords
        self.head = head
        # one unit of network output is 1/16 of the image: keeps the last layer's outputs O(1)
        self.scale = min(width, height) / 16.0

        layers: list[nn.Module] = []
        previous = 3 + (2 if coords else 0)
        for c in channels:
            layers += [
                nn.Conv2d(previous, c, 4, stride=2, padding=1),
                _make_norm(norm, c),
                nn.LeakyReLU(0.2, True),
            ]
            previous = c
        self.features = nn.Sequential(*layers)
        flat = channels[-1] * (width // 16) * (height // 16)
        count = points.shape[0]
        outputs = 2 * count + (6 if head == "affine" else 0)
        self.regressor = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, hidden),
            nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, outputs),
        )
        # near-zero start: Delta is ~0 (training starts from the template), but not exactly zero,
        # so the hidden layers receive gradient from the first step
        nn.init.normal_(self.regressor[-1].weight, std=1e-4)
        nn.init.zeros_(self.regressor[-1].bias)
        if coords:
            ys = torch.linspace(-1.0, 1.0, height).view(1, 1, height, 1).expand(1, 1, height, width)
            xs = torch.linspace(-1.0, 1.0, width).view(1, 1, 1, width).expand(1, 1, height, width)
            self.register_buffer("coord_maps", torch.cat((xs, ys), dim=1), persistent=False)

    @property
    def num_landmarks(self) -> int:
        return self.template_points.shape[0]

    def forward(self, images: Tensor) -> Tensor:
        """Offsets (B, N, 2) in pixels for images (B, 3, H, W) in [0, 1]."""
        expected = (self.image_size[1], self.image_size[0])
        if images.ndim != 4 or images.shape[1] != 3 or tuple(images.shape[-2:]) != expected:
            raise ValueError(
                f"expected images (B, 3, {expected[0]}, {expected[1]}), got {tuple(images.shape)}"
            )
        x = images * 2.0 - 1.0
        if self.coords:
            x = torch.cat((x, self.coord_maps.expand(x.shape[0], -1, -1, -1)), dim=1)
        out = self.regressor(self.features(x)) * self.scale
        count = self.num_landmarks
        offsets = out[:, : 2 * count].view(-1, count, 2)
        if self.head == "affine":
            params = out[:, 2 * count :] / self.scale
            linear = params[:, :4].view(-1, 2, 2)  # the change from identity
            shift = params[:, 4:] * self.scale
            relative = self.template_points - self.center
            offsets = offsets + relative @ linear.transpose(1, 2) + shift[:, None, :]
        return offsets

    def landmarks(self, images: Tensor) -> Tensor:
        """Landmark positions ``T + Delta`` (B, N, 2), pixels of the model input."""
        return self.template_points + self(images)


def _make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    raise ValueError(f"norm must be none, batch or instance; got {kind!r}")


def build_landmarker(
    config: dict[str, Any], template_points: Tensor, image_size: tuple[int, int]
) -> LandmarkDeformationNet:
    """Build a deformation network from its config block (the ``landmarker`` section)."""
    options = dict(config)
    if "channels" in options:
        options["channels"] = tuple(options["channels"])
    return LandmarkDeformationNet(template_points, image_size=image_size, **options)
