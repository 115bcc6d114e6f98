"""Networks the user brings: a TorchScript file, or ``package.module:factory``.

Used for identity embeddings (``--identity``) and FID features (``--fid-features``): any network
mapping (N, 3, H, W) float RGB images in [0, 1] to (N, D) features. A factory is called with no
arguments and returns the network, an ``nn.Module``.
"""

from __future__ import annotations

import importlib
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genlmk.errors import ConfigError
from genlmk.evaluation.interfaces import Embeddings, IdentityEmbedder, check_frames


def is_torchscript_file(path: Path) -> bool:
    """Whether ``path`` is a TorchScript archive (``torch.jit.save``), not a ``torch.save`` file."""
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") for name in archive.namelist())


def is_factory_spec(spec: str) -> bool:
    """Whether ``spec`` looks like ``package.module:factory`` (and names no existing file)."""
    module, sep, attr = spec.partition(":")
    return bool(sep) and module.replace(".", "").replace("_", "").isalnum() and attr.isidentifier()


def load_user_network(spec: str) -> nn.Module:
    """Load a user network from a TorchScript file or a ``package.module:factory`` name (onto the CPU).

    Raises:
        ConfigError: the file is not TorchScript, the module cannot be imported, the factory is
            missing, or it returns something that is not an ``nn.Module``.
    """
    path = Path(spec).expanduser()
    if path.is_file():
        if not is_torchscript_file(path):
            raise ConfigError(f"{path}: not a TorchScript file (write one with torch.jit.save)")
        return torch.jit.load(str(path), map_location="cpu").eval()
    if not is_factory_spec(spec):
        raise ConfigError(f"{spec}: no such file, and not of the form package.module:factory")
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{spec}: cannot import {module_name} ({exc})") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"{spec}: {module_name} has no callable {attr!r}")
    network = factory()
    if not isinstance(network, nn.Module):
        raise ConfigError(f"{spec}: the factory returned a {type(network).__name__}, not an nn.Module")
    return network.eval()


def frames_to_images(frames: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 RGB frames -> (B, 3, H, W) float32 images in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div(255.0)


class NetworkIdentity(IdentityEmbedder):
    """Identity embeddings from a network mapping (B, 3, H, W) images in [0, 1] to (B, D).

    A frame counts as embedded when its vector is finite.

    Args:
        network: the network (e.g. from :func:`load_user_network`).
        device: where to run it.
        name: for messages.
    """

    def __init__(
        self, network: nn.Module, device: str | torch.device = "cpu", name: str = "identity network"
    ):
        self.network = network.to(device).eval()
        self.device = torch.device(device)
        self.name = name

    def embed(self, frames: np.ndarray) -> Embeddings:
        check_frames(frames)
        with torch.no_grad():
            vectors = self.network(frames_to_images(frames).to(self.device))
        if vectors.ndim != 2 or vectors.shape[0] != len(frames):
            raise ValueError(
                f"{self.name} must return (B, D) = ({len(frames)}, D) embeddings; got {tuple(vectors.shape)}"
            )
        vectors = vectors.detach().to("cpu", torch.float32)
        return Embeddings(vectors, vectors.isfinite().all(dim=-1))
