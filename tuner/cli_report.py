"""`tuner report STUDY_ID|--all --storage URL --out report.html`: a self-contained HTML
report of studies (inline SVG plots, no network) plus a markdown summary next to it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: The gRPC server's default STORE (service/config.py), under the checkout.
DEFAULT_STORE = "var/tuner.sqlite"


def _report(args: argparse.Namespace) -> int:
    from costmodel.errors import InputError
    from costmodel.report import write_report
    from tuner.reporting import study_report

    if args.all and args.study:
        raise InputError("give study ids or --all, not both")
    if not args.all and not args.study:
        raise InputError("name a study (name or numeric id) or use --all")
    storage = args.storage
    if storage is None:  # the checkout's server store, wherever the command runs
        storage = f"sqlite:///{Path(__file__).resolve().parent.parent / DEFAULT_STORE}"
    from tuner.store import check_storage_url
    check_storage_url(storage)
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out {out}: use an .html name (the markdown summary goes next to it)")
    from costmodel.cli_args import check_out_file
    check_out_file(out)
    check_out_file(out.with_suffix(".md"), "the summary")
    doc = study_report(storage, args.study, all=args.all)
    html, md = write_report(doc, out)
    print(f"wrote {html} ({len(doc.figures())} figures) and {md}", file=sys.stderr)
    print(html)
    return 0


def add_parsers(sub: argparse._SubParsersAction, bench_sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="HTML + markdown report of studies (plots inline)")
    p.add_argument("study", nargs="*", metavar="STUDY_ID", help="study name or numeric id")
    p.add_argument("--all", action="store_true", help="every study in the store")
    p.add_argument("--storage", default=None,
                   help=f"trial store URL (default: the checkout's {DEFAULT_STORE}, the "
                        "server's default STORE)")
    p.add_argument("--out", default="report.html", help="HTML path; the summary is OUT.md")
    p.set_defaults(func=_report)
