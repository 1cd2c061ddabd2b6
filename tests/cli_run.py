"""Run a CLI's ``main`` in-process: (exit status, stderr), whether it returns a status or
argparse exits."""

from __future__ import annotations


def run_cli(main, argv, capsys) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse rejects the value
        rc = e.code
    return rc, capsys.readouterr().err
