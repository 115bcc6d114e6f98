"""Annotate the realistic face subject once: dlib's 68 landmarks on scikit-image's astronaut photo.

Writes ``genlmk/data/subjects/astronaut.yaml`` (landmark names from ``templates/face.yaml``, whose
order is dlib's iBUG-68 order) so that ``genlmk synth --subject photo-face`` never needs dlib.
Needs the ``eval`` extra (dlib) and scikit-image. Run from the repository root:

    python scripts/annotate_subject.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import data

from genlmk.evaluation.dlib_face import DlibFaceLandmarks
from genlmk.template import load_template

OUT = Path("genlmk/data/subjects/astronaut.yaml")


def main() -> None:
    photo = data.astronaut()
    keypoints = DlibFaceLandmarks(upsample=1).detect(photo[None])
    if not bool(keypoints.found[0].all()):
        raise SystemExit("dlib found no face in the astronaut photo")
    points = keypoints.points[0].numpy().astype(np.float64)  # genlmk pixels (corner origin)
    names = load_template("face").names
    lines = [
        "# The astronaut photo of scikit-image (skimage.data.astronaut(), 512x512, NASA, public domain),",
        "# annotated once with dlib's 68-point shape predictor (scripts/annotate_subject.py), shifted into",
        "# genlmk's pixel convention (x right, y down, top-left image corner at (0, 0), centres at +0.5).",
        "# Order and names: templates/face.yaml (iBUG-68 order).",
        "photo: astronaut",
        f"size: [{photo.shape[1]}, {photo.shape[0]}]",
        "landmarks:",
    ]
    lines += [f"  - {{name: {n}, x: {x:.2f}, y: {y:.2f}}}" for n, (x, y) in zip(names, points, strict=True)]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
