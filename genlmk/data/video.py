"""Reading and writing video files with PyAV (FFmpeg), frames as (H, W, 3) uint8 RGB.

Frames are read as they are meant to be seen: phones store portrait video as landscape frames
plus a rotation in the container's display matrix, which decoding alone ignores; the reader turns
each frame by it, so landmarks and overlays are in the pixels a player shows. Any pixel format
FFmpeg decodes (10-bit, 4:4:4, odd sizes) arrives as 8-bit RGB.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

from genlmk.errors import InputDataError, OutputError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".gif")


def is_video_path(path: Path) -> bool:
    """Whether ``path`` has a video file suffix (case-insensitive)."""
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video's first video stream.

    ``width`` and ``height`` are the displayed size (after ``rotation``, the counter-clockwise
    turn in degrees the container asks for: 0, 90, 180 or 270). ``frames`` is the container's
    frame count, or 0 when it does not know (then count by decoding: :func:`count_video_frames`).
    """

    width: int
    height: int
    fps: float
    frames: int
    rotation: int = 0


def _quarter_turns(rotation: float) -> int:
    """A display rotation in degrees (counter-clockwise) as a number of quarter turns, 0-3."""
    return round(rotation / 90.0) % 4


def displayed(frame) -> np.ndarray:
    """A decoded PyAV video frame as (H, W, 3) uint8 RGB, turned as its display matrix says."""
    image = frame.to_ndarray(format="rgb24")
    turns = _quarter_turns(frame.rotation)
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _open(path: Path):
    import av

    if not path.is_file():
        raise InputDataError(f"{path}: video file not found")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InputDataError(f"{path}: not a readable video ({exc.__class__.__name__})") from None
    if not container.streams.video:
        container.close()
        raise InputDataError(f"{path}: contains no video stream")
    return container


def probe_video(path: str | Path) -> VideoInfo:
    """Displayed size, frame rate, (if known) frame count and display rotation of a video file."""
    import av

    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        # the display matrix is read from the first frame (PyAV exposes it there)
        first = next(iter(container.decode(stream)), None)
        turns = _quarter_turns(first.rotation) if first is not None else 0
        if turns % 2:
            width, height = height, width
        return VideoInfo(width, height, float(rate), int(stream.frames or 0), 90 * turns)
    except av.error.FFmpegError as exc:
        raise InputDataError(f"{path}: corrupt video ({exc.__class__.__name__})") from None
    finally:
        container.close()


def iter_video_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decode a video's frames in decode order as (H, W, 3) uint8 RGB arrays, turned upright
    (:func:`displayed`).

    Frames are produced one at a time, so memory stays constant whatever the length.

    Raises:
        InputDataError: the file is missing, not a video, or corrupt (also mid-way: frames
            decoded before the damage have been yielded by then).
    """
    import av

    path = Path(path)
    container = _open(path)
    decoded = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            decoded += 1
            yield displayed(frame)
    except av.error.FFmpegError as exc:
        raise InputDataError(
            f"{path}: corrupt or truncated video after {decoded} frames ({exc.__class__.__name__})"
        ) from None
    finally:
        container.close()
    if decoded == 0:
        raise InputDataError(f"{path}: no frames could be decoded (empty or corrupt video)")


def count_video_frames(path: str | Path) -> int:
    """Number of frames, from the container if it knows, else by decoding."""
    info = probe_video(path)
    if info.frames > 0:
        return info.frames
    return sum(1 for _ in iter_video_frames(path))


def read_video(path: str | Path) -> np.ndarray:
    """All frames of a (short) video as a (T, H, W, 3) uint8 array."""
    return np.stack(list(iter_video_frames(path)))


class VideoWriter:
    """Write (H, W, 3) uint8 RGB frames to an H.264 mp4 (or any container PyAV knows).

    The file appears complete only on :meth:`close` (written to a temporary name first), so
    an interrupted run never leaves a half-written video under the final name. With
    ``audio_from``, the first audio stream of that video is copied into the new one as it is (no
    re-encoding) when the container takes its codec; the frames keep their own timing.

    Example:
        >>> with VideoWriter("out.mp4", fps=25) as writer:
        ...     for frame in frames:
        ...         writer.write(frame)
    """

    def __init__(
        self, path: str | Path, fps: float = 25.0, quality: int = 18, audio_from: str | Path | None = None
    ) -> None:
        self.path = Path(path)
        self.fps = fps
        self.quality = quality
        self.audio_from = None if audio_from is None else Path(audio_from)
        self._audio: tuple | None = None  # (source container, source stream, output stream)
        self._partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._container = None
        self._stream = None
        self.frames_written = 0

    def _start(self, height: int, width: int) -> None:
        import av

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._container = av.open(str(self._partial), mode="w")
        except (OSError, av.error.FFmpegError) as exc:
            raise OutputError(f"{self.path}: cannot write video ({exc})") from None
        rate = Fraction(self.fps).limit_denominator(1001)
        codec = "libx264" if self.path.suffix.lower() in (".mp4", ".mkv", ".mov", ".m4v") else None
        self._stream = self._container.add_stream(codec or "mpeg4", rate=rate)
        # H.264 in yuv420p needs even sizes; odd frames are padded by one pixel
        self._stream.width = width + width % 2
        self._stream.height = height + height % 2
        self._stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self._stream.options = {"crf": str(self.quality), "preset": "veryfast"}
        if self.audio_from is not None:
            self._audio = self._audio_stream(self.audio_from)

    def _audio_stream(self, source: Path) -> tuple | None:
        """The source's first audio stream and a copy of it in the output, or None when it has
        none or the output container cannot hold its codec (the video is then written silent)."""
        import av

        try:
            container = av.open(str(source))
        except (OSError, av.error.FFmpegError):
            return None
        if not container.streams.audio:
            container.close()
            return None
        stream = container.streams.audio[0]
        codec = stream.codec_context.name
        if codec not in self._container.supported_codecs:
            container.close()
            return None
        return container, stream, self._container.add_stream_from_template(stream)

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame; all frames must have the first one's size."""
        import av

        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frames must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
        if self._container is None:
            self._start(frame.shape[0], frame.shape[1])
        height, width = self._stream.height, self._stream.width
        if frame.shape[:2] != (height, width):
            padded = np.zeros((height, width, 3), dtype=np.uint8)
            if frame.shape[0] > height or frame.shape[1] > width:
                first = (height, width)
                raise ValueError(f"frame size {frame.shape[:2]} differs from the first frame's {first}")
            padded[: frame.shape[0], : frame.shape[1]] = frame
            frame = padded
        packet = self._stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24"))
        self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Flush, close and move the finished file into place."""
        if self._container is None:
            return
        self._container.mux(self._stream.encode())
        if self._audio is not None:
            source, stream, copy = self._audio
            for packet in source.demux(stream):
                if packet.dts is not None:  # the demuxer's last, empty packet has none
                    packet.stream = copy
                    self._container.mux(packet)
            source.close()
            self._audio = None
        self._container.close()
        self._container = None
        self._partial.replace(self.path)

    def abort(self) -> None:
        """Close and delete the partial file (the final name is left untouched)."""
        if self._audio is not None:
            self._audio[0].close()
            self._audio = None
        if self._container is not None:
            self._container.close()
            self._container = None
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(path: str | Path, frames, fps: float = 25.0, quality: int = 18) -> None:
    """Write a sequence of (H, W, 3) uint8 frames to ``path`` (``quality``: H.264 rate factor, 0-51)."""
    with VideoWriter(path, fps=fps, quality=quality) as writer:
        for frame in frames:
            writer.write(frame)


def h264_round_trip(frames: np.ndarray, crf: int = 18, fps: float = 25.0) -> np.ndarray:
    """(F, H, W, 3) uint8 RGB frames encoded as one H.264 sequence at constant rate factor ``crf``
    (0-51, :class:`VideoWriter`'s ``quality``) and ``fps``, and decoded again: (F, H, W, 3) uint8,
    the same frames with the codec's artifacts (a temporary file; odd sizes are padded for the
    encoder and cropped back)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "round_trip.mp4"
        write_video(path, frames, fps=fps, quality=crf)
        decoded = read_video(path)
    return decoded[:, : frames.shape[1], : frames.shape[2]]
