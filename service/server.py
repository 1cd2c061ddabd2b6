"""Build and run the gRPC server: costmodel.v1 plus standard health and reflection."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from proto.costmodel.v1 import costmodel_service_pb2 as cm_pb
from proto.costmodel.v1 import costmodel_service_pb2_grpc as cm_grpc
from service.auth import TokenAuthInterceptor
from service.config import ServerConfig
from proto.tuner.v1 import tuner_service_pb2 as tuner_pb
from proto.tuner.v1 import tuner_service_pb2_grpc as tuner_grpc
from service.costmodel_servicer import CostModelServicer
from service.models import ModelRegistry, hardware_notice
from service.tuner_servicer import TunerServicer

log = logging.getLogger("service")

#: Largest request or response; IR over this is refused by gRPC before we parse it.
MAX_MESSAGE_BYTES = 80 * 1024 * 1024
COSTMODEL_SERVICE = cm_pb.DESCRIPTOR.services_by_name["CostModelService"].full_name
TUNER_SERVICE = tuner_pb.DESCRIPTOR.services_by_name["TunerService"].full_name


#: RPCs that change the server; they always need the admin token.
ADMIN_METHODS: frozenset[str] = frozenset({"/costmodel.v1.CostModelService/ReloadModel"})


def _extra_services() -> list:
    """`register(grpc_server, config) -> full service name` of each further service."""
    from service import memory_servicer, schedule_servicer
    return [memory_servicer.register, memory_servicer.register_environment,
            schedule_servicer.register]


class Server:
    def __init__(self, host: str = "127.0.0.1", port: int = 50051, *,
                 config: ServerConfig | None = None) -> None:
        cfg = config or ServerConfig(host=host, port=port)
        host, port = cfg.host, cfg.port
        self.config = cfg
        interceptors = []
        if cfg.token or cfg.admin_token or ADMIN_METHODS:  # admin RPCs always need a token
            interceptors.append(TokenAuthInterceptor(cfg.token, cfg.admin_token, ADMIN_METHODS))
        self.grpc_server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=cfg.max_workers, thread_name_prefix="rpc"),
            interceptors=interceptors,
            maximum_concurrent_rpcs=cfg.max_concurrent_rpcs,
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.so_reuseport", 0)])
        self.models = ModelRegistry(cfg.models, stable=cfg.stable_model)
        cm_grpc.add_CostModelServiceServicer_to_server(CostModelServicer(self.models),
                                                       self.grpc_server)
        tuner_grpc.add_TunerServiceServicer_to_server(TunerServicer(cfg.store), self.grpc_server)
        self.service_names = [COSTMODEL_SERVICE, TUNER_SERVICE]
        # Further services: each adds itself to self.grpc_server and returns its full name.
        for register in _extra_services():
            self.service_names.append(register(self.grpc_server, cfg))
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc_server)
        reflection.enable_server_reflection(
            (*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME),
            self.grpc_server)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if cfg.tls is not None:
            creds = grpc.ssl_server_credentials(
                [(cfg.tls.key, cfg.tls.cert)], root_certificates=cfg.tls.client_ca,
                require_client_auth=cfg.tls.client_ca is not None)
            self.port = self.grpc_server.add_secure_port(address, creds)
        else:
            self.port = self.grpc_server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot bind {address}")
        self.host = host

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self.grpc_server.start()
        for name in ("", *self.service_names):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace: float = 5.0) -> None:
        """Stop taking calls, report NOT_SERVING, and let in-flight calls finish."""
        self.health.enter_graceful_shutdown()
        self.grpc_server.stop(grace).wait()


def _print_hardware_notice(models: ModelRegistry) -> None:
    """Say so when the stable model was trained on another machine's timings."""
    from costmodel.dataset.fingerprint import hardware
    try:
        note = hardware_notice(models.root / models.resolve("stable"), hardware())
    except Exception as exc:  # noqa: BLE001 - a notice must never stop the server
        log.info("no hardware check of the stable model: %s", exc)
        return
    if note:
        print(note, flush=True)


def serve(config: ServerConfig) -> None:
    server = Server(config=config)
    server.start()
    done = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: draining", signum)
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"listening on {server.address}", flush=True)
    _print_hardware_notice(server.models)
    done.wait()
    server.stop()
    print("stopped", flush=True)
