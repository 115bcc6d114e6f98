"""LPIPS: learned perceptual distance between real and generated frames (the ``lpips`` package).

The ``lpips`` package ships its small linear layers but not the ImageNet backbone under them
(AlexNet or VGG16, torchvision's weights), which it would download. genlmk builds the network with
a random backbone and loads the backbone from a file instead: a path the user gives, or torchvision's
file in the torch hub cache (see :mod:`genlmk.weights`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from genlmk.errors import WeightsNotFoundError
from genlmk.metrics.frame_average import FrameAverage
from genlmk.metrics.l1 import check_image_pair
from genlmk.weights import find_weights, load_state_dict

# LPIPS backbone -> (name in messages, torchvision's weight file names in the hub cache)
LPIPS_BACKBONES: dict[str, tuple[str, tuple[str, ...]]] = {
    "alex": ("AlexNet", ("alexnet-owt-7be5be79.pth",)),
    "vgg": ("VGG16", ("vgg16-397923af.pth",)),
}


def _load_backbone(trunk: nn.Module, state: dict[str, Tensor], path: Path, label: str) -> None:
    """Copy torchvision ``features.<i>.*`` weights into lpips' slices (which keep the indices <i>)."""
    mapped = {}
    for slice_name, block in trunk.named_children():
        for index, layer in block.named_children():
            for param_name, _ in layer.named_parameters(recurse=False):
                key = f"features.{index}.{param_name}"
                if key not in state:
                    raise WeightsNotFoundError(f"{path}: not torchvision {label} weights (no {key!r})")
                mapped[f"{slice_name}.{index}.{param_name}"] = state[key]
    try:
        trunk.load_state_dict(mapped, strict=True)
    except RuntimeError as exc:
        reason = str(exc).splitlines()[-1].strip()[:120]
        raise WeightsNotFoundError(f"{path}: not torchvision {label} weights ({reason})") from None


def build_lpips(net: str = "alex", backbone_weights: str | Path | None = None) -> nn.Module:
    """The LPIPS v0.1 network with its backbone loaded from a file, in eval mode, frozen.

    Args:
        net: ``"alex"`` (the usual choice) or ``"vgg"``.
        backbone_weights: torchvision's ImageNet weights of that backbone (``alexnet-owt-*.pth`` /
            ``vgg16-*.pth``; only the ``features.*`` entries are used); None looks in the torch hub cache.

    Raises:
        ValueError: unknown ``net``.
        WeightsNotFoundError: no weights file, or one of another network.
    """
    import lpips

    if net not in LPIPS_BACKBONES:
        raise ValueError(f"LPIPS backbone must be one of {sorted(LPIPS_BACKBONES)}, got {net!r}")
    label, cache_names = LPIPS_BACKBONES[net]
    what = f"LPIPS {label} backbone"
    path = find_weights(what, backbone_weights, cache_names)
    state = load_state_dict(path, what)
    with warnings.catch_warnings():  # lpips still passes torchvision's deprecated `pretrained=False`
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False)
    _load_backbone(model.net, state, path, label)
    return model.eval().requires_grad_(False)


def lpips_distances(network: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """Per-frame LPIPS.

    Args:
        network: an LPIPS network (:func:`build_lpips`, or ``lpips.LPIPS``).
        real: (B, 3, H, W) real frames, RGB in [0, 1].
        fake: (B, 3, H, W) generated frames, RGB in [0, 1].

    Returns:
        (B,) perceptual distance per frame (0 for identical frames; larger is more different).
    """
    check_image_pair(real, fake)
    return network(real.float(), fake.float(), normalize=True).flatten()


class LPIPSDistance(FrameAverage):
    """LPIPS accumulated over batches (and processes): :func:`lpips_distances` averaged over frames.

    Args:
        network: a ready LPIPS network; when None one is built with :func:`build_lpips`.
        net: backbone for :func:`build_lpips`.
        backbone_weights: backbone weights file for :func:`build_lpips` (None: torch hub cache).
    """

    def __init__(
        self,
        network: nn.Module | None = None,
        net: str = "alex",
        backbone_weights: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.network = network if network is not None else build_lpips(net, backbone_weights)

    def update(self, real: Tensor, fake: Tensor) -> None:
        """Add a batch of (B, 3, H, W) real and generated frames in [0, 1]."""
        with torch.no_grad():
            distances = lpips_distances(self.network, real, fake)
        self._accumulate(distances, distances.isfinite())
