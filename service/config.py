"""Server settings, from arguments or the environment (HOST, PORT, TOKEN, ...)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from costmodel.errors import InputError


@dataclass(frozen=True)
class TLSConfig:
    cert: bytes  # PEM server certificate chain
    key: bytes  # PEM private key
    client_ca: bytes | None = None  # PEM CA bundle: set it to require client certificates

    @classmethod
    def from_files(cls, cert: str, key: str, client_ca: str | None = None) -> TLSConfig:
        def read(path: str, what: str) -> bytes:
            try:
                return Path(path).read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read TLS {what} {path}: {exc.strerror}") from None

        return cls(read(cert, "certificate"), read(key, "key"),
                   read(client_ca, "client CA") if client_ca else None)


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"  # loopback unless asked otherwise
    port: int = 50051
    token: str | None = None  # bearer token for ordinary RPCs; None: open
    admin_token: str | None = None  # admin RPCs are refused without one
    tls: TLSConfig | None = None
    max_workers: int = 16
    #: Calls in flight beyond this are refused with RESOURCE_EXHAUSTED instead of queueing.
    max_concurrent_rpcs: int = 256
    #: Where studies live: a tuner storage URL (sqlite:///path or memory:).
    store: str = "memory:"
    #: Directory of trained models (each a costmodel train output), see service/models.py.
    models: str = "models"
    #: The model the "stable" label (and requests naming no model) use; None: models/default.
    stable_model: str | None = None

    @classmethod
    def from_env(cls, **overrides) -> ServerConfig:
        env = os.environ
        tls = None
        if env.get("TLS_CERT") or env.get("TLS_KEY"):
            if not (env.get("TLS_CERT") and env.get("TLS_KEY")):
                raise InputError("TLS needs both TLS_CERT and TLS_KEY")
            tls = TLSConfig.from_files(env["TLS_CERT"], env["TLS_KEY"], env.get("TLS_CLIENT_CA"))
        try:
            port = int(env.get("PORT") or 50051)
        except ValueError:
            raise InputError(f"PORT must be an integer, got {env.get('PORT')!r}") from None
        store = env.get("STORE") or "var/tuner.sqlite"
        if "://" not in store and store != "memory:":
            Path(store).parent.mkdir(parents=True, exist_ok=True)
            store = f"sqlite:///{store}"
        base = cls(host=env.get("HOST") or "127.0.0.1", port=port,
                   token=env.get("TOKEN") or None, admin_token=env.get("ADMIN_TOKEN") or None,
                   tls=tls, store=store, models=env.get("MODELS") or "models")
        if env.get("MODEL"):  # MODEL=models/NAME: serve that directory's model as stable
            model = Path(env["MODEL"])
            if not (model / "manifest.json").exists():
                raise InputError(f"MODEL={model}: no manifest.json there (train one with "
                                 "`costmodel train`)")
            base = cls(**{**base.__dict__, "models": str(model.parent),
                          "stable_model": model.name})
        return cls(**{**base.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
