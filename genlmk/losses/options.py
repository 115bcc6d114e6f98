"""The landmark system's loss terms as typed options: one frozen dataclass per term, holding its
weight and its settings, each checking its values when built.

In YAML they sit under ``model.init_args.losses``, one block per term, and presets lay over each
other field by field::

    losses:
      chamfer: {weight: 5.0}
      flow: {weight: 20.0, window: 31, threshold: 0.25, appearance: {jpeg: 40}}

A weight of 0 switches a term off. :func:`upgrade_hparams` turns the hyperparameters of
checkpoints written before this layout (a ``weights`` dictionary, ``flow_*`` arguments) into it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from genlmk.geometry.flow import FLOW_METHODS
from genlmk.options import require

OrderLines = Literal["all", "closed"]
ORDER_LINES: tuple[str, ...] = ("all", "closed")
_PREFIX = "model.losses"


@dataclass(frozen=True)
class _Checked:
    """The end of the ``__post_init__`` chain of option blocks that combine several bases."""

    def __post_init__(self) -> None:
        """Nothing to check at the root."""


@dataclass(frozen=True)
class LossTerm(_Checked):
    """A loss term's weight in the total (0: the term is not computed)."""

    name: ClassVar[str] = ""
    weight: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        weight = self.weight
        require(
            math.isfinite(weight) and weight >= 0, f"{_PREFIX}.{self.name}.weight", "must be >= 0", weight
        )


def _require_non_negative(options: object, where: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = getattr(options, key)
        require(math.isfinite(value) and value >= 0, f"{where}.{key}", "must not be negative", value)


@dataclass(frozen=True)
class AppearanceChange(_Checked):
    """A random change of a frame's appearance (:func:`genlmk.data.appearance.random_appearance`).

    Attributes:
        gain, color, gamma, noise, ramp: standard deviations of the exposure, white balance, tone
            curve, additive noise and linear light ramp (:func:`~genlmk.data.appearance.random_photometric`).
        jpeg: the lowest quality Q of a JPEG round trip, drawn from Q to 95 (0: none).
    """

    where: ClassVar[str] = ""
    gain: float = 0.0
    color: float = 0.0
    gamma: float = 0.0
    noise: float = 0.0
    ramp: float = 0.0
    jpeg: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_non_negative(self, self.where, ("gain", "color", "gamma", "noise", "ramp"))
        jpeg = self.jpeg
        require(jpeg == 0 or 1 <= jpeg <= 95, f"{self.where}.jpeg", "must be 0 or a quality in [1, 95]", jpeg)

    def amounts(self) -> dict[str, float]:
        """The change as :func:`~genlmk.data.appearance.random_appearance` takes it."""
        keys = ("gain", "color", "gamma", "noise", "ramp", "jpeg")
        return {key: getattr(self, key) for key in keys}


@dataclass(frozen=True)
class GanTerm(LossTerm):
    """LSGAN, both directions."""

    name: ClassVar[str] = "gan"
    weight: float = 1.0


@dataclass(frozen=True)
class CycleTerm(LossTerm):
    """Cycle L1, both directions."""

    name: ClassVar[str] = "cycle"
    weight: float = 10.0


@dataclass(frozen=True)
class IdentityTerm(LossTerm):
    """CycleGAN's identity loss G(unmarked) ~ unmarked."""

    name: ClassVar[str] = "identity"


@dataclass(frozen=True)
class DecoyTerm(LossTerm):
    """Decoy paint (:mod:`genlmk.losses.decoy`): strokes painted on an unmarked frame away from
    its landmarks and taken off by G must not move the landmarker's answer.

    Attributes:
        shift: standard deviation of the decoy's offset per axis, share of the input's width.
        scale: standard deviation of its log zoom.
        rotate: standard deviation of its rotation, degrees.
        threshold: the smooth-L1 threshold in pixels.
    """

    name: ClassVar[str] = "decoy"
    shift: float = 0.06
    scale: float = 0.1
    rotate: float = 8.0
    threshold: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_non_negative(self, f"{_PREFIX}.decoy", ("shift", "scale", "rotate"))
        require(self.threshold > 0, f"{_PREFIX}.decoy.threshold", "must be positive", self.threshold)


@dataclass(frozen=True)
class SpringTerm(LossTerm):
    """Every template edge keeps its template length (both landmark predictions)."""

    name: ClassVar[str] = "spring"
    weight: float = 1.0


@dataclass(frozen=True)
class OrderTerm(LossTerm):
    """The points of each line stay in template order (:func:`~genlmk.losses.line_order_loss`).

    Attributes:
        lines: ``all`` (open lines too, whose points could otherwise slide along a stretch of
            their stroke with the ends held) or ``closed`` (eyes, lips only).
    """

    name: ClassVar[str] = "order"
    lines: OrderLines = "all"

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.lines in ORDER_LINES, f"{_PREFIX}.order.lines", f"must be one of {ORDER_LINES}", self.lines
        )


def _require_tolerance(term: str, tolerance: float) -> None:
    require(
        0 < tolerance < 2, f"{_PREFIX}.{term}.tolerance", "must be a cosine distance in (0, 2)", tolerance
    )


@dataclass(frozen=True)
class ChamferTerm(LossTerm):
    """Paint chamfer: the lines found on G(marked) meet the paint segmented in the marked frame.

    Attributes:
        tolerance: colour tolerance of the paint segmentation (cosine distance to the marker colour).
        samples: paint pixels drawn per marked frame.
    """

    name: ClassVar[str] = "chamfer"
    weight: float = 1.0
    tolerance: float = 0.03
    samples: int = 512

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_tolerance("chamfer", self.tolerance)
        require(self.samples >= 1, f"{_PREFIX}.chamfer.samples", "must be at least 1", self.samples)


@dataclass(frozen=True)
class PaintFreeTerm(LossTerm):
    """G(marked) holds no pixel of the marker colour (the unmarked domain has none).

    Attributes:
        tolerance: colour tolerance of the paint segmentation (cosine distance to the marker colour).
    """

    name: ClassVar[str] = "paint_free"
    tolerance: float = 0.03

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_tolerance("paint_free", self.tolerance)


@dataclass(frozen=True)
class FlowAppearance(AppearanceChange):
    """Frame t+1's random change of appearance before the landmarker reads it in the flow loss
    (the flow is computed on the frames as read); none by default."""

    where: ClassVar[str] = f"{_PREFIX}.flow.appearance"


@dataclass(frozen=True)
class FlowTerm(LossTerm):
    """Temporal flow loss: the landmarks of frame t moved by the optical flow t -> t+1 are those
    of frame t+1 (needs consecutive unmarked frames, ``data.temporal``).

    Attributes:
        method: OpenCV optical flow, ``farneback`` or ``dis``.
        window: Farneback's averaging window, pixels of the model input.
        threshold: smooth-L1 threshold, pixels (smaller pulls harder on sub-pixel disagreement).
        aperture: take each line landmark's motion along its line from one affine motion per
            frame fitted to the flow across the lines, where optical flow is right (on even skin
            the flow along a line falls short: the aperture problem); off: the flow as sampled.
        appearance: frame t+1's random change of appearance (:class:`FlowAppearance`).
    """

    name: ClassVar[str] = "flow"
    method: str = "farneback"
    window: int = 15
    threshold: float = 1.0
    aperture: bool = True
    appearance: FlowAppearance = field(default_factory=FlowAppearance)

    def __post_init__(self) -> None:
        super().__post_init__()
        where = f"{_PREFIX}.flow"
        require(self.method in FLOW_METHODS, f"{where}.method", f"must be one of {FLOW_METHODS}", self.method)
        require(self.window >= 3, f"{where}.window", "must be at least 3 pixels", self.window)
        require(self.threshold > 0, f"{where}.threshold", "must be positive", self.threshold)


@dataclass(frozen=True)
class EquivarianceTerm(AppearanceChange, LossTerm):
    """Each unmarked frame warped by a small random affine map and given a new appearance; its
    landmarks carried back through the map must be the frame's own.

    Attributes:
        affine: standard deviation of the affine map's entries around the identity (normalized
            units: 0.08 moves a 128 px frame by about 5 px, enough motion to teach sub-pixel
            consistency; much smaller warps teach little).
        gain, color, gamma, noise, ramp, jpeg: the change of appearance (:class:`AppearanceChange`).
        threshold: the loss's smooth-L1 threshold in pixels
            (:func:`~genlmk.losses.landmark_equivariance_loss`): a quarter pixel keeps the pull
            strong on the sub-pixel misses this term exists for.
    """

    name: ClassVar[str] = "equivariance"
    where: ClassVar[str] = f"{_PREFIX}.equivariance"
    gain: float = 0.08
    color: float = 0.03
    gamma: float = 0.05
    noise: float = 0.01
    affine: float = 0.08
    threshold: float = 0.25

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.affine >= 0, f"{self.where}.affine", "must not be negative", self.affine)
        require(self.threshold > 0, f"{self.where}.threshold", "must be positive", self.threshold)


@dataclass(frozen=True)
class VisibilityTerm(LossTerm):
    """With ``landmarker.visibility`` (ignored without): the landmarks' predicted visibility.

    The renderer fades each line out towards its hidden points, so the adversarial and cycle
    terms can ask for lines to be hidden where real marked frames show none. This term's weight is
    that of the prior :func:`~genlmk.losses.visibility_prior` (``mean(-log v)``), which keeps every
    landmark visible unless those terms (or the chamfer) need it hidden. Its pull on a landmark's
    logit is about ``weight * (1 - v)``, the weighted chamfer's push about
    ``chamfer.weight * v * dh``, ``dh`` the amount (Huber, px^2) by which the landmark's stroke
    samples miss the paint more than the others do: a landmark settles near
    ``v = weight / (chamfer.weight * dh)``. Small weights hide every stretch whose paint the
    segmentation does not find (also a visible stroke so foreshortened that its pixels mix with
    the skin); larger ones keep more points visible and pulled, at the cost of hiding fewer of the
    truly hidden. ``scripts/bench_visibility_oracle.py`` measures this trade on photo-face frames;
    0.5 (a tenth of the presets' chamfer weight) hides nearly as many of the hidden landmarks as
    far smaller weights while guarding ten times more strongly against hiding what is merely not
    yet fitted.

    Attributes:
        chamfer: weight the chamfer's stroke -> paint direction by each stroke sample's visibility
            (a hidden point is not pulled onto the visible paint).
    """

    name: ClassVar[str] = "visibility"
    weight: float = 0.5
    chamfer: bool = True


@dataclass(frozen=True)
class LandmarkLosses:
    """Every loss term of :class:`~genlmk.systems.landmarks.LandmarkGAN` (``model.losses``)."""

    gan: GanTerm = field(default_factory=GanTerm)
    cycle: CycleTerm = field(default_factory=CycleTerm)
    identity: IdentityTerm = field(default_factory=IdentityTerm)
    decoy: DecoyTerm = field(default_factory=DecoyTerm)
    spring: SpringTerm = field(default_factory=SpringTerm)
    order: OrderTerm = field(default_factory=OrderTerm)
    chamfer: ChamferTerm = field(default_factory=ChamferTerm)
    paint_free: PaintFreeTerm = field(default_factory=PaintFreeTerm)
    flow: FlowTerm = field(default_factory=FlowTerm)
    equivariance: EquivarianceTerm = field(default_factory=EquivarianceTerm)
    visibility: VisibilityTerm = field(default_factory=VisibilityTerm)

    def weight(self, term: str) -> float:
        """The weight of the term named ``term`` (``gan``, ``flow``, ...)."""
        return getattr(self, term).weight


# the flat hyperparameters of checkpoints written before ``losses``: argument -> (term, field)
_OLD_ARGUMENTS = {
    "flow_method": ("flow", "method"),
    "flow_window": ("flow", "window"),
    "flow_threshold": ("flow", "threshold"),
    "flow_aperture": ("flow", "aperture"),
    "flow_appearance": ("flow", "appearance"),
    "order_lines": ("order", "lines"),
    "paint_samples": ("chamfer", "samples"),
}
# arguments that are gone: always detached now (a G that passes gradient to the landmarker's input
# learns to leave it traces of the paint, which real unmarked frames lack)
_DROPPED_ARGUMENTS = ("detach_landmarker_input",)


def upgrade_hparams(hparams: dict[str, Any]) -> dict[str, Any]:
    """A landmark system's hyperparameters in the ``losses`` layout, from either layout.

    The old layout held ``weights`` (one weight per term), ``equivariance`` (its settings),
    ``flow_method``, ``flow_window``, ``flow_threshold``, ``flow_aperture``, ``flow_appearance``,
    ``order_lines``, ``paint_tolerance`` (chamfer and paint_free), ``paint_samples`` and
    ``detach_landmarker_input`` (dropped). Hyperparameters already in the new layout come back as
    they are.
    """
    old = set(_OLD_ARGUMENTS) | {"weights", "equivariance", "paint_tolerance", *_DROPPED_ARGUMENTS}
    if not old & set(hparams):
        return dict(hparams)
    upgraded = {key: value for key, value in hparams.items() if key not in old}
    losses: dict[str, dict[str, Any]] = {}
    for term, weight in (hparams.get("weights") or {}).items():
        losses.setdefault(term, {})["weight"] = weight
    losses.setdefault("equivariance", {}).update(hparams.get("equivariance") or {})
    for argument, (term, key) in _OLD_ARGUMENTS.items():
        # None stood for "the default" in the old layout (``flow_appearance``)
        if hparams.get(argument) is not None:
            losses.setdefault(term, {})[key] = hparams[argument]
    if "paint_tolerance" in hparams:
        for term in ("chamfer", "paint_free"):
            losses.setdefault(term, {})["tolerance"] = hparams["paint_tolerance"]
    upgraded["losses"] = {term: block for term, block in losses.items() if block}
    return upgraded
