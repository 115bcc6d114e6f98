"""Landmark deformation networks: image -> offsets of the template's landmarks.

The paper's network is 4 convolutions followed by 3 fully connected layers predicting the
offsets Delta (N, 2) that move the template T to the landmarks T + Delta. The last layer starts
near zero, so training starts from the template itself.

Options (all default to the paper's network):
- ``coords``: append normalised x/y coordinate channels to the input (CoordConv), which makes
  absolute positions easy to read off for the fully connected layers;
- ``head="affine"``: the head predicts a global affine motion of the whole template plus
  per-landmark offsets; useful when most motion is rigid;
- ``head="heatmap"``: no fully connected layers; a small decoder brings the features back to
  1/4 of the input and each landmark is the soft-argmax of its own heatmap (meant to follow
  sub-pixel motion more evenly than a flattening regressor); a fixed Gaussian log-prior around
  each template point makes training start at the template. Best with ``norm="instance"``;
  ``configs/landmarks/heatmap.yaml`` has its settings, ``docs/benchmarks.md`` its figures;
- ``antialias``: a fixed binomial blur before each stride-2 convolution (anti-aliased
  downsampling, Zhang 2019), so that features and landmarks follow sub-pixel motion more evenly;
- ``norm``: batch/instance normalisation after each convolution;
- ``visibility``: also predict, per landmark, whether its paint is visible (a logit; a landmark
  hidden by the head's own turn is still placed, where it lies under the skin). The regressing
  heads read it off their last hidden layer; the heatmap head off the decoder's features averaged
  under each landmark's own heatmap (see :class:`VisibilityReadout`). Its layer starts at a
  logit of :data:`VISIBLE_START` for every landmark, so training starts from "all visible".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlmk.errors import ConfigError
from genlmk.geometry.coordinates import normalized_to_pixels, pixel_centers
from genlmk.geometry.keypoints import heatmap_expectation
from genlmk.options import build_options

Head = Literal["offsets", "affine", "heatmap"]
#: the visibility logit every landmark starts at (sigmoid: 0.95), so an untrained network paints
#: every line nearly fully, as a network without visibility does
VISIBLE_START = 3.0


@dataclass(frozen=True)
class LandmarkerOptions:
    """The deformation network's options (``model.landmarker``), as
    :class:`LandmarkDeformationNet` takes them (the defaults are the paper's network). Typed, so
    that a later preset changes only the fields it names (``sessions`` adds ``visibility`` to
    whichever head an earlier preset chose)."""

    channels: tuple[int, int, int, int] = (32, 64, 128, 256)
    hidden: int = 256
    coords: bool = False
    head: Head = "offsets"
    norm: str = "none"
    prior_sigma: float = 16.0
    antialias: bool = False
    visibility: bool = False


class LandmarkDeformationNet(nn.Module):
    """Predicts landmark offsets from an image.

    Args:
        template_points: (N, 2) template landmarks in pixels of the model input.
        image_size: model input ``(width, height)``.
        channels: output channels of the four stride-2 4x4 convolutions.
        hidden: width of the two hidden fully connected layers (``offsets`` / ``affine``); for
            ``heatmap``, the decoder's channels.
        coords: add coordinate channels to the input.
        head: ``offsets`` (paper), ``affine`` (global affine + offsets) or ``heatmap``
            (soft-argmax of per-landmark heatmaps at 1/4 resolution).
        norm: ``none``, ``batch`` or ``instance``.
        prior_sigma: ``heatmap`` only: width in pixels of the Gaussian log-prior around each
            template point (wider lets landmarks travel further at the same logit scale).
        antialias: blur each stage's input before its stride-2 convolution.
        visibility: also predict a visibility logit per landmark (:meth:`outputs`,
            :meth:`landmarks_and_visibility`).

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
        prior_sigma: float = 16.0,
        antialias: bool = False,
        visibility: bool = False,
    ) -> None:
        super().__init__()
        if len(channels) != 4:
            raise ValueError(f"the deformation network has 4 convolutions; got channels {channels}")
        if head not in ("offsets", "affine", "heatmap"):
            raise ValueError(f"head must be 'offsets', 'affine' or 'heatmap', got {head!r}")
        if not isinstance(visibility, bool):
            raise ValueError(f"visibility must be true or false, got {visibility!r}")
        if prior_sigma <= 0:
            raise ValueError(f"prior_sigma must be positive, got {prior_sigma}")
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
            if antialias:
                layers.append(BinomialBlur(previous))
            layers += [
                nn.Conv2d(previous, c, 4, stride=2, padding=1),
                _make_norm(norm, c),
                nn.LeakyReLU(0.2, True),
            ]
            previous = c
        self.features = nn.Sequential(*layers)
        count = points.shape[0]
        if head == "heatmap":
            self.heatmaps = HeatmapDecoder(channels, hidden, count)
            self.register_buffer("log_prior", _gaussian_log_prior(points, width, height, prior_sigma))
            # where the prior alone puts each landmark (not exactly the template near the border):
            # subtracted, so the untrained network answers the template
            self.register_buffer("prior_landmarks", soft_argmax(self.log_prior[None], width, height)[0])
        else:
            self._build_regressor(channels[-1] * (width // 16) * (height // 16), hidden, count)
        self.visibility: nn.Module | None = None
        if visibility:
            self.visibility = VisibilityReadout(hidden, count, per_landmark=head == "heatmap")
        if coords:
            ys = torch.linspace(-1.0, 1.0, height).view(1, 1, height, 1).expand(1, 1, height, width)
            xs = torch.linspace(-1.0, 1.0, width).view(1, 1, 1, width).expand(1, 1, height, width)
            self.register_buffer("coord_maps", torch.cat((xs, ys), dim=1), persistent=False)

    def _build_regressor(self, flat: int, hidden: int, count: int) -> None:
        outputs = 2 * count + (6 if self.head == "affine" else 0)
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

    @property
    def num_landmarks(self) -> int:
        return self.template_points.shape[0]

    @property
    def has_visibility(self) -> bool:
        """Whether the network predicts visibility."""
        return self.visibility is not None

    def forward(self, images: Tensor) -> Tensor:
        """Offsets (B, N, 2) in pixels for images (B, 3, H, W) in [0, 1]."""
        return self.outputs(images)[0]

    def outputs(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        """Offsets (B, N, 2) in pixels and visibility logits (B, N), or None without visibility.

        Args:
            images: (B, 3, H, W) RGB in [0, 1].
        """
        expected = (self.image_size[1], self.image_size[0])
        if images.ndim != 4 or images.shape[1] != 3 or tuple(images.shape[-2:]) != expected:
            raise ValueError(
                f"expected images (B, 3, {expected[0]}, {expected[1]}), got {tuple(images.shape)}"
            )
        x = images * 2.0 - 1.0
        if self.coords:
            x = torch.cat((x, self.coord_maps.expand(x.shape[0], -1, -1, -1)), dim=1)
        if self.head == "heatmap":
            return self._heatmap_outputs(x)
        hidden = self.regressor[:-1](self.features(x))
        out = self.regressor[-1](hidden) * self.scale
        count = self.num_landmarks
        offsets = out[:, : 2 * count].view(-1, count, 2)
        if self.head == "affine":
            params = out[:, 2 * count :] / self.scale
            linear = params[:, :4].view(-1, 2, 2)  # the change from identity
            shift = params[:, 4:] * self.scale
            relative = self.template_points - self.center
            offsets = offsets + relative @ linear.transpose(1, 2) + shift[:, None, :]
        logits = None if self.visibility is None else self.visibility(hidden)
        return offsets, logits

    def _heatmap_outputs(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        skips = []
        for layer in self.features:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):  # the end of each of the four stages
                skips.append(x)
        features = self.heatmaps.features(skips)
        logits = self.heatmaps.logits(features) + self.log_prior
        width, height = self.image_size
        offsets = soft_argmax(logits, width, height) - self.prior_landmarks
        if self.visibility is None:
            return offsets, None
        # each landmark's features, averaged where its heatmap puts it; the weights are detached so
        # that visibility's losses cannot move a landmark by reshaping its heatmap (they still
        # reach the features the heatmaps share)
        weights = torch.softmax(logits.detach().flatten(2), dim=-1)  # (B, N, h*w)
        pooled = torch.einsum("bnp,bcp->bnc", weights, features.flatten(2))
        return offsets, self.visibility(pooled)

    def landmarks(self, images: Tensor) -> Tensor:
        """Landmark positions ``T + Delta`` (B, N, 2), pixels of the model input."""
        return self.template_points + self(images)

    def landmarks_and_visibility(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        """Landmark positions (B, N, 2), pixels of the model input, and visibility (B, N) in [0, 1]
        (1: the landmark's paint shows), or None for a network without visibility."""
        offsets, logits = self.outputs(images)
        return self.template_points + offsets, None if logits is None else torch.sigmoid(logits)


class VisibilityReadout(nn.Module):
    """Visibility logits from features: one linear layer shared by all landmarks, or one per landmark.

    For a regressing head the input is its last hidden layer (B, C), which sees the whole face and
    so its turn: one linear map to N logits. For the heatmap head it is each landmark's own
    features (B, N, C), the decoder's map averaged under that landmark's heatmap: they describe the
    image where the landmark lies (painted skin facing the camera, or the cheek or background in
    front of a hidden point), and the decoder's receptive field covers much of the face around it.

    The weights start small and the bias at :data:`VISIBLE_START`: every landmark starts visible.

    Shape:
        (B, C) or, with ``per_landmark``, (B, N, C) -> (B, N) logits.
    """

    def __init__(self, channels: int, count: int, per_landmark: bool) -> None:
        super().__init__()
        self.per_landmark = per_landmark
        self.weight = nn.Parameter(torch.randn(count, channels) * 1e-3)
        self.bias = nn.Parameter(torch.full((count,), VISIBLE_START))

    def forward(self, features: Tensor) -> Tensor:
        if self.per_landmark:
            return (features * self.weight).sum(-1) + self.bias
        return features @ self.weight.T + self.bias


class HeatmapDecoder(nn.Module):
    """Features at 1/2 ... 1/16 of the input -> one heatmap logit map per landmark at 1/4.

    Two upsampling steps (bilinear x2, concatenated with the encoder's features of that size,
    3x3 convolution), then a 1x1 convolution to ``count`` maps. The last layer starts near zero,
    so the untrained logits are nearly flat and the log-prior alone places the landmarks.

    Shape:
        input: the four encoder outputs, (B, C_i, H / 2^(i+1), W / 2^(i+1)); output (B, count, H/4, W/4).
    """

    def __init__(self, channels: tuple[int, ...], width: int, count: int) -> None:
        super().__init__()
        self.up8 = _conv3x3(channels[3] + channels[2], width)
        self.up4 = _conv3x3(width + channels[1], width)
        self.logits = nn.Conv2d(width, count, 1)
        nn.init.normal_(self.logits.weight, std=1e-3)
        nn.init.zeros_(self.logits.bias)

    def forward(self, skips: list[Tensor]) -> Tensor:
        return self.logits(self.features(skips))

    def features(self, skips: list[Tensor]) -> Tensor:
        """The decoder's last features (B, width, H/4, W/4), before the 1x1 layer to logits."""
        x = self.up8(torch.cat((_upsample2(skips[3]), skips[2]), dim=1))
        return self.up4(torch.cat((_upsample2(x), skips[1]), dim=1))


class BinomialBlur(nn.Module):
    """A fixed 3x3 binomial low-pass (``[1, 2, 1]`` outer itself, / 16) per channel, edges repeated.

    Placed before a stride-2 convolution it removes the frequencies that subsampling would fold
    back (aliasing), which otherwise make features jump as content moves by a fraction of a pixel.

    Shape:
        (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = torch.outer(taps, taps) / 16.0
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).contiguous(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="replicate")
        if x.shape[1] > 4:
            return F.conv2d(x, self.kernel, groups=x.shape[1])
        # the same filter as two shifted sums: for a few wide channels (the RGB input) the CPU's
        # grouped convolution is far slower (64 RGB frames of 128 px, 2 threads: 37-60 ms, this 7 ms)
        x = 0.25 * (x[..., :-2] + x[..., 2:]) + 0.5 * x[..., 1:-1]
        return 0.25 * (x[..., :-2, :] + x[..., 2:, :]) + 0.5 * x[..., 1:-1, :]


def _conv3x3(inputs: int, outputs: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1), nn.LeakyReLU(0.2, True))


def _upsample2(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def soft_argmax(logits: Tensor, width: int, height: int) -> Tensor:
    """Expected position under ``softmax(logits)`` over each map, in pixels of a ``width x height`` image.

    Args:
        logits: (B, N, h, w) maps covering the whole image (cell (i, j) has its centre at
            ``((j + 0.5) * width / w, (i + 0.5) * height / h)`` pixels).

    Returns:
        (B, N, 2) ``(x, y)`` pixels, x right, y down.
    """
    h, w = logits.shape[-2:]
    heatmaps = torch.softmax(logits.flatten(2), dim=-1).view_as(logits)
    # the expectation on the maps' own grid, in its pixels, then stretched to the image
    cells = normalized_to_pixels(heatmap_expectation(heatmaps), h, w, align_corners=True)
    return cells * cells.new_tensor([width / w, height / h])


def _gaussian_log_prior(points: Tensor, width: int, height: int, sigma: float) -> Tensor:
    """(N, H/4, W/4) ``-|c - p|^2 / (2 sigma^2)`` at every 1/4-resolution cell centre c."""
    h, w = height // 4, width // 4
    xs = pixel_centers(w, dtype=points.dtype) * (width / w)
    ys = pixel_centers(h, dtype=points.dtype) * (height / h)
    dx = xs.view(1, 1, w) - points[:, 0].view(-1, 1, 1)
    dy = ys.view(1, h, 1) - points[:, 1].view(-1, 1, 1)
    return -(dx.pow(2) + dy.pow(2)) / (2.0 * sigma**2)


def _make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    raise ValueError(f"norm must be none, batch or instance; got {kind!r}")


def build_landmarker(
    config: LandmarkerOptions | Mapping[str, Any] | None, template_points: Tensor, image_size: tuple[int, int]
) -> LandmarkDeformationNet:
    """Build a deformation network from its config block (the ``landmarker`` section; a mapping
    fills the fields it names, as stored in checkpoints).

    Raises:
        ConfigError: an unknown option, or a value the network refuses (one line, for the CLI).
    """
    options = asdict(build_options(LandmarkerOptions, config, "model.landmarker"))
    options["channels"] = tuple(options["channels"])
    try:
        return LandmarkDeformationNet(template_points, image_size=image_size, **options)
    except ValueError as error:
        raise ConfigError(f"model.landmarker: {error}") from None
