"""The System API (ic0) of one execution, split by the spec's import groups.

Spec: IC interface spec 0.66.0, The System API.

`base` (state and helpers), `msg`, `call`, `cycles`, `stable`, `misc` (one method per
import), `api` (`SystemApi`, all groups), `linker` (binding to wasmtime).
"""

from __future__ import annotations

from replica_core.execution.system_api.api import SystemApi
from replica_core.execution.system_api.base import (
    MAX_STABLE_MEMORY,
    MODE_NAMES,
    HostTrap,
    PendingCall,
)
from replica_core.execution.system_api.linker import ApiSlot, build_linker

__all__ = [
    "MAX_STABLE_MEMORY",
    "MODE_NAMES",
    "ApiSlot",
    "HostTrap",
    "PendingCall",
    "SystemApi",
    "build_linker",
]
