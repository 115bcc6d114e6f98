"""The marker renderer: paints a template's lines, deformed to given landmarks, onto images.

Contract: landmarks -> stroke sampling -> ink samples -> rasterizer -> ink density ->
compositor -> (painted images, coverage). Every step is differentiable with respect to the
landmark coordinates.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from genlmk.rendering.compositor import MarkerCompositor
from genlmk.rendering.rasterizers import PointsRasterizer, SplatRasterizer
from genlmk.rendering.settings import MarkerRenderSettings
from genlmk.rendering.strokes import StrokeSampling, ink_samples, sample_segments
from genlmk.template.template import Template


class RenderedMarkers(NamedTuple):
    """Output of :class:`MarkerRenderer`.

    Attributes:
        images: (B, 3, H, W) RGB in [0, 1], the inputs with the strokes painted on.
        coverage: (B, 1, H, W) paint coverage in [0, 1); 0 where no stroke is near.
    """

    images: Tensor
    coverage: Tensor


class MarkerRenderer(nn.Module):
    """Differentiable painter of a template's strokes.

    The renderer draws on images of exactly the template's canvas size; rescale the
    template (``template.rescaled((W, H))``) to render at another size.

    Args:
        template: the landmark template (lines, marker colour and width).
        settings: backend and stroke profile.

    Example:
        >>> from genlmk.template import load_template
        >>> renderer = MarkerRenderer(load_template("face"))
        >>> images = torch.rand(2, 3, 128, 128)
        >>> landmarks = torch.as_tensor(renderer.template.points, dtype=torch.float32).expand(2, -1, -1)
        >>> out = renderer(images, landmarks)
        >>> out.images.shape, out.coverage.shape
        (torch.Size([2, 3, 128, 128]), torch.Size([2, 1, 128, 128]))
    """

    def __init__(self, template: Template, settings: MarkerRenderSettings | None = None) -> None:
        super().__init__()
        self.template = template
        self.settings = settings or MarkerRenderSettings()
        self.sigma = self.settings.sigma_for_width(template.marker.width)
        sampling = sample_segments(template.points, template.edges, self.settings.sample_spacing * self.sigma)
        for name, value in sampling._asdict().items():
            self.register_buffer(f"_sampling_{name}", value, persistent=False)
        if self.settings.backend == "splat":
            self.rasterizer: nn.Module = SplatRasterizer(self.sigma, self.settings.truncate)
        else:
            self.rasterizer = PointsRasterizer(
                self.sigma, self.settings.truncate, self.settings.points_per_pixel
            )
        self.compositor = MarkerCompositor(template.marker.color_unit, self.settings.gain)

    @property
    def sampling(self) -> StrokeSampling:
        return StrokeSampling(
            self._sampling_start, self._sampling_end, self._sampling_t, self._sampling_share
        )

    def ink(self, landmarks: Tensor, visibility: Tensor | None = None) -> Tensor:
        """Ink density (B, 1, H, W) of the strokes through ``landmarks`` (B, N, 2) pixels, faded
        by ``visibility`` (B, N) in [0, 1] (None: all visible; see :func:`ink_samples`)."""
        self._check_landmarks(landmarks)
        if visibility is not None and visibility.shape != landmarks.shape[:2]:
            raise ValueError(
                f"visibility must have shape {tuple(landmarks.shape[:2])} (B, N), "
                f"got {tuple(visibility.shape)}"
            )
        positions, lengths = ink_samples(landmarks, self.sampling, visibility)
        return self.rasterizer(positions, lengths, self.template.height, self.template.width)

    def coverage(self, landmarks: Tensor, visibility: Tensor | None = None) -> Tensor:
        """Paint coverage (B, 1, H, W) in [0, 1) of the strokes through ``landmarks`` (B, N, 2),
        faded by ``visibility`` (B, N) (None: all visible)."""
        ink = self.ink(landmarks, visibility)
        return -(-self.settings.gain * ink).expm1()

    def forward(self, images: Tensor, landmarks: Tensor, visibility: Tensor | None = None) -> RenderedMarkers:
        """Paint the strokes through ``landmarks`` onto ``images``.

        Args:
            images: (B, 3, H, W) RGB in [0, 1], H x W the template's canvas.
            landmarks: (B, N, 2) pixels ``(x, y)``, x right, y down, corner at (0, 0).
            visibility: optional (B, N) in [0, 1]: each line is drawn only where its points are
                visible, fading out along a segment towards a hidden end; None: all visible.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
        height, width = images.shape[-2:]
        if (width, height) != self.template.size:
            raise ValueError(
                f"images are {width}x{height} but template {self.template.name!r} is drawn on "
                f"{self.template.width}x{self.template.height}; rescale the template"
            )
        if landmarks.shape[0] != images.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {landmarks.shape[0]} landmark sets in the batch")
        painted, coverage = self.compositor(images, self.ink(landmarks, visibility))
        return RenderedMarkers(painted, coverage)

    def _check_landmarks(self, landmarks: Tensor) -> None:
        expected = (self.template.num_landmarks, 2)
        if landmarks.ndim != 3 or tuple(landmarks.shape[1:]) != expected:
            raise ValueError(
                f"landmarks must have shape (B, {expected[0]}, 2) for template "
                f"{self.template.name!r}, got {tuple(landmarks.shape)}"
            )
