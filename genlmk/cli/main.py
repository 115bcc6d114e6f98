"""The ``genlmk`` command: one entry point, one module per subcommand."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from genlmk.errors import GenlmkError

# subcommands whose arguments belong to Lightning's CLI (it parses them itself)
_LIGHTNING_SUBCOMMANDS = ("fit",)


def build_parser() -> argparse.ArgumentParser:
    from genlmk.cli import evaluate_cmd, export_cmd, motion_cmd, predict_cmd, synth_cmd, template_cmd

    parser = argparse.ArgumentParser(
        prog="genlmk",
        description="Learn marker-free landmark detectors from unpaired footage, run and evaluate them.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from genlmk.builtin import preset_names

    sub.add_parser(
        "fit",
        help="train a model from a YAML config or a preset by name (--preset/--config "
        f"{', '.join(preset_names())}; Lightning's CLI: see genlmk fit --help)",
    )
    for module in (synth_cmd, predict_cmd, export_cmd, template_cmd, motion_cmd, evaluate_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    try:
        if argv and argv[0] in _LIGHTNING_SUBCOMMANDS:
            from genlmk.cli.fit import run_fit

            return run_fit(argv)
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except GenlmkError as exc:
        if debug:
            traceback.print_exc()
        print(f"genlmk: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("genlmk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
