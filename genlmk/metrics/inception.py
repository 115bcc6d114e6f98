"""The FID Inception-v3: TensorFlow's 2015-12-05 Inception graph, as the standard FID tools use it.

torch-fidelity provides the network (TensorFlow-compatible resizing to 299 x 299, input scaling,
2048-d pool features). genlmk gives it the weights from a file, never from the internet: the
converted TensorFlow weights that pytorch-fid (``pt_inception-2015-12-05-6726825d.pth``) and
torch-fidelity / torchmetrics (``weights-inception-2015-12-05-6726825d.pth``) download, from a path,
else from the torch hub cache.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from genlmk.errors import WeightsNotFoundError
from genlmk.weights import find_weights, load_state_dict

INCEPTION_CACHE_NAMES = (
    "pt_inception-2015-12-05-6726825d.pth",
    "weights-inception-2015-12-05-6726825d.pth",
)


class InceptionFeatures(nn.Module):
    """FID Inception-v3 pool features of RGB images.

    Images are quantised to 8 bits first (as FID tools read image files), then resized to 299 x 299
    inside the network.

    Args:
        weights: the weights file; None looks in the torch hub cache for the names in
            :data:`INCEPTION_CACHE_NAMES`.

    Raises:
        WeightsNotFoundError: no weights file, or a file that is not this network's state dict.

    Shape:
        - Input: (N, 3, H, W) float RGB in [0, 1].
        - Output: (N, 2048) float32 features.
    """

    num_features = 2048

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        what = "FID Inception-v3"
        path = find_weights(what, weights, INCEPTION_CACHE_NAMES)
        load_state_dict(path, what)  # refuse anything but plain tensors before torch-fidelity unpickles it
        try:
            self.network = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path)
            )
        except RuntimeError as exc:  # load_state_dict: missing / unexpected keys or shapes
            reason = str(exc).splitlines()[0][:120]
            raise WeightsNotFoundError(f"{path}: not {what} weights ({reason})") from None
        self.eval()

    def forward(self, images: Tensor) -> Tensor:
        pixels = (images.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
        return self.network(pixels)[0]
