"""History of generated images for discriminator updates (Shrivastava et al., as in CycleGAN)."""

from __future__ import annotations

import torch
from torch import Tensor


class ImagePool:
    """Keeps up to ``size`` past fakes; each query returns, per image, either the new image or
    (with probability 1/2, once the pool is full) a random stored one that the new image replaces.

    The pool's contents and random state are part of :meth:`state_dict`, so a resumed run
    continues exactly.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        self.size = size
        self.images: list[Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: Tensor) -> Tensor:
        """images: (B, C, H, W), detached. Returns (B, C, H, W) for the discriminator."""
        if self.size <= 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                slot = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[slot].clone())
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        stacked = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"images": stacked, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict, device: torch.device | None = None) -> None:
        images = state["images"]
        self.images = (
            [img.to(device) if device is not None else img for img in images] if images.numel() else []
        )
        self.generator.set_state(state["generator"])
