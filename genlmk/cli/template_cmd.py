"""``genlmk template ...``: inspect landmark templates."""

from __future__ import annotations

import argparse

from genlmk.data.images import read_image, write_image
from genlmk.template import load_template
from genlmk.visualization import template_preview


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("template", help="show and author landmark templates")
    actions = parser.add_subparsers(dest="template_command", metavar="ACTION", required=True)

    show = actions.add_parser(
        "show", help="draw a template (optionally over an image) with its landmark names"
    )
    show.add_argument("template", help="template YAML file or built-in name (face, hand, ...)")
    show.add_argument("--image", help="draw over this image (resized to the template canvas)")
    show.add_argument("--out", required=True, help="output image (PNG)")
    show.add_argument(
        "--scale", type=int, default=6, help="preview size as a multiple of the canvas (default 6)"
    )
    show.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    background = read_image(args.image) if args.image else None
    write_image(args.out, template_preview(template, background, scale=args.scale))
    print(
        f"wrote {args.out} ({template.name}: {template.num_landmarks} landmarks, {len(template.lines)} lines)"
    )
    return 0
