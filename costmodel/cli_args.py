"""Argument types and output checks shared by every command line (costmodel, tuner, benchmarks).

Argparse types reject bad numbers at parse time (``usage: ... error: argument --seed: ...``,
exit 2) so nothing is measured before a typo is caught. The output checks run before the work
starts, for the same reason: an unwritable ``--out`` must not cost an hour of measurements.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

from costmodel.errors import InputError

SEED_MAX = 2**32 - 1  # numpy's SeedSequence / RandomState bound


def _number(text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """An integer ≥ 1 (counts, workers, folds, repeats)."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def nonneg_int(text: str) -> int:
    """An integer ≥ 0 (counts where 0 means 'none')."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def random_seed(text: str) -> int:
    """A random seed numpy accepts: 0 <= seed < 2**32."""
    value = _number(text, int)
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"a seed must be between 0 and {SEED_MAX}, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (time caps, budgets in seconds)."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def nonneg_float(text: str) -> float:
    """A finite number ≥ 0 (0 usually means 'skip')."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _probe(directory: Path) -> str | None:
    """Why files cannot be made in an existing ``directory``, or None. Tried for real:
    os.access says yes to root on read-only mounts and /sys."""
    try:
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _writable_parent(path: Path, what: str) -> None:
    """The nearest existing ancestor must be a writable directory, so the output can be made."""
    parent = path.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{what} {str(path)!r}: {str(parent)!r} is a file, not a directory")
    if (why := _probe(parent)) is not None:
        raise InputError(f"{what} {str(path)!r}: cannot write in {str(parent)!r} ({why})")
    if parent != path.parent or not path.suffix:
        # The directories still to be made: try the first one (and remove it again).
        first = path
        while first.parent != parent:
            first = first.parent
        try:
            first.mkdir()
            first.rmdir()
        except OSError as exc:
            raise InputError(f"{what} {str(path)!r}: cannot create {str(first)!r} "
                             f"({exc.strerror or exc})") from None


def check_out_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """Fail before any work if ``path`` cannot be used as an output directory.

    Nothing is left behind: an output the command never writes leaves no trace.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{what} {str(path)!r} exists and is not a directory")
        if (why := _probe(path)) is not None:
            raise InputError(f"{what} {str(path)!r}: cannot write there ({why})")
        return path
    _writable_parent(path, what)
    return path


def check_out_file(path: str | os.PathLike, what: str = "--out") -> Path:
    """Fail before any work if ``path`` cannot be written as a file."""
    path = Path(path)
    if path.exists():
        if path.is_dir():
            raise InputError(f"{what} {str(path)!r} is a directory; give a file path")
        if (why := _probe(path.parent)) is not None:
            raise InputError(f"{what} {str(path)!r}: cannot write there ({why})")
        return path
    _writable_parent(path, what)
    return path
