"""Map exceptions to gRPC status codes. Clients see a message, never a stack trace."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from costmodel.errors import InputError

log = logging.getLogger("service")
F = TypeVar("F", bound=Callable[..., Any])


def request_id(context: grpc.ServicerContext) -> str:
    """The caller's x-request-id if it sent one, else a fresh id; echoed back in metadata."""
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and value:
            return str(value)[:64]
    return uuid.uuid4().hex[:16]


def handle_errors(method: F) -> F:
    """Run an RPC handler, turning typed errors into status codes with a request id."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        rid = request_id(context)
        context.set_trailing_metadata((("x-request-id", rid),))
        try:
            return method(self, request, context)
        except InputError as exc:
            log.info("request %s %s: invalid argument: %s", rid, method.__name__, exc)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{exc} [request {rid}]")
        except Exception:  # noqa: BLE001 - the one place unexpected errors are contained
            log.exception("request %s %s: internal error", rid, method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error [request {rid}]")

    return wrapper  # type: ignore[return-value]
