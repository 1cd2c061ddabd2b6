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


def _bounded(kind: type, ok, need: str, doc: str):
    """An argparse type: ``kind`` parsed, then ``ok(value)`` or 'must be ``need``'."""
    def parse(text: str):
        value = _number(text, kind)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {need}, got {text}")
        return value
    parse.__doc__ = doc
    return parse


positive_int = _bounded(int, lambda v: v >= 1, "at least 1",
                        "An integer >= 1 (counts, workers, folds, repeats).")
nonneg_int = _bounded(int, lambda v: v >= 0, "0 or more",
                      "An integer >= 0 (counts where 0 means 'none').")
positive_float = _bounded(float, lambda v: v > 0, "greater than 0",
                          "A finite number > 0 (time caps, budgets in seconds).")
nonneg_float = _bounded(float, lambda v: v >= 0, "0 or more",
                        "A finite number >= 0 (0 usually means 'skip').")
fraction = _bounded(float, lambda v: 0 <= v <= 1, "between 0 and 1",
                    "A finite number in [0, 1] (shares).")
random_seed = _bounded(int, lambda v: 0 <= v <= SEED_MAX, f"a seed between 0 and {SEED_MAX}",
                       "A random seed numpy accepts: 0 <= seed < 2**32.")


def int_at_least(low: int):
    """An argparse type: an integer >= ``low`` (``int_at_least(2)`` for --folds)."""
    return _bounded(int, lambda v: v >= low, f"at least {low}", f"An integer >= {low}.")


#: The checkout (repository root), where the shipped datasets/ and models/ live.
CHECKOUT = Path(__file__).resolve().parent.parent


def shipped(relative: str) -> str:
    """A default path inside the checkout, made absolute so the command finds it from any
    working directory. Paths the user types stay relative to the working directory."""
    return str(CHECKOUT / relative)


def as_recorded(path: str) -> str:
    """``path`` as a results file records it: relative to the checkout when inside it, so a
    committed result does not name the machine's directory layout."""
    try:
        return str(Path(path).resolve().relative_to(CHECKOUT))
    except ValueError:
        return str(path)


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
