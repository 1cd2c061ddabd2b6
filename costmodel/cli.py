"""The `costmodel` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from costmodel.errors import CostModelError


def _analyze(args: argparse.Namespace) -> int:
    from costmodel.ir import analyze_text, load_ir, tokenize

    text = load_ir(args.file)
    feats = analyze_text(text, filename=args.file)
    out = feats.to_dict()
    if args.tokens:
        out["tokens"] = tokenize(text)
    if args.json:
        json.dump(out, sys.stdout, separators=(",", ":") if args.compact else None,
                  indent=None if args.compact else 1)
        sys.stdout.write("\n")
        return 0
    _print_table(out)
    return 0


_SHORT_LEVEL = {"distribution": "d", "cache_parallel": "cp", "cache_reduction": "cr",
                "vector_common_parallel": "v", "vector_reduction": "r",
                "vector_inner_parallel": "vi"}


def _print_table(out: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    # Piped output has no terminal width; keep rows on one line rather than wrapping at 80.
    console = Console(width=None if sys.stdout.isatty() else 160)
    t = out["total"]
    table = Table(title="ops with cost", show_lines=False)
    for col in ("#", "op", "family", "loops (extents)", "FLOPs", "bytes", "intensity", "schedule"):
        table.add_column(col, justify="right" if col in ("#", "FLOPs", "bytes", "intensity")
                         else "left")
    shown = 0
    for op in out["ops"]:
        if not (op["flops"] or op["bytes"] or "loops" in op):
            continue
        shown += 1
        loops = op.get("loops")
        extents = "x".join(str(r) for r in loops["ranges"]) if loops else ""
        if loops:
            extents += f" ({loops['n_parallel']}p/{loops['n_reduction']}r)"
        sched = op.get("schedule")
        sched_text = ""
        if sched:
            sched_text = " ".join(f"{_SHORT_LEVEL.get(k, k)}{v}".replace(" ", "")
                                  for k, v in sched["levels"].items())
            if sched["pipeline"]:
                sched_text += f" {sched['pipeline']}"
        table.add_row(str(op["index"]), op["name"], op["family"], extents, f"{op['flops']:,}",
                      f"{op['bytes']:,}", f"{op['intensity']:.2f}", sched_text)
    if shown:
        console.print(table)
    console.print(
        f"[bold]total[/bold]: {t['flops']:,} FLOPs, {t['bytes']:,} bytes "
        f"({t['bytes_read']:,} read, {t['bytes_written']:,} written), intensity "
        f"{t['intensity']:.3f} FLOP/B, {t['n_ops']} ops, {t['n_edges']} edges"
        + ("" if t["static"] else " [yellow](partly dynamic: counts are lower bounds)[/yellow]"))
    fams = ", ".join(f"{k}={v}" for k, v in sorted(t["families"].items()))
    console.print(f"[bold]families[/bold]: {fams}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="costmodel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("analyze", help="features of an MLIR or ONNX file")
    p.add_argument("file", help="a .mlir file (textual IR) or a .onnx model")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument("--compact", action="store_true", help="with --json: no indentation")
    p.add_argument("--tokens", action="store_true", help="include the IR token stream")
    p.set_defaults(func=_analyze)
    from costmodel.cli_data import add_parsers
    add_parsers(sub)
    from costmodel.cli_model import add_parsers as add_model_parsers; add_model_parsers(sub)  # noqa: E702
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CostModelError as exc:
        print(f"costmodel: {exc}", file=sys.stderr)
        return 2
    except (PermissionError, FileExistsError, IsADirectoryError, NotADirectoryError) as exc:
        # A path the up-front checks could not foresee (e.g. changed while running).
        print(f"costmodel: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("costmodel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
