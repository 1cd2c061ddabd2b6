"""Entry point shared by the benchmark scripts: a bad ``--data`` or ``--model`` (any of the
project's typed errors) prints ``error: ...`` and exits 2 instead of a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable


def run(main: Callable[[], int | None]) -> None:
    from costmodel.errors import CostModelError

    try:
        sys.exit(main())
    except CostModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
