"""Backends by name, as the command line gives them.

- keypoint detectors: ``dlib`` (68 face landmarks), ``mediapipe`` (468-point face mesh),
  ``mediapipe-hands`` (21 hand points), ``genlmk:CKPT`` (genlmk's landmarker from a checkpoint);
- identity embedders: ``dlib`` (128-d face embedding), or a user network (TorchScript file or
  ``package.module:factory``);
- FID features: Inception-v3 weights (a path, or ``auto``: the torch hub cache), or a user network;
- LPIPS: AlexNet / VGG16 backbone weights (a path, or ``auto``: the torch hub cache).

``none`` switches a metric off. ``auto`` switches it off when the weights are not in the cache,
and says so (see :func:`optional_network`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from genlmk.errors import ConfigError, WeightsNotFoundError
from genlmk.evaluation.interfaces import IdentityEmbedder, KeypointDetector
from genlmk.evaluation.user_networks import (
    NetworkIdentity,
    is_factory_spec,
    is_torchscript_file,
    load_user_network,
)

DETECTORS = "dlib, mediapipe, mediapipe-hands, genlmk:CKPT or none"
CHECKPOINT_PREFIX = "genlmk:"


def make_detector(spec: str) -> KeypointDetector | None:
    """The keypoint detector named by ``spec`` (None for ``none``).

    Raises:
        ConfigError: unknown name, or the backend is not installed.
    """
    if spec == "none":
        return None
    if spec == "dlib":
        from genlmk.evaluation.dlib_face import DlibFaceLandmarks

        return DlibFaceLandmarks()
    if spec in ("mediapipe", "mediapipe-hands"):
        from genlmk.evaluation.mediapipe_landmarks import MediaPipeLandmarks

        return MediaPipeLandmarks("face" if spec == "mediapipe" else "hand")
    if spec.startswith(CHECKPOINT_PREFIX) and len(spec) > len(CHECKPOINT_PREFIX):
        from genlmk.evaluation.landmarker_backend import LandmarkerKeypoints

        return LandmarkerKeypoints.from_checkpoint(spec[len(CHECKPOINT_PREFIX) :])
    raise ConfigError(f"unknown keypoint detector {spec!r}; use {DETECTORS}")


def make_identity(spec: str, device: str = "cpu") -> IdentityEmbedder | None:
    """The identity embedder named by ``spec``: ``dlib``, a user network, or None for ``none``."""
    if spec == "none":
        return None
    if spec == "dlib":
        from genlmk.evaluation.dlib_face import DlibFaceIdentity

        return DlibFaceIdentity()
    return NetworkIdentity(load_user_network(spec), device, name=f"identity network {spec}")


def make_fid_network(spec: str | None) -> nn.Module:
    """FID features: a user network (TorchScript file or ``module:factory``), else Inception-v3 weights.

    Args:
        spec: a TorchScript file, ``package.module:factory``, an Inception weights file, or None for
            the Inception weights in the torch hub cache.
    """
    from genlmk.metrics.inception import InceptionFeatures

    if spec is not None and (
        is_torchscript_file(Path(spec)) or (is_factory_spec(spec) and not Path(spec).exists())
    ):
        return load_user_network(spec)
    return InceptionFeatures(spec)


def make_lpips_network(spec: str | None, net: str = "alex") -> nn.Module:
    """LPIPS with its backbone weights from ``spec`` (None: the torch hub cache)."""
    from genlmk.metrics.perceptual import build_lpips

    return build_lpips(net, spec)


def optional_network(
    spec: str, build: Callable[[str | None], nn.Module], what: str
) -> tuple[nn.Module | None, str | None]:
    """Resolve ``none`` / ``auto`` / an explicit value for a metric that needs weights.

    Returns:
        (network or None, a note saying why the metric is off, or None). ``auto`` builds from the
        cache and turns into a note when the weights are not there; an explicit value that fails
        raises.
    """
    if spec == "none":
        return None, None
    if spec == "auto":
        try:
            return build(None), None
        except WeightsNotFoundError as exc:
            return None, f"{what} skipped: {exc}"
    return build(spec), None
