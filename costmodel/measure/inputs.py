"""Seeded random inputs for an entry signature."""

from __future__ import annotations

import numpy as np

from costmodel.errors import InputError
from costmodel.measure.signature import ArgSpec, Signature

#: Integers stay small so sums and products in integer kernels do not overflow.
INT_RANGE = (-4, 5)


def random_input(spec: ArgSpec, rng: np.random.Generator) -> np.ndarray | int | float | bool:
    """A random array (tensor argument) or Python scalar (scalar argument) for one spec."""
    dtype = spec.dtype
    if spec.shape is not None and any(d < 0 for d in spec.shape):
        raise InputError(f"cannot generate an input of dynamic type {spec}; "
                         "give static shapes or pass inputs explicitly")
    shape = spec.shape or ()
    if dtype == np.bool_:
        arr = rng.integers(0, 2, size=shape).astype(np.bool_)
    elif np.issubdtype(dtype, np.unsignedinteger):
        arr = rng.integers(0, INT_RANGE[1], size=shape).astype(dtype)
    elif np.issubdtype(dtype, np.integer):
        arr = rng.integers(*INT_RANGE, size=shape).astype(dtype)
    else:  # floats in [-1, 1): no overflow in f16, no denormals in practice
        arr = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    if spec.shape is None:
        return arr.item()
    return np.array(arr, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)


def make_inputs(signature: Signature, seed: int = 0) -> list[np.ndarray | int | float | bool]:
    """One input per argument, reproducible for a given seed."""
    rng = np.random.default_rng(seed)
    return [random_input(a, rng) for a in signature.args]
