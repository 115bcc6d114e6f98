"""Synthetic real/generated video pairs for trying ``genlmk evaluate motion`` offline.

Real clips: scikit-image's astronaut photo (a real face), moved by a smooth similarity warp
(rotation, scale, translation varying sinusoidally over time), cropped to 256 x 256 around the face.
Generated clips: the same motion with known defects: every frame displaced by ``shift`` pixels
horizontally (so an ideal landmark detector gives AKD = shift / 2: ``|dx| = shift``, ``|dy| = 0``), blurred,
and with noise.

Usage: .venv/bin/python scripts/make_motion_pairs.py --out runs/motion_pairs [--frames 32]
Writes OUT/real/<name>.mp4 and OUT/fake/<name>.mp4 for two clips (the second mirrored, with a
larger defect), then run
    genlmk evaluate motion --real OUT/real --fake OUT/fake --out OUT/scores
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from genlmk.data.video import write_video

SIZE = 256
FACE_CENTRE = (222.0, 135.0)  # (x, y) of the astronaut's face in the 512 x 512 photo
CROP_SCALE = 0.8  # photo pixels per clip pixel


def warp_matrix(t: float, shift: float, mirrored: bool) -> np.ndarray:
    """2x3 matrix taking photo pixels to clip pixels at time t in [0, 1), displaced by ``shift`` px in x."""
    angle = 6.0 * np.sin(2 * np.pi * t)  # degrees
    scale = (1.0 + 0.06 * np.sin(4 * np.pi * t)) / CROP_SCALE
    centre_x = SIZE / 2 + 10.0 * np.sin(2 * np.pi * t + 0.7) + shift
    centre_y = SIZE / 2 + 6.0 * np.cos(2 * np.pi * t)
    matrix = cv2.getRotationMatrix2D(FACE_CENTRE, angle, scale)
    matrix[:, 2] += np.array([centre_x, centre_y]) - np.array(FACE_CENTRE)
    if mirrored:
        matrix = np.array([[-1.0, 0.0, SIZE], [0.0, 1.0, 0.0]]) @ np.vstack([matrix, [0.0, 0.0, 1.0]])
    return matrix


def clip(photo: np.ndarray, frames: int, shift: float, blur: float, noise: float, mirrored: bool, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(frames):
        frame = cv2.warpAffine(
            photo, warp_matrix(i / frames, shift, mirrored), (SIZE, SIZE), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )  # fmt: skip
        if blur > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), blur)
        if noise > 0:
            frame = np.clip(frame + rng.normal(0.0, noise, frame.shape), 0, 255).astype(np.uint8)
        out.append(frame)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=32)
    args = parser.parse_args()
    photo = data.astronaut()
    # name -> (mirrored, generated defects: shift px, blur sigma, noise std)
    clips = {"astronaut": (False, 2.0, 0.8, 2.0), "astronaut_mirrored": (True, 4.0, 1.5, 6.0)}
    for seed, (name, (mirrored, shift, blur, noise)) in enumerate(clips.items()):
        real = clip(photo, args.frames, 0.0, 0.0, 0.0, mirrored, seed)
        fake = clip(photo, args.frames, shift, blur, noise, mirrored, seed)
        write_video(args.out / "real" / f"{name}.mp4", real)
        write_video(args.out / "fake" / f"{name}.mp4", fake)
        print(f"{name}: {args.frames} frames; generated shifted {shift:g} px, blur {blur:g}, noise {noise:g}")
    print(f"wrote {args.out}/real and {args.out}/fake")


if __name__ == "__main__":
    main()
