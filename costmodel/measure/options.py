"""Compiler options for llvm-cpu builds, turned into explicit iree-compile flags."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace

from costmodel.errors import InputError

_UKERNELS_RE = re.compile(r"^[a-z0-9_]+(,[a-z0-9_]+)*$")

#: valgrind 3.19 cannot execute AVX-512, so instruction counting targets an AVX2 CPU.
CALLGRIND_CPU = "haswell"


@dataclass(frozen=True)
class CompileOptions:
    """What to compile for. Defaults match iree-compile 3.13's own defaults, but every flag
    is passed explicitly so a record stays meaningful if a later compiler changes defaults."""

    target_cpu: str = "host"
    data_tiling: bool = False
    ukernels: str = "none"  # "none", "all", "default" or a comma list such as "mmt4d"
    #: False builds a system .so instead of IREE's embedded ELF; valgrind needs it to see symbols.
    link_embedded: bool = True
    extra_flags: tuple[str, ...] = ()
    #: A schedule that makes the compiler blow up is recorded as infeasible after this long.
    timeout_s: float = 300.0

    def __post_init__(self) -> None:
        if not self.target_cpu or any(c.isspace() for c in self.target_cpu):
            raise InputError(f"target_cpu must be a CPU name, got {self.target_cpu!r}")
        if not _UKERNELS_RE.match(self.ukernels):
            raise InputError(f"ukernels must be 'none', 'all', 'default' or a comma list, "
                             f"got {self.ukernels!r}")
        if isinstance(self.extra_flags, (str, bytes)):
            raise InputError("extra_flags must be a sequence of flags, not one string")
        object.__setattr__(self, "extra_flags", tuple(str(f) for f in self.extra_flags))
        if self.timeout_s <= 0:
            raise InputError(f"timeout_s must be positive, got {self.timeout_s}")

    def flags(self) -> list[str]:
        """iree-compile flags for these options (without input, output or dump paths)."""
        return [
            "--iree-hal-target-backends=llvm-cpu",
            f"--iree-llvmcpu-target-cpu={self.target_cpu}",
            f"--iree-opt-data-tiling={'true' if self.data_tiling else 'false'}",
            f"--iree-llvmcpu-enable-ukernels={self.ukernels}",
            f"--iree-llvmcpu-link-embedded={'true' if self.link_embedded else 'false'}",
            *self.extra_flags,
        ]

    def for_callgrind(self) -> CompileOptions:
        """The same build, retargeted so valgrind can run it and see the kernel symbols."""
        return replace(self, target_cpu=CALLGRIND_CPU, link_embedded=False)

    @property
    def callgrind_ready(self) -> bool:
        return self.target_cpu == CALLGRIND_CPU and not self.link_embedded

    def to_dict(self) -> dict:
        d = asdict(self)
        d["extra_flags"] = list(self.extra_flags)
        return d
