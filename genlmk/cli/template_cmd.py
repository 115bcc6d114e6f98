"""``genlmk template ...``: show, extract, edit and check landmark templates."""

from __future__ import annotations

import argparse
from pathlib import Path

from genlmk.data.images import read_image, write_image
from genlmk.errors import ConfigError, OutputError
from genlmk.template import Template, edit, load_template
from genlmk.template.extract import extract_template
from genlmk.visualization import template_preview

# previews of large canvases (extracted from photos) are kept to about this many pixels
_PREVIEW_PIXELS = 768


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

    extract = actions.add_parser(
        "extract", help="make a template from a photo of painted lines (writes the YAML and a preview)"
    )
    extract.add_argument("--image", required=True, help="photo of the painted lines")
    extract.add_argument(
        "--color", default="auto", help="paint colour R,G,B (0-255), or auto (the dominant saturated colour)"
    )
    extract.add_argument(
        "--spacing", type=float, default=8.0, help="landmark spacing along the lines, pixels (default 8)"
    )
    extract.add_argument(
        "--tolerance",
        type=float,
        default=25.0,
        help="largest colour difference of paint from its colour (CIEDE2000, lightness half; default 25)",
    )
    extract.add_argument("--name", help="template name (default: the photo's file name)")
    extract.add_argument("--category", default="", help="category for hierarchical ids, e.g. foot")
    _output_arguments(extract, preview_default="OUT with .png")
    extract.set_defaults(func=run_extract)

    rename = _edit_action(
        actions,
        "rename-line",
        "give a line a part name (renames <old>_<k> landmarks)",
        lambda t, a: edit.rename_line(t, a.line, a.part),
    )
    rename.add_argument("line", help="the line: its part name or index")
    rename.add_argument("part", help="the new part name")

    merge = _edit_action(
        actions,
        "merge-lines",
        "join two open lines at their nearest ends",
        lambda t, a: edit.merge_lines(t, a.first, a.second, a.part),
    )
    merge.add_argument("first", help="the line to extend (part name or index)")
    merge.add_argument("second", help="the line joined to it (part name or index)")
    merge.add_argument("--part", help="part name of the merged line (default: the first's)")

    split = _edit_action(
        actions,
        "split-line",
        "cut a line at landmarks into lines that share them",
        lambda t, a: edit.split_line(t, a.line, a.at, a.parts),
    )
    split.add_argument("line", help="the line (part name or index)")
    split.add_argument("--at", nargs="+", required=True, help="landmark(s) to cut at (two for a closed line)")
    split.add_argument("--parts", nargs="+", help="part names of the new lines (default <part>.2, ...)")

    reverse = _edit_action(
        actions, "reverse-line", "run a line the other way", lambda t, a: edit.reverse_line(t, a.line)
    )
    reverse.add_argument("line", help="the line (part name or index)")

    drop = _edit_action(
        actions,
        "drop",
        "remove landmarks (names, ids or glob patterns such as 'line3_*')",
        lambda t, a: edit.drop_landmarks(t, a.landmarks),
    )
    drop.add_argument("landmarks", nargs="+", help="landmark names, ids or patterns")

    drop_line = _edit_action(
        actions,
        "drop-line",
        "remove whole lines (and landmarks left on no line)",
        lambda t, a: edit.drop_lines(t, a.lines),
    )
    drop_line.add_argument("lines", nargs="+", help="the lines (part names or indices)")

    rescale = _edit_action(
        actions,
        "rescale",
        "put a template on another canvas size",
        lambda t, a: edit.rescale_template(t, tuple(a.size), a.fit, a.margin),
    )
    rescale.add_argument("--size", type=int, nargs=2, required=True, metavar=("W", "H"), help="canvas size")
    rescale.add_argument(
        "--fit", action="store_true", help="scale uniformly and centre the landmarks (instead of stretching)"
    )
    rescale.add_argument("--margin", type=float, default=0.1, help="with --fit: margin per side (0.1)")

    category = _edit_action(
        actions,
        "set-category",
        "set the category of the hierarchical ids",
        lambda t, a: edit.set_category(t, a.category),
    )
    category.add_argument("category", help="the category, e.g. foot ('' to remove it)")

    check = actions.add_parser("check", help="check a template against a landmark checkpoint's template")
    check.add_argument("template", help="template YAML file or built-in name")
    check.add_argument("checkpoint", help="a genlmk landmark checkpoint (.ckpt)")
    check.set_defaults(func=run_check)


def _edit_action(actions, name: str, help_text: str, change) -> argparse.ArgumentParser:
    """A subcommand that loads a template, applies ``change(template, args)`` and writes it."""
    parser = actions.add_parser(name, help=help_text)
    parser.add_argument("template", help="template YAML file or built-in name")
    _output_arguments(parser)
    parser.set_defaults(func=lambda args: _edit(args, lambda template: change(template, args)))
    return parser


def _output_arguments(parser: argparse.ArgumentParser, preview_default: str | None = None) -> None:
    parser.add_argument("--out", required=True, help="output template YAML (may be the input file)")
    help_text = "also draw the result to this PNG"
    if preview_default:
        help_text += f" (default: {preview_default})"
    parser.add_argument("--preview", help=help_text)


def _preview_scale(template: Template) -> int:
    return max(1, min(6, _PREVIEW_PIXELS // max(template.size)))


def _write(template: Template, args: argparse.Namespace, background=None) -> None:
    """Write the template YAML and, when asked for, its preview; report what was written."""
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        template.save(out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the template ({exc.strerror or exc})") from None
    written = [str(out)]
    if args.preview:
        write_image(args.preview, template_preview(template, background, scale=_preview_scale(template)))
        written.append(str(args.preview))
    print(
        f"wrote {' and '.join(written)} ({template.name}: {template.num_landmarks} landmarks, "
        f"{len(template.lines)} lines)"
    )


def _edit(args: argparse.Namespace, change) -> int:
    _write(change(load_template(args.template)), args)
    return 0


def parse_color(text: str) -> tuple[int, int, int] | None:
    """``auto`` -> None; ``R,G,B`` -> a colour.

    Raises:
        ConfigError: anything else.
    """
    if text.strip().lower() == "auto":
        return None
    parts = text.replace(" ", "").split(",")
    if len(parts) != 3 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        raise ConfigError(f"--color must be auto or R,G,B with three integers 0-255, got {text!r}")
    return int(parts[0]), int(parts[1]), int(parts[2])


def run_show(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    background = read_image(args.image) if args.image else None
    write_image(args.out, template_preview(template, background, scale=args.scale))
    print(
        f"wrote {args.out} ({template.name}: {template.num_landmarks} landmarks, {len(template.lines)} lines)"
    )
    return 0


def run_extract(args: argparse.Namespace) -> int:
    color = parse_color(args.color)
    if not args.spacing > 0:
        raise ConfigError(f"--spacing must be positive, got {args.spacing:g}")
    photo = read_image(args.image)
    template = extract_template(
        photo,
        color=color,
        spacing=args.spacing,
        tolerance=args.tolerance,
        name=args.name or Path(args.image).stem,
        category=args.category,
        source=str(args.image),
    )
    args.preview = args.preview or str(Path(args.out).with_suffix(".png"))
    _write(template, args, background=photo)
    return 0


def run_check(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    edit.check_against_checkpoint(template, args.checkpoint)
    print(f"{args.template} matches the template in {args.checkpoint}")
    return 0
