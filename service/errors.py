"""Map exceptions to gRPC status codes. Clients see a message, never a stack trace."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from costmodel.errors import InputError
from tuner.errors import StudyNotFoundError, TrialNotFoundError, TrialStateError

log = logging.getLogger("service")
F = TypeVar("F", bound=Callable[..., Any])


class StatusError(Exception):
    """Raise in a handler to answer with this status code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


#: Typed errors -> status codes, most specific first.
_CODES: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (StudyNotFoundError, grpc.StatusCode.NOT_FOUND),
    (TrialNotFoundError, grpc.StatusCode.NOT_FOUND),
    (TrialStateError, grpc.StatusCode.FAILED_PRECONDITION),
    (InputError, grpc.StatusCode.INVALID_ARGUMENT),
)


def request_id(context: grpc.ServicerContext) -> str:
    """The caller's x-request-id if it sent one, else a fresh id; echoed back in metadata."""
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and value:
            return str(value)[:64]
    return os.urandom(8).hex()  # as random as uuid4's first 16 hex digits, at a tenth the cost


def handle_errors(method: F) -> F:
    """Run an RPC handler, turning typed errors into status codes with a request id."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        rid = request_id(context)
        context.set_trailing_metadata((("x-request-id", rid),))
        try:
            return method(self, request, context)
        except StatusError as exc:
            log.info("request %s %s: %s: %s", rid, method.__name__, exc.code.name, exc)
            context.abort(exc.code, f"{exc} [request {rid}]")
        except InputError as exc:
            code = next(c for t, c in _CODES if isinstance(exc, t))
            log.info("request %s %s: %s: %s", rid, method.__name__, code.name, exc)
            context.abort(code, f"{exc} [request {rid}]")
        except Exception:  # noqa: BLE001 - the one place unexpected errors are contained
            log.exception("request %s %s: internal error", rid, method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error [request {rid}]")

    return wrapper  # type: ignore[return-value]
