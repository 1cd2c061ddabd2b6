"""Hardware fingerprint: measurements from different machines must not be mixed silently."""

from __future__ import annotations

import hashlib
import os
import platform
from functools import lru_cache


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    info.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    return info


@lru_cache(maxsize=1)
def hardware() -> dict:
    """CPU model, ISA flags, core count and IREE version; ``id`` hashes what affects timing."""
    from iree.compiler import version as iree_version

    info = _cpuinfo()
    flags = sorted(info.get("flags", "").split())
    cpu = info.get("model name") or platform.processor() or platform.machine()
    iree = getattr(iree_version, "VERSION", None) or getattr(iree_version, "PACKAGE_SUFFIX", "?")
    key = "|".join([cpu, " ".join(flags), str(os.cpu_count()), str(iree), platform.machine()])
    return {
        "id": hashlib.sha256(key.encode()).hexdigest()[:16],
        "cpu_model": cpu,
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "flags": flags,
        "iree_version": str(iree),
        # The CPU IREE compiles for as "host": its default schedules depend on it (not in
        # the id, which predates it; the flags above already tell CPUs apart).
        "iree_target_cpu": _iree_host_cpu(),
    }


def _iree_host_cpu() -> str | None:
    try:
        from costmodel.programs.compile import target_info
        return target_info("host").cpu
    except Exception:  # noqa: BLE001 - a fingerprint must not fail on this
        return None


def load() -> list[float]:
    """1, 5 and 15-minute load averages (what else was running while we measured)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []
