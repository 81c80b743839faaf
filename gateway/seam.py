"""What the gateway uses of the replica core's `Subnet` (DESIGN.md › The one seam).

Spec: none (impl). `replica_core.subnet.Subnet` satisfies `SubnetSeam`; gateway tests may
pass a smaller fake. Beyond DESIGN.md's five methods the gateway needs the pre-consensus
check (`inspect`), the certified canister lookup (`canister`, for management admission and
metadata visibility), the clock (ingress expiry), and the key material for node-signed
query responses and endpoint-scoped delegations (`keys`, `delegation`, `subnet_id`).
`GatewayFront` is the part of it the stateless steps use (a gateway worker process has only
that).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from replica_core.canister import CanisterState
from replica_core.certification.certificate import Certificate, Delegation
from replica_core.certification.hash_tree import Path
from replica_core.errors import Reject
from replica_core.execution.interface import Reply
from replica_core.ingress_history import IngressStatus
from replica_core.messages import Ingress
from replica_core.principal import Principal
from replica_core.types import RequestId

__all__ = ["GatewayFront", "SubnetSeam"]


class GatewayFront(Protocol):
    """What the stateless part of the gateway needs: decoding, authenticating and signing
    need the subnet's id, root key, clock and node keys, but no replicated state. A gateway
    worker process (`gateway.workers`) has exactly this; the replica-core process has the
    whole `SubnetSeam`."""

    subnet_id: Principal
    keys: Any  # replica_core.keys.SubnetKeys: `.nodes[i].node_id / .sign(payload)`
    clock: Any  # `.now() -> int` (ns since the epoch)

    @property
    def root_key(self) -> bytes: ...


class SubnetSeam(Protocol):
    """The subnet as the gateway sees it."""

    subnet_id: Principal
    delegation: Delegation
    keys: Any  # replica_core.keys.SubnetKeys: `.nodes[i].node_id / .sign(payload)`
    clock: Any  # `.now() -> int` (ns since the epoch)
    config: Any  # `.canister_ranges`, `.subnet_admins`

    @property
    def root_key(self) -> bytes: ...

    @property
    def certified_time(self) -> int: ...

    def submit(self, ingress: Ingress) -> RequestId: ...

    def inspect(self, ingress: Ingress) -> Reject | None: ...

    async def wait(self, rid: RequestId, timeout: float) -> IngressStatus | None: ...

    def request_status(self, rid: RequestId) -> IngressStatus | None: ...

    def query(
        self, canister_id: Principal, method_name: str, arg: bytes, sender: Principal
    ) -> Reply | Reject: ...

    def read_state(self, paths: Sequence[Path], sender: Principal) -> Certificate: ...

    def status(self) -> Any: ...

    def canister(self, canister_id: Principal) -> CanisterState | None: ...

    async def run(self, stop: asyncio.Event) -> None: ...
