"""Test videos with sound, and reading how long their sound lasts."""

from __future__ import annotations

import numpy as np


def write_video_with_sound(path, frames: int = 25, fps: int = 25) -> None:
    """An H.264 + AAC mp4: ``frames`` grey frames and as long a 440 Hz tone."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        for index in range(frames):
            image = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 8 * index, np.uint8), format="rgb24")
            container.mux(video.encode(image))
        container.mux(video.encode())
        samples = np.sin(2 * np.pi * 440 * np.arange(44100 * frames // fps) / 44100).astype(np.float32)
        for start in range(0, len(samples), 1024):
            chunk = samples[start : start + 1024][None]
            sound = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            sound.sample_rate, sound.pts = 44100, start
            container.mux(audio.encode(sound))
        container.mux(audio.encode())


def sound_seconds(path) -> float:
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0
        stream = container.streams.audio[0]
        return float(sum(packet.duration or 0 for packet in container.demux(stream)) * stream.time_base)
