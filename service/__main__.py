"""`python -m service [--host H] [--port P]`.

Environment: HOST, PORT; TOKEN (bearer token for RPCs), ADMIN_TOKEN (admin RPCs);
TLS_CERT + TLS_KEY (PEM files) for TLS, plus TLS_CLIENT_CA to require client certificates;
STORE: where tuner studies live (a path, default var/tuner.sqlite, or memory:);
MODEL: the model directory served as "stable" (make serve: models/default); MODELS: the root.
"""

from __future__ import annotations

import argparse
import logging
import sys

from costmodel.errors import InputError
from service.config import ServerConfig
from service.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.add_argument("--host", help="bind address (env HOST; default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port, 0 for any (env PORT; default 50051)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # IREE's Python tools log every compiler command line at INFO (the start-up hardware
    # probe runs one); the service's own log is about requests and lifecycle.
    logging.getLogger("iree").setLevel(logging.WARNING)
    try:
        serve(ServerConfig.from_env(host=args.host, port=args.port))
    except (OSError, InputError) as exc:
        print(f"service: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
