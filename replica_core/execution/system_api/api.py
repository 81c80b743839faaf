"""The System API object of one execution: every ic0 import as a method.

Spec: IC interface spec 0.66.0, The System API › Overview of imports.

`SystemApi` combines the import groups (one module per group of the spec's overview);
`linker.py` binds each of its methods to the `ic0` import of the same name.
"""

from __future__ import annotations

from replica_core.execution.system_api.call import CallApi
from replica_core.execution.system_api.cycles import CyclesApi
from replica_core.execution.system_api.misc import MiscApi
from replica_core.execution.system_api.msg import MsgApi
from replica_core.execution.system_api.stable import StableApi

__all__ = ["SystemApi"]


class SystemApi(MsgApi, CallApi, CyclesApi, StableApi, MiscApi):
    """Everything one execution can observe and change through ic0."""

    __slots__ = ()
