"""The README's main job on built-in data.

For now: draw every built-in template and paint it onto a synthetic canvas with both renderer
backends, writing the pictures to demo/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genlmk.data.images import write_image
from genlmk.rendering import BACKENDS, MarkerRenderer, MarkerRenderSettings
from genlmk.template import builtin_template_names, load_template
from genlmk.visualization import template_preview

OUT = Path("demo")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name in builtin_template_names():
        template = load_template(name)
        write_image(OUT / f"template_{name}.png", template_preview(template))
        canvas = torch.full((1, 3, template.height, template.width), 0.8)
        landmarks = torch.as_tensor(template.points, dtype=torch.float32)[None]
        for backend in BACKENDS:
            with torch.no_grad():
                painted = MarkerRenderer(template, MarkerRenderSettings(backend=backend))(canvas, landmarks)
            image = (painted.images[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            write_image(OUT / f"painted_{name}_{backend}.png", image)
        print(f"{name}: {template.num_landmarks} landmarks -> {OUT}/template_{name}.png")
    print(f"demo outputs in {OUT.resolve()}")


if __name__ == "__main__":
    main()
