"""Prediction targets: which dataset column, and the log transform the regression head fits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.errors import InputError


@dataclass(frozen=True)
class Target:
    name: str
    columns: tuple[str, ...]  # first non-null column wins
    transform: str  # "log" or "log1p"
    unit: str

    def forward(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        return np.log(np.maximum(y, 1e-30)) if self.transform == "log" else np.log1p(y)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        return np.exp(z) if self.transform == "log" else np.maximum(np.expm1(z), 0.0)

    def value(self, row: dict) -> float | None:
        for c in self.columns:
            v = row.get(c)
            if v is not None:
                return float(v)
        return None


#: ``instructions`` is the dynamic callgrind count when measured, otherwise the static
#: instruction count of the compiled kernels (the callgrind column is mostly empty).
TARGETS = {
    "latency": Target("latency", ("latency_median_s",), "log", "s"),
    "instructions": Target("instructions", ("instructions", "static_instructions"), "log",
                           "instructions"),
    "spills": Target("spills", ("spills",), "log1p", "spills"),
    "code_size": Target("code_size", ("vmfb_bytes",), "log", "bytes"),
}


def parse_targets(spec: str | list[str]) -> list[str]:
    names = [t.strip() for t in (spec.split(",") if isinstance(spec, str) else spec) if t.strip()]
    unknown = [t for t in names if t not in TARGETS]
    if unknown or not names:
        raise InputError(f"unknown target(s) {unknown or spec!r}; known: {', '.join(TARGETS)}")
    return list(dict.fromkeys(names))
