"""How wide the filmed paint is, in the renderer's own terms.

The template's ``marker.width`` is what its author drew; the brush, the camera's resolution and
the framing make the paint in the training frames wider or narrower. Strokes rendered thinner
than the filmed paint are what the marked discriminator tells apart from real paint at once, and
the generator only ever learns to remove rendered strokes exactly (the unmarked cycle): it then
leaves outlines of the thicker real paint in G(marked), the landmarker learns to find the lines
by those outlines, and real unmarked frames have none.

The measure is the paint's area over the length of its centre line (its skeleton), in soft paint
weights, so it is sub-pixel and needs no traced lines: it works on many frames of a turning part
whose lines are partly hidden. Filled areas (a small closed line painted solid) raise it; the
same happens to the template rendered at the same width, so the width is found by rendering the
template and matching the measure, not by reading it off.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.morphology import skeletonize
from torch import Tensor

from genlmk.losses.paint import paint_weights
from genlmk.rendering.renderer import MarkerRenderer
from genlmk.rendering.settings import MarkerRenderSettings
from genlmk.template.template import Template

# colour tolerance of the segmentation the width is measured on (cosine distance): the same
# for the filmed and the rendered frames, so its choice cancels; wide enough for shaded paint
PAINT_TOLERANCE = 0.05
WIDTH_RANGE = (0.5, 0.125)  # searched widths: 0.5 px up to this share of the canvas's short side
MIN_SKELETON = 16  # a frame with fewer centre-line pixels of paint is not measured


def paint_width_measure(weights: Tensor) -> float | None:
    """The median over frames of soft paint area / centre-line length, in pixels.

    Args:
        weights: (F, H, W) paint weights in [0, 1] (:func:`genlmk.losses.paint_weights`).

    Returns:
        The measure, or None when no frame holds ``MIN_SKELETON`` centre-line pixels of paint.
    """
    values = []
    for frame in weights.detach().cpu().numpy():
        length = int(skeletonize(frame > 0.5).sum())
        if length >= MIN_SKELETON:
            values.append(float(frame.sum()) / length)
    return float(np.median(values)) if values else None


def rendered_width_measure(
    template: Template, width: float, color: Tensor, background: Tensor, settings: MarkerRenderSettings
) -> float | None:
    """:func:`paint_width_measure` of the template's lines rendered ``width`` pixels wide in
    ``color`` (3,) onto ``background`` (3,) RGB in [0, 1]."""
    renderer = MarkerRenderer(template.with_marker_width(width), settings)
    renderer.compositor.color.copy_(color)
    canvas = background.view(1, 3, 1, 1).expand(1, 3, template.height, template.width)
    points = torch.as_tensor(np.asarray(template.points), dtype=torch.float32)[None]
    with torch.no_grad():
        images = renderer(canvas.contiguous(), points).images
    return paint_width_measure(paint_weights(images, color, PAINT_TOLERANCE))


def measure_paint_width(
    frames: Tensor,
    color: Tensor,
    template: Template,
    background: Tensor,
    settings: MarkerRenderSettings | None = None,
    iterations: int = 14,
) -> float | None:
    """The stroke width at which the renderer paints the template's lines as wide as the paint
    in ``frames``.

    Args:
        frames: (F, 3, H, W) marked frames, RGB in [0, 1], H x W the template's canvas.
        color: (3,) the paint's filmed colour in [0, 1].
        template: the template the frames' paint follows.
        background: (3,) RGB in [0, 1] the template is rendered onto (the part's usual colour).
        settings: the renderer's stroke profile.
        iterations: bisection steps on the log width.

    Returns:
        Pixels, or None when the frames show too little paint to measure.
    """
    settings = settings or MarkerRenderSettings()
    target = paint_width_measure(paint_weights(frames, color, PAINT_TOLERANCE))
    if target is None:
        return None
    low, high = math.log(WIDTH_RANGE[0]), math.log(WIDTH_RANGE[1] * min(template.size))
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        measured = rendered_width_measure(template, math.exp(middle), color, background, settings)
        if measured is not None and measured > target:
            high = middle
        else:
            low = middle
    return math.exp(0.5 * (low + high))
