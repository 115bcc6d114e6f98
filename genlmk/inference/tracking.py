"""Tracked region of interest: find the subject, then crop each frame around it.

All coordinates are frame pixels (x right, y down, corner origin, pixel centres at +0.5). A
``locate`` function runs the landmarker on crops: it takes B (H, W, 3) uint8 frames (an array or
a list) and (B, 4) whole-pixel ``x, y, w, h`` boxes and returns (B, N, 2) landmarks in frame
pixels, as :meth:`genlmk.inference.landmarker.Landmarker.predict` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from genlmk.errors import SubjectNotFoundError
from genlmk.geometry.boxes import box_to_square, crop_image, landmark_spread, points_inside, square_to_box
from genlmk.geometry.subject_search import (
    Appearance,
    find_square,
    find_square_near,
    match_scores,
    search_sides,
    shrink,
)
from genlmk.inference.streaming import batched_frames

Locate = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Window sides, shares of the side the subject was last seen at, of the search near it.
NEARBY_SIDES = np.array([0.8, 0.9, 1.0, 1.12, 1.25])


class BoxSmoother:
    """Filter on a square ``(cx, cy, side)`` so the crop adds no jitter of its own.

    The centre runs an alpha-beta (constant-velocity) filter: :meth:`update` takes each frame's
    measurement and :meth:`predict` says where the square will be some frames on, so the crop for
    a subject moving steadily is placed where the subject will be rather than where it was; the
    side is smoothed exponentially. ``smoothing`` is the weight of the prediction against each new
    measurement. A measurement further than ``manoeuvre`` times the side from the prediction is a
    manoeuvre: taken as it is, with the last displacement as the new velocity when that is a move
    (over ``manoeuvre`` too) and agrees, within ``agree`` times the side, with the two before it;
    else with no velocity. A jump larger than ``snap`` times the side starts the filter over.
    """

    def __init__(
        self, smoothing: float = 0.6, snap: float = 0.5, manoeuvre: float = 0.03, agree: float = 0.1
    ) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.gain = 1.0 - smoothing
        # The velocity gain that makes a critically damped alpha-beta filter for this gain.
        self.velocity_gain = self.gain**2 / (2.0 - self.gain)
        self.snap = snap
        self.manoeuvre = manoeuvre
        self.agree = agree
        self.state: np.ndarray | None = None
        self.last = np.zeros(3)  # the last measurement
        self.displacement = np.zeros(2)  # of the centre, between the last two measurements
        self.agreeing = 0  # displacements in a row that agreed with the one before
        self.velocity = np.zeros(2)
        self.measurements = 0  # taken since the last reset or seed (capped at 2)

    def reset(self) -> None:
        """Forget the past (after a gap the old box says nothing about the new one)."""
        self.state = None
        self.velocity = np.zeros(2)
        self.measurements = 0
        self.agreeing = 0

    def seed(self, square: np.ndarray) -> None:
        """Start over at a (3,) ``(cx, cy, side)`` square that is not a measurement (a search's
        guess): :meth:`predict` returns it, and the next :meth:`update` replaces it."""
        self.reset()
        self.state = np.asarray(square, dtype=np.float64).copy()

    def update(self, square: np.ndarray) -> None:
        """Take this frame's (3,) ``(cx, cy, side)`` measurement."""
        square = np.array(square, dtype=np.float64)  # a copy: the filter keeps it
        if self.measurements == 0:
            self.state = self.last = square.copy()
            self.measurements = 1
            return
        predicted = self.state[:2] + self.velocity
        residual = square[:2] - predicted
        if np.abs(residual).max() > self.snap * self.state[2]:
            self.reset()
            self.state = self.last = square.copy()
            self.measurements = 1
            return
        displacement = square[:2] - self.last[:2]
        agrees = np.abs(displacement - self.displacement).max() <= self.agree * self.state[2]
        self.agreeing = self.agreeing + 1 if self.measurements == 2 and agrees else 0
        if self.measurements == 1 or np.abs(residual).max() > self.manoeuvre * self.state[2]:
            # A manoeuvre: the measurement is taken as it is, and the last displacement as the
            # velocity when it is a move (over the manoeuvre share) and the last three agree. The
            # filter's own velocity gain takes many frames to learn a new velocity, and a fast or
            # turning subject leaves the lagging crops; displacements that disagree (frames that
            # are not a sequence, a subject that stops) say nothing of the next: no velocity.
            moved = np.abs(displacement).max() > self.manoeuvre * self.state[2]
            self.velocity = displacement if moved and self.agreeing >= 2 else np.zeros(2)
            self.state = square.copy()
            self.measurements = 2
            self.displacement, self.last = displacement, square
            return
        centre = predicted + self.gain * residual
        self.velocity = self.velocity + self.velocity_gain * residual
        side = self.state[2] + self.gain * (square[2] - self.state[2])
        self.state = np.array([centre[0], centre[1], side])
        self.displacement, self.last = displacement, square

    def unsure(self, share: float) -> bool:
        """Whether the square last moved by more than ``share`` of its side while the filter has
        no velocity for it (its displacements did not agree): where it goes next is unknown."""
        if self.state is None or self.measurements < 2 or self.velocity.any():
            return False
        return bool(np.abs(self.displacement).max() > share * self.state[2])

    def predict(self, ahead: int = 1) -> np.ndarray:
        """The (3,) square ``ahead`` frames after the last measurement (constant velocity)."""
        if self.state is None:
            raise ValueError("BoxSmoother.predict before any measurement")
        centre = self.state[:2] + ahead * self.velocity
        return np.array([centre[0], centre[1], self.state[2]])


def shape_residual(points: np.ndarray, template: np.ndarray) -> float:
    """How unlike the template (N, 2) points are: similarity-aligned RMS residual over unit spread.

    0 is the template's shape exactly; non-finite or collapsed points score infinity.
    """
    spread = landmark_spread(points)
    if not np.isfinite(spread) or spread <= 1e-9:
        return float("inf")
    a = (points - points.mean(axis=0)) / spread
    b = (template - template.mean(axis=0)) / landmark_spread(template)
    scale, rotation, shift = similarity_fit(a, b)
    return float(np.sqrt(((scale * a @ rotation + shift - b) ** 2).sum(axis=1).mean()))


def search_boxes(frame_size: tuple[int, int], levels: int = 3) -> np.ndarray:
    """Square windows for a coarse search over a ``(width, height)`` frame, whole-frame first.

    Level ``k`` uses windows of side ``min(width, height) / k`` overlapping by half.

    Returns:
        (M, 4) whole-pixel ``x, y, w, h`` boxes.
    """
    width, height = frame_size
    boxes = []
    for level in range(1, levels + 1):
        side = max(int(min(width, height) / level), 1)
        step = max(side // 2, 1)
        for y in range(0, max(height - side, 0) + 1, step):
            for x in range(0, max(width - side, 0) + 1, step):
                boxes.append((x, y, side, side))
    return np.array(boxes, dtype=np.int64)


def similarity_fit(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The similarity (scale, rotation, translation) that best maps (N, 2) ``source`` onto
    (N, 2) ``target`` points in the least-squares sense (no reflection).

    Returns:
        ``scale``, a (2, 2) rotation ``R`` and a (2,) ``t`` such that ``target ~ scale * source @ R + t``
        (row vectors).
    """
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    a, b = source - source_mean, target - target_mean
    u, singular, vt = np.linalg.svd(a.T @ b)
    flip = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ flip @ vt
    scale = float((singular * np.diag(flip)).sum() / max((a**2).sum(), 1e-12))
    return scale, rotation, target_mean - scale * source_mean @ rotation


def training_square(points: np.ndarray, template: np.ndarray, model_size: tuple[int, int]) -> np.ndarray:
    """The square ``(cx, cy, side)`` in which (N, 2) frame-pixel landmarks sit as the (N, 2)
    model-pixel template sits in the ``(width, height)`` model input: the crop framed like training.

    The model input's centre is mapped through the template-to-landmarks similarity and its width
    scaled by it; the rotation turns the centre's offset but not the square (crops are axis-aligned).
    """
    scale, rotation, translation = similarity_fit(template, points)
    centre = scale * np.array([model_size[0] / 2.0, model_size[1] / 2.0]) @ rotation + translation
    return np.array([centre[0], centre[1], scale * float(model_size[0])])


class RoiTracker:
    """Follows one subject: finds it, then crops each frame around where the crop filter puts it.

    **Find.** With an ``appearance`` (what the landmarker's training inputs look like) the subject
    is the square of the frame most like it (:func:`find_square`, windows from ``min_size`` of the
    frame's short side up to the short side); the square is framed like the training inputs, so it
    is the first crop. Without one, :meth:`coarse_search` ranks the landmarker's answers on coarse
    windows by how template-like they are (which a regressor answers on any window).

    **Follow.** Each frame's crop is the :class:`BoxSmoother`'s prediction, fed with the square the
    landmarks found so far are framed in (:func:`training_square`, grown by ``margin``), and held
    where it was while a still subject stays within ``hold`` (:meth:`steady`).
    ``lookahead`` frames run through the network at once on crops extrapolated from the filter;
    frame by frame the filter takes each answer, run again where its landmarks point while they
    call for a crop ``drift`` away from theirs (:meth:`refined`), and from the first frame whose
    crop has drifted more than ``drift`` of its side from what the filter now predicts, or whose
    answer fails the checks, the rest is run again. A frame that fails on the filter's own crop,
    and a fast subject the filter has no velocity for, are searched for near their last place
    (:meth:`search_near`) before the subject counts as lost.

    **Lose.** A frame whose landmarks leave the crop or collapse, or where the square they frame
    does not look like the subject (match score below the appearance's floor), is lost. The next
    frame is searched, and a search must now reach ``refind`` of the score that first found the
    subject; while searches fail, only every ``search_every``-th frame is searched (a search of a
    1080p frame costs as much as tracking tens of frames).

    Args:
        locate: the landmarker on crops (see the module docstring).
        template: (N, 2) template landmarks in model-input pixels.
        model_size: ``(width, height)`` of the model input.
        margin: share of the training framing's side added on each side of the crop (more context,
            e.g. for a subject that moves fast).
        smoothing: weight of the past in :class:`BoxSmoother`.
        appearance: the subject's :class:`Appearance`, or None (old checkpoints).
        min_size: smallest window of the appearance search, share of the frame's short side.
        search_every: while lost, search one frame in this many.
        lookahead: frames per network run while following (a few: batches cost less per frame,
            but a crop extrapolated further ahead frames the subject less well).
        drift: largest difference, share of the side, between a frame's extrapolated crop and the
            filter's prediction once the frames before it are in.
        min_spread: the subject counts as lost when the landmarks' spread falls below this share of
            what the template's spread would be in the crop.
        max_residual: largest :func:`shape_residual` a coarse-search detection may have.
        refind: once the subject was followed, a search must reach this share of the score of
            the search that first found it (see :meth:`appearance_search`).
        refine: most extra network runs of one frame on the crop its landmarks call for (see
            :meth:`refined`).
        hold: the crop stays where it is while the filter's square stays within this share of
            its side (see :meth:`steady`).
        fast: a subject that moved by more than this share of its side while the filter has no
            velocity for it is searched for near where it was (:meth:`search_near`), not cropped
            where it was.
    """

    def __init__(
        self,
        locate: Locate,
        template: np.ndarray,
        model_size: tuple[int, int],
        margin: float = 0.0,
        smoothing: float = 0.6,
        appearance: Appearance | None = None,
        min_size: float = 0.15,
        search_every: int = 5,
        lookahead: int = 4,
        drift: float = 0.05,
        min_spread: float = 0.3,
        max_residual: float = 0.5,
        refind: float = 0.75,
        refine: int = 3,
        hold: float = 0.02,
        fast: float = 0.1,
    ) -> None:
        if search_every < 1 or lookahead < 1 or not 0.0 < min_size <= 1.0:
            raise ValueError(
                f"need search_every, lookahead >= 1 and min_size in (0, 1], "
                f"got {search_every}, {lookahead}, {min_size}"
            )
        self.locate = locate
        self.template = np.asarray(template, dtype=np.float64)
        self.model_size = model_size
        self.margin = margin
        self.template_share = landmark_spread(self.template) / float(model_size[0])
        self.appearance = appearance
        self.min_size = min_size
        self.search_every = search_every
        self.lookahead = lookahead
        self.drift = drift
        self.min_spread = min_spread
        self.max_residual = max_residual
        self.refind = refind
        self.refine = refine
        self.hold = hold
        self.fast = fast
        self.held: np.ndarray | None = None  # the crop square of the last frame kept
        self.smoother = BoxSmoother(smoothing)
        self.wait = 0  # frames to skip before the next search
        self.fresh = False  # the subject was just found, no frame tracked since
        self.ever_found = False
        self.search_score: float | None = None  # of the last search that found something
        self.found_score: float | None = None  # of the search that found the subject first

    def with_margin(self, square: np.ndarray) -> np.ndarray:
        """A training-framed ``(cx, cy, side)`` square grown by ``margin`` on each side."""
        return np.array([square[0], square[1], square[2] * (1.0 + 2.0 * self.margin)])

    def plausible(self, points: np.ndarray, box: np.ndarray) -> bool:
        """Whether (N, 2) frame-pixel landmarks found in ``box`` still look like the subject."""
        expected = self.template_share * float(box[2])
        return points_inside(points, box) and landmark_spread(points) >= self.min_spread * expected

    def looks_like_subject(self, frame: np.ndarray, square: np.ndarray) -> bool:
        """Whether the ``(cx, cy, side)`` square of an (H, W, 3) frame matches the appearance (True
        without one)."""
        if self.appearance is None:
            return True
        size = self.appearance.size
        # shrink before anything else: the score only needs the reference size
        small = shrink(crop_image(frame, square_to_box(square)), size)
        return bool(match_scores(small[None], self.appearance)[0] >= self.appearance.floor)

    def search_bar(self) -> float:
        """The score a search must reach: the appearance's floor until the subject was found and
        followed, then ``refind`` of the score of the search that first found it."""
        assert self.appearance is not None
        if self.found_score is None:
            return self.appearance.floor
        return max(self.appearance.floor, self.refind * self.found_score)

    def appearance_search(self, frame: np.ndarray) -> np.ndarray | None:
        """The square most like the appearance in an (H, W, 3) frame, or None below
        :meth:`search_bar`.

        The best of the thousands of windows of a search is far likelier to score above the floor
        on background than one tracked crop is, and a subject that comes back looks about as it
        did when first found.
        """
        assert self.appearance is not None
        height, width = frame.shape[:2]
        short = float(min(width, height))
        sides = search_sides((width, height), self.min_size * short, short)
        square, score = find_square(frame, self.appearance, sides)
        if score < self.search_bar():
            return None
        self.search_score = score
        return square

    def coarse_search(self, frame: np.ndarray) -> np.ndarray | None:
        """The square framing the most template-like landmarks over :func:`search_boxes` windows."""
        boxes = search_boxes((frame.shape[1], frame.shape[0]))
        found = self.locate(np.broadcast_to(frame, (len(boxes), *frame.shape)), boxes)
        best, best_score = None, self.max_residual
        for points, box in zip(found, boxes, strict=True):
            score = shape_residual(points, self.template)
            if score <= best_score and self.plausible(points, box):
                best, best_score = points, score
        return None if best is None else training_square(best, self.template, self.model_size)

    def find(self, frame: np.ndarray) -> bool:
        """Search one (H, W, 3) frame, unless a failed search asks to wait; True when found."""
        if self.wait > 0:
            self.wait -= 1
            return False
        square = self.appearance_search(frame) if self.appearance is not None else self.coarse_search(frame)
        if square is None:
            self.wait = self.search_every - 1
            return False
        self.smoother.seed(self.with_margin(square))
        self.held = None
        self.fresh = True
        return True

    def lose(self) -> None:
        """Forget the subject; a subject just found and rejected at once waits like a failed search."""
        self.wait = self.search_every - 1 if self.fresh else 0
        self.fresh = False
        self.smoother.reset()
        self.held = None

    def steady(self, square: np.ndarray, held: np.ndarray | None) -> np.ndarray:
        """The ``(cx, cy, side)`` crop square to use: the ``held`` one while the subject is still
        (the filter's velocity under a tenth of ``hold`` of the side a frame) and ``square`` (the
        filter's) stays within ``hold`` of its side, else ``square``.

        The landmarker is not exactly equivariant to its crop: a crop that moves by a pixel moves
        the landmarks of a still subject by a fraction of one, which the filter's own noise and the
        whole-pixel crop would otherwise add as flicker. A moving subject is never held: landmarks
        found in a crop that lags it fall short of it, pulled towards the crop, so a held crop
        would see the subject move less than it does and could stay behind until it is lost.
        """
        if held is None or np.abs(square - held).max() > self.hold * held[2]:
            return square
        still = np.abs(self.smoother.velocity).max() <= 0.1 * self.hold * held[2]
        return held if still else square

    def crop_square(self, ahead: int, frame_size: tuple[int, int]) -> np.ndarray:
        """The filter's square ``ahead`` frames on, its side capped at the frame's longer side
        (a larger crop shows nothing more, only black)."""
        square = self.smoother.predict(ahead)
        square[2] = min(square[2], float(max(frame_size)))
        return square

    def refined(
        self, frame: np.ndarray, points: np.ndarray, box: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(N, 2) landmarks found in ``box`` of an (H, W, 3) frame, run again on the crop they call
        for while that differs from ``box`` by more than ``drift`` of its side (up to ``refine``
        times); returns the landmarks, their box and the square they frame, or None when they are
        non-finite or still call for another crop after that.

        The landmarker is trained on crops framed one way: on a crop that lags a fast subject by a
        fifth of its side its landmarks fall short of the subject, but they say where the subject
        is well enough to frame a crop on which they are right. Farther off they may not.
        """
        for passes in range(self.refine + 1):
            if passes:
                points = self.locate(frame[None], box[None])[0]
            if not np.isfinite(points).all():
                return None
            # the square the landmarks frame is where the subject is (the crop may lag behind it)
            framed = training_square(points, self.template, self.model_size)
            wanted = self.with_margin(framed)
            if np.abs(wanted - box_to_square(box)).max() <= self.drift * float(box[2]):
                return points, box, framed
            box = square_to_box(wanted)
        return None

    def measured(
        self, frame: np.ndarray, points: np.ndarray, box: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """:meth:`refined` landmarks of one frame that pass the checks (inside their crop, not
        collapsed, framing what looks like the subject), or None: the subject is not there."""
        result = self.refined(frame, points, box)
        if result is None:
            return None
        points, box, framed = result
        if not (self.plausible(points, box) and self.looks_like_subject(frame, framed)):
            return None
        return result

    def search_near(
        self, frame: np.ndarray, square: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """:meth:`measured` landmarks of a frame where the crop the filter gave missed the subject
        (it moved further than the landmarker's crops tolerate, stopped or turned, or the frames
        are not a sequence), found again near the ``(cx, cy, side)`` square it was last in: the
        appearance search over a region of three times that side, at sizes near it. None without
        an appearance or when that finds nothing."""
        if self.appearance is None:
            return None
        near, score = find_square_near(
            frame, self.appearance, square, 1.5 * square[2], square[2] * NEARBY_SIDES
        )
        if score < self.search_bar():  # as any search: a background window is likelier than a crop
            return None
        box = square_to_box(self.with_margin(near))
        return self.measured(frame, self.locate(frame[None], box[None])[0], box)

    def follow(
        self, frames: Sequence[np.ndarray], start: int, landmarks: np.ndarray, boxes: np.ndarray
    ) -> int:
        """Track from frame ``start`` of B (H, W, 3) ``frames`` for up to ``lookahead`` frames,
        writing (N, 2) landmarks and (4,) boxes of the frames kept; returns how many frames are done."""
        if self.appearance is not None and self.held is not None and self.smoother.unsure(self.fast):
            # a fast subject whose next place the filter cannot say: found near where it was
            # (a crop far off the subject gives landmarks that pass for it, off by the miss)
            return self.keep(start, self.search_near(frames[start], self.held), landmarks, boxes)
        count = min(self.lookahead, len(frames) - start)
        frame_size = (frames[0].shape[1], frames[0].shape[0])
        planned, held = [], self.held
        for ahead in range(count):
            held = self.steady(self.crop_square(ahead + 1, frame_size), held)
            planned.append(held)
        crops = np.stack([square_to_box(square) for square in planned])
        found = self.locate(frames[start : start + count], crops)
        for ahead in range(count):
            frame = frames[start + ahead]
            if ahead > 0:
                now = self.steady(self.crop_square(1, frame_size), self.held)
                if np.abs(planned[ahead] - now).max() > self.drift * now[2]:
                    return ahead
            result = self.measured(frame, found[ahead], crops[ahead])
            if result is None and ahead > 0:  # once more with the crop the filter gives it now
                return ahead
            if result is None and self.held is not None:
                result = self.search_near(frame, self.held)
            if result is None:
                return self.keep(start + ahead, None, landmarks, boxes)
            self.keep(start + ahead, result, landmarks, boxes)
        return count

    def keep(
        self,
        index: int,
        result: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        landmarks: np.ndarray,
        boxes: np.ndarray,
    ) -> int:
        """Write frame ``index``'s :meth:`measured` result and feed the filter, or lose the subject
        when there is none; returns 1 (one frame done)."""
        if result is None:
            self.lose()
            return 1
        points, box, framed = result
        landmarks[index], boxes[index] = points, box
        self.held = box_to_square(box)
        self.smoother.update(self.with_margin(framed))
        if self.found_score is None:
            self.found_score = self.search_score
        self.fresh, self.ever_found = False, True
        return 1

    def track(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Track B consecutive (H, W, 3) uint8 frames, an array or a list (state carries over
        from the previous call).

        Returns:
            (B, N, 2) frame-pixel landmarks (NaN where the subject is lost) and (B, 4) the crop
            boxes used (all zeros where lost).
        """
        landmarks = np.full((len(frames), len(self.template), 2), np.nan)
        boxes = np.zeros((len(frames), 4), dtype=np.int64)
        index = 0
        while index < len(frames):
            if self.smoother.state is None and not self.find(frames[index]):
                index += 1
                continue
            index += self.follow(frames, index, landmarks, boxes)
        return landmarks, boxes

    def require_found(self, source: str, frames: int) -> None:
        """Raise SubjectNotFoundError unless some frame so far showed the subject.

        Args:
            source: the footage, for the message; frames: how many frames were tracked.
        """
        if not self.ever_found:
            raise SubjectNotFoundError(f"{source}: no subject found in any of its {frames} frames")


def track_frames(
    frames: Iterable[np.ndarray], tracker: RoiTracker, source: str, batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Track a subject through (H, W, 3) uint8 frames, ``batch_size`` frames at a time.

    Returns:
        (T, N, 2) frame-pixel landmarks (NaN where lost, never guessed) and (T,) bool ``found``.

    Raises:
        SubjectNotFoundError: the subject is in no frame of ``source``.
    """
    tracked = [tracker.track(batch) for batch in batched_frames(frames, batch_size)]
    tracker.require_found(source, sum(len(points) for points, _ in tracked))
    landmarks = np.concatenate([points for points, _ in tracked])
    found = np.concatenate([boxes[:, 2] > 0 for _, boxes in tracked])
    return landmarks, found
