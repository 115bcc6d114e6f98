"""Perceptual pyramid loss (First Order Motion Model, Sec. 3.3) and the feature networks it uses.

The loss compares feature maps of a prediction and its target at several image scales:
``sum_scales sum_i w_i mean|f_i(prediction_s) - f_i(target_s)|``. The features are VGG19's relu1_1,
relu2_1, relu3_1, relu4_1 and relu5_1 activations (:class:`VGG19Features`, ImageNet weights read from a
file, never downloaded), or any module that returns a list of maps, e.g. :class:`ImageAsFeatures`
(the pixels themselves: a multi-scale L1, for machines without the VGG file and for tests).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from genlmk.errors import WeightsNotFoundError

VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
# (start, stop) indices into torchvision's vgg19().features: up to relu1_1, relu2_1, ..., relu5_1
_VGG19_SLICES = ((0, 2), (2, 7), (7, 12), (12, 21), (21, 30))


def vgg19_cache_path() -> Path:
    """Where torchvision would cache the VGG19 weights: ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def find_vgg19_weights(path: str | os.PathLike | None = None) -> Path:
    """The VGG19 ImageNet weights file: ``path`` if given, else the torch cache.

    Raises:
        WeightsNotFoundError: the file is not there; the message names where it was looked for,
            where to download it from and where to put it.
    """
    candidate = Path(path) if path is not None else vgg19_cache_path()
    if candidate.is_file():
        return candidate
    raise WeightsNotFoundError(
        f"{candidate}: VGG19 weights not found (needed by the perceptual loss); download {VGG19_URL} "
        f"and put it at {vgg19_cache_path()} (the torch cache, $TORCH_HOME) or give its path "
        "(model.init_args.perceptual_network.init_args.weights)"
    )


class VGG19Features(nn.Module):
    """Frozen VGG19 feature extractor: images (B, 3, H, W) in [0, 1] -> 5 activation maps.

    Args:
        weights: path of torchvision's ``vgg19-dcbb9e9d.pth`` (a full VGG19 state dict); None reads it
            from the torch cache. Nothing is downloaded.

    Raises:
        WeightsNotFoundError: see :func:`find_vgg19_weights`.
    """

    def __init__(self, weights: str | None = None) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        file = find_vgg19_weights(weights)
        layers = make_layers(cfgs["E"])[: _VGG19_SLICES[-1][1]]  # VGG19's feature layers, as in vgg19()
        try:
            state = torch.load(file, map_location="cpu", weights_only=True)
            # a full VGG19 state dict, or just its feature layers; only those up to relu5_1 are kept
            wanted = {f"features.{name}" for name in layers.state_dict()}
            features = {k[len("features.") :]: v for k, v in state.items() if k in wanted}
            layers.load_state_dict(features, strict=True)
        except (RuntimeError, OSError, ValueError, AttributeError) as exc:
            reason = str(exc).splitlines()[0][:120]
            raise WeightsNotFoundError(f"{file}: not torchvision's VGG19 weights ({reason})") from None
        self.slices = nn.ModuleList(nn.Sequential(*layers[a:b]) for a, b in _VGG19_SLICES)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)  # fixed; its layers have no train/eval differences

    def forward(self, images: Tensor) -> list[Tensor]:
        out = (images - self.mean) / self.std
        features = []
        for block in self.slices:
            out = block(out)
            features.append(out)
        return features


class ImageAsFeatures(nn.Module):
    """The identity as a "feature network": ``[images]``, so the perceptual loss becomes a pyramid L1."""

    def forward(self, images: Tensor) -> list[Tensor]:
        return [images]


def pyramid_perceptual_loss(
    prediction: Mapping[float, Tensor],
    target: Mapping[float, Tensor],
    features: Callable[[Tensor], Sequence[Tensor]],
    weights: Sequence[float],
) -> Tensor:
    """``sum_s sum_i weights[i] * mean|f_i(prediction[s]) - f_i(target[s])|`` (no gradient to the target).

    Args:
        prediction, target: image pyramids ``{scale: (B, 3, H_s, W_s)}`` with the same scales
            (see :func:`genlmk.geometry.filters.image_pyramid`).
        features: maps a batch of images to a list of feature maps, one per weight.
        weights: weight per feature map; a zero skips that map.

    Returns:
        Scalar loss.

    Raises:
        ValueError: the pyramids' scales differ, or ``features`` returns a different number of maps
            than there are weights.
    """
    if set(prediction) != set(target):
        raise ValueError(f"pyramid scales differ: {sorted(prediction)} vs {sorted(target)}")
    total = next(iter(prediction.values())).new_zeros(())
    for scale, predicted in prediction.items():
        mine = features(predicted)
        with torch.no_grad():
            theirs = features(target[scale])
        if len(mine) != len(weights):
            raise ValueError(f"feature network gives {len(mine)} maps, but {len(weights)} weights")
        for weight, a, b in zip(weights, mine, theirs):
            if weight:
                total = total + weight * (a - b).abs().mean()
    return total
