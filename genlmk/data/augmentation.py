"""The one builder of training augmentations (albumentations), shared by the landmark and motion data.

Every frame of a sample goes through the same draw: the first as ``image=``, the others under the
names in ``targets`` (``Compose.additional_targets``), so frame pairs and their flow stay aligned.
Steps run in a fixed order (flip, affine, colour jitter, white balance, noise, blur); a step is left
out when its option is ``None``/``False``, so a caller that names none gets ``None`` (no
augmentation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

JITTER_KEYS = ("brightness", "contrast", "saturation", "hue")


def build_augmentation(
    targets: Sequence[str] = (),
    *,
    horizontal_flip: bool = False,
    affine: Mapping[str, float] | None = None,
    jitter: Mapping[str, float] | None = None,
    jitter_probability: float = 1.0,
    white_balance: float | None = None,
    noise: float | None = None,
    blur: float | None = None,
):
    """An ``albumentations.Compose`` of the steps asked for, or ``None`` when none is.

    Args:
        targets: names of the further frames (beyond ``image=``) transformed with the same draw.
        horizontal_flip: mirror left-right half the time.
        affine: ``rotate`` (degrees), ``scale`` (fraction) and ``translate`` (fraction of the frame
            size) ranges, each drawn symmetrically around identity, applied 70 % of the time with a
            reflected border.
        jitter: ``ColorJitter`` amounts (keys of :data:`JITTER_KEYS`, missing ones 0), applied
            with probability ``jitter_probability``.
        white_balance: largest per-channel gain change (each of R, G, B scaled by a factor drawn
            from ``[1 - white_balance, 1 + white_balance]``), applied 70 % of the time: another
            light colour and exposure, which brightness/contrast jitter cannot give.
        noise: largest Gaussian noise standard deviation (fraction of the value range, drawn from
            [0, noise]), applied half the time.
        blur: probability of a 3 x 3 Gaussian blur.
    """
    import albumentations as A
    import cv2

    steps = []
    if horizontal_flip:
        steps.append(A.HorizontalFlip(p=0.5))
    if affine is not None:
        scale, shift, angle = affine["scale"], affine["translate"], affine["rotate"]
        steps.append(
            A.Affine(
                scale=(1 - scale, 1 + scale),
                translate_percent=(-shift, shift),
                rotate=(-angle, angle),
                border_mode=cv2.BORDER_REFLECT_101,
                p=0.7,
            )
        )
    if jitter:
        amounts = {key: float(jitter.get(key, 0.0)) for key in JITTER_KEYS}
        steps.append(A.ColorJitter(**amounts, p=jitter_probability))
    if white_balance:
        gains = (1.0 - white_balance, 1.0 + white_balance)
        steps.append(A.MultiplicativeNoise(multiplier=gains, per_channel=True, elementwise=False, p=0.7))
    if noise is not None:
        steps.append(A.GaussNoise(std_range=(0.0, noise), p=0.5))
    if blur is not None:
        steps.append(A.GaussianBlur(blur_limit=(3, 3), p=blur))
    if not steps:
        return None
    return A.Compose(steps, additional_targets={name: "image" for name in targets})
