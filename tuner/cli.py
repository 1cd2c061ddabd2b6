"""The `tuner` command line. Tuning commands arrive with the tuner issues."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from costmodel import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuner", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tuner {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
