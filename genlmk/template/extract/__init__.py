"""Extracting a template from a photo of painted lines.

The pipeline, one pure function per step (one module per stage):

1. :func:`estimate_paint_color` (``color``): the paint's colour when the user does not give
   it: the dominant cluster, in CIELAB's a*b* plane, of saturated pixels that stand out from
   their surroundings.
2. :func:`segment_paint` (``color``): a pixel is paint when it is closer to the paint colour
   than to its local background (a median filter of the photo, which thin strokes do not
   survive) and within a tolerance of the paint colour, both by CIEDE2000 colour difference
   with lightness counted half; and each pixel's share of paint (its colour as a mix of
   background and paint).
3. :func:`skeleton_graph` (``skeleton``): skeletonize the mask (scikit-image) and trace the
   skeleton into a graph of end points, junctions and pixel paths; prune thinning spurs,
   merge the two junctions of a crossing, drop crumbs.
4. :func:`trace_lines` (``skeleton``): at each junction pair the branches that continue each
   other (most nearly straight first); follow the pairs into open and closed lines. Lines
   that touch share the junction.
5. :func:`refine_line`, :func:`place_junctions`, :func:`place_ends` (``centerline``): move
   each line onto the centroid of the paint across it (sub-pixel), measure the stroke width,
   put each junction where its lines' fits meet and each free end at the centre of its cap.
6. :func:`extract_template` (``pipeline``): resample each line every ``spacing`` pixels
   (junctions kept as landmarks), name lines ``line<n>`` and landmarks ``line<n>_<k>``, take
   the stroke width and colour from the photo, and build a validated
   :class:`~genlmk.template.Template` on the photo's canvas.

Coordinates follow genlmk's convention: ``(x, y)`` pixels, the image's top-left corner at
``(0, 0)``, so pixel (row i, column j) has its centre at ``(j + 0.5, i + 0.5)``.
"""

from genlmk.template.extract.centerline import place_ends, place_junctions, refine_line
from genlmk.template.extract.color import PaintSegmentation, estimate_paint_color, segment_paint
from genlmk.template.extract.pipeline import extract_template
from genlmk.template.extract.skeleton import SkeletonGraph, TracedLine, skeleton_graph, trace_lines

__all__ = [
    "PaintSegmentation",
    "SkeletonGraph",
    "TracedLine",
    "estimate_paint_color",
    "extract_template",
    "place_ends",
    "place_junctions",
    "refine_line",
    "segment_paint",
    "skeleton_graph",
    "trace_lines",
]
