"""Bearer-token authentication as a server interceptor.

Tokens are compared with hmac.compare_digest (constant time). Health checking and
reflection stay open so load balancers and grpcurl work without credentials; admin RPCs
always need the admin token, and are refused outright when none is configured.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

import grpc

#: Methods anyone may call: standard health checking and server reflection.
OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _bearer(metadata: Iterable[tuple[str, str]] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value[len("Bearer "):]
    return None


def _matches(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _deny(handler: grpc.RpcMethodHandler | None, message: str) -> grpc.RpcMethodHandler | None:
    """A handler of the same streaming kind as ``handler`` that rejects the call."""
    if handler is None:  # unknown method: let gRPC answer UNIMPLEMENTED
        return None

    def abort(_request, context: grpc.ServicerContext):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    kind = (handler.request_streaming, handler.response_streaming)
    make = {(False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler}[kind]
    return make(abort, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, token: str | None, admin_token: str | None,
                 admin_methods: frozenset[str]) -> None:
        self.token = token or None
        self.admin_token = admin_token or None
        self.admin_methods = admin_methods

    def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails):
        method = details.method
        if method.startswith(OPEN_PREFIXES):
            return continuation(details)
        given = _bearer(details.invocation_metadata)
        if method in self.admin_methods:
            if not self.admin_token:
                return _deny(continuation(details),
                             "admin RPCs are disabled: the server has no admin token")
            if not _matches(given, self.admin_token):
                return _deny(continuation(details), "missing or wrong admin token")
            return continuation(details)
        if self.token and not (_matches(given, self.token) or _matches(given, self.admin_token)):
            return _deny(continuation(details), "missing or wrong bearer token")
        return continuation(details)
