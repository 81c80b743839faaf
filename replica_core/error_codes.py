"""The IC's user-facing error codes (`IC0xxx`) and the reject messages built on them.

Spec: IC interface spec 0.66.0, Overview › Reject codes (the `error_code` field is left to
the implementation; it must match `IC[0-9]+`).

Numbers and wording follow the IC replica (impl, `dfinity/ic` rs/types/src/user_error.rs
`ErrorCode`, current numbering: method-not-found and module-not-found moved from IC0302 and
IC0304 to IC0536 and IC0537). The leading digit of a code is its reject code.
"""

from __future__ import annotations

from enum import IntEnum

from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import Trap, TrapKind
from replica_core.principal import Principal

__all__ = [
    "ErrorCode",
    "canister_not_found",
    "did_not_reply",
    "method_not_found",
    "no_wasm_module",
    "out_of_cycles",
    "reject",
    "trap_reject",
]


class ErrorCode(IntEnum):
    """`ErrorCode` of the IC replica; `str(code)` is the wire form `IC0xxx`."""

    SUBNET_OVERSUBSCRIBED = 101
    MAX_NUMBER_OF_CANISTERS_REACHED = 102
    CANISTER_QUEUE_FULL = 201
    INGRESS_MESSAGE_TIMEOUT = 202
    CANISTER_QUEUE_NOT_EMPTY = 203
    INGRESS_HISTORY_FULL = 204
    CANISTER_ID_ALREADY_EXISTS = 205
    STOP_CANISTER_REQUEST_TIMEOUT = 206
    CANISTER_OUT_OF_CYCLES = 207
    CERTIFIED_STATE_UNAVAILABLE = 208
    CANISTER_NOT_FOUND = 301
    CANISTER_SNAPSHOT_NOT_FOUND = 305
    INSUFFICIENT_MEMORY_ALLOCATION = 402
    INSUFFICIENT_CYCLES_FOR_CREATE_CANISTER = 403
    SUBNET_NOT_FOUND = 404
    CANISTER_NOT_HOSTED_BY_SUBNET = 405
    CANISTER_REJECTED_MESSAGE = 406
    UNKNOWN_MANAGEMENT_MESSAGE = 407
    INVALID_MANAGEMENT_PAYLOAD = 408
    CANISTER_SNAPSHOT_IMMUTABLE = 409
    CANISTER_TRAPPED = 502
    CANISTER_CALLED_TRAP = 503
    CANISTER_CONTRACT_VIOLATION = 504
    CANISTER_INVALID_WASM = 505
    CANISTER_DID_NOT_REPLY = 506
    CANISTER_OUT_OF_MEMORY = 507
    CANISTER_STOPPED = 508
    CANISTER_STOPPING = 509
    CANISTER_NOT_STOPPED = 510
    CANISTER_STOPPING_CANCELLED = 511
    CANISTER_INVALID_CONTROLLER = 512
    CANISTER_FUNCTION_NOT_FOUND = 513
    CANISTER_NON_EMPTY = 514
    QUERY_CALL_GRAPH_LOOP_DETECTED = 517
    INSUFFICIENT_CYCLES_IN_CALL = 520
    CANISTER_WASM_ENGINE_ERROR = 521
    CANISTER_INSTRUCTION_LIMIT_EXCEEDED = 522
    CANISTER_MEMORY_ACCESS_LIMIT_EXCEEDED = 524
    QUERY_CALL_GRAPH_TOO_DEEP = 525
    QUERY_CALL_GRAPH_TOTAL_INSTRUCTION_LIMIT_EXCEEDED = 526
    COMPOSITE_QUERY_CALLED_IN_REPLICATED_MODE = 527
    QUERY_TIME_LIMIT_EXCEEDED = 528
    QUERY_CALL_GRAPH_INTERNAL = 529
    CANISTER_METHOD_NOT_FOUND = 536
    CANISTER_WASM_MODULE_NOT_FOUND = 537
    CANISTER_ALREADY_INSTALLED = 538
    CANISTER_WASM_MEMORY_LIMIT_EXCEEDED = 539
    RESERVED_CYCLES_LIMIT_IS_TOO_LOW = 540
    DEADLINE_EXPIRED = 601
    RESPONSE_DROPPED = 602

    def __str__(self) -> str:
        return f"IC{self.value:04d}"

    @property
    def reject_code(self) -> RejectCode:
        """The reject code is the leading digit of the error code."""
        return RejectCode(self.value // 100)


def reject(code: ErrorCode, message: str) -> Reject:
    """A `Reject` carrying `code`'s reject code, the message and the `IC0xxx` string."""
    return Reject(code.reject_code, message, str(code))


def canister_not_found(canister_id: Principal) -> Reject:
    return reject(ErrorCode.CANISTER_NOT_FOUND, f"Canister {canister_id} not found")


def method_not_found(canister_id: Principal, kind: str, method: str) -> Reject:
    """`kind` is "update" or "query", as in the IC's message."""
    return reject(
        ErrorCode.CANISTER_METHOD_NOT_FOUND,
        f"Error from Canister {canister_id}: Canister has no {kind} method '{method}'.",
    )


def no_wasm_module(canister_id: Principal) -> Reject:
    return reject(
        ErrorCode.CANISTER_WASM_MODULE_NOT_FOUND,
        f"Error from Canister {canister_id}: Attempted to execute a message, but the "
        "canister contains no Wasm module.",
    )


def did_not_reply(canister_id: Principal) -> Reject:
    return reject(
        ErrorCode.CANISTER_DID_NOT_REPLY,
        f"Canister {canister_id} did not produce a response",
    )


def out_of_cycles(canister_id: Principal, available: int, requested: int, threshold: int) -> Reject:
    """The IC's `CanisterOutOfCyclesError` wording."""
    missing = requested + threshold - available
    return reject(
        ErrorCode.CANISTER_OUT_OF_CYCLES,
        f"Canister {canister_id} is out of cycles: please top up the canister with at "
        f"least {missing} additional cycles",
    )


def trap_reject(canister_id: Principal, trap: Trap) -> Reject:
    """The reject a caller sees when the execution handling its call trapped.

    The one mapping from `TrapKind` to the IC's `HypervisorError` codes: out of
    instructions IC0522, contract violation IC0504, the canister's `wasm_memory_limit`
    IC0539 (other out-of-memory IC0507), a missing export IC0536, `ic0.trap` IC0503, any
    other Wasm trap IC0502.
    """
    if trap.kind is TrapKind.OUT_OF_INSTRUCTIONS:
        code = ErrorCode.CANISTER_INSTRUCTION_LIMIT_EXCEEDED
    elif trap.kind is TrapKind.CONTRACT_VIOLATION:
        code = ErrorCode.CANISTER_CONTRACT_VIOLATION
    elif trap.kind is TrapKind.OUT_OF_MEMORY:
        code = (
            ErrorCode.CANISTER_WASM_MEMORY_LIMIT_EXCEEDED
            if "wasm memory limit" in trap.message.lower()
            else ErrorCode.CANISTER_OUT_OF_MEMORY
        )
    elif trap.kind is TrapKind.NO_EXPORT:
        code = ErrorCode.CANISTER_METHOD_NOT_FOUND
    elif trap.message.startswith("Canister called `ic0.trap`"):
        code = ErrorCode.CANISTER_CALLED_TRAP
    else:
        code = ErrorCode.CANISTER_TRAPPED
    return reject(code, f"Error from Canister {canister_id}: {trap.message}")
