"""The management canister's rejects: the IC's error codes and its message wording.

Spec: IC interface spec 0.66.0, Overview › Reject codes, and HTTPS interface › Request status
(`error_code`). The numbering is `replica_core.error_codes.ErrorCode` (the IC's; the first
digit is the reject code), and the messages follow rs/execution_environment
(canister_manager/types.rs `CanisterManagerError` → `UserError`, canister_settings.rs,
execution_environment.rs) so that clients see the texts they know.

`Reject.message` never carries the `IC0xxx: ` prefix; `error_code` holds it. (The IC
prefixes the code when the reject goes back to a calling canister; that is the scheduler's
business.) The "additional help" the IC appends to some messages is reproduced by `help_suffix`.
"""

from __future__ import annotations

from collections.abc import Iterable

from replica_core.error_codes import ErrorCode
from replica_core.errors import Reject, RejectCode
from replica_core.principal import Principal

__all__ = [
    "CANISTER_ALREADY_INSTALLED",
    "CANISTER_SNAPSHOT_IMMUTABLE",
    "CANISTER_WASM_MEMORY_LIMIT_EXCEEDED",
    "RESERVED_CYCLES_LIMIT_IS_TOO_LOW",
    "ErrorCode",
    "candid_decode_error",
    "canister_not_found",
    "help_suffix",
    "invalid_controller",
    "invalid_settings",
    "method_not_found",
    "only_canisters",
    "sender_canister_version_mismatch",
    "user_error",
]


# Aliases kept for the management modules (the codes live in `error_codes.ErrorCode`).
CANISTER_SNAPSHOT_IMMUTABLE = ErrorCode.CANISTER_SNAPSHOT_IMMUTABLE
CANISTER_ALREADY_INSTALLED = ErrorCode.CANISTER_ALREADY_INSTALLED
CANISTER_WASM_MEMORY_LIMIT_EXCEEDED = ErrorCode.CANISTER_WASM_MEMORY_LIMIT_EXCEEDED
RESERVED_CYCLES_LIMIT_IS_TOO_LOW = ErrorCode.RESERVED_CYCLES_LIMIT_IS_TOO_LOW


_DOCS = "http://internetcomputer.org/docs/current/references/execution-errors#"


def help_suffix(suggestion: str, section: str) -> str:
    """The IC's `ErrorHelp` suffix: a suggestion and a link to the execution-errors page."""
    return f"\n{suggestion} See documentation: {_DOCS}{section}"


def user_error(code: ErrorCode | int, message: str) -> Reject:
    """A reject carrying the IC error code `code` (its first digit is the reject code)."""
    n = int(code)
    return Reject(RejectCode(n // 100), message, f"IC{n:04d}")


def candid_decode_error(detail: str) -> Reject:
    """The argument is not valid Candid of the method's argument type."""
    return user_error(ErrorCode.INVALID_MANAGEMENT_PAYLOAD, f"Error decoding candid: {detail}")


def method_not_found(method: str) -> Reject:
    """The management canister has no such method (or not on this kind of instance)."""
    return user_error(
        ErrorCode.CANISTER_METHOD_NOT_FOUND, f"Management canister has no method '{method}'"
    )


def only_canisters(method: str) -> Reject:
    """An ingress message for a method only canisters may call."""
    return user_error(
        ErrorCode.CANISTER_REJECTED_MESSAGE, f"Only canisters can call ic00 method {method}"
    )


def canister_not_found(canister_id: Principal) -> Reject:
    """The canister does not exist on this subnet."""
    return user_error(
        ErrorCode.CANISTER_NOT_FOUND,
        f"Canister {canister_id.to_text()} not found."
        + help_suffix(
            "Check the ICP dashboard to ensure the canister exists.", "canister-not-found"
        ),
    )


def invalid_controller(
    canister_id: Principal, controllers: Iterable[Principal], sender: Principal
) -> Reject:
    """The caller is not a controller of the canister."""
    listed = " ".join(p.to_text() for p in sorted(controllers))
    return user_error(
        ErrorCode.CANISTER_INVALID_CONTROLLER,
        f"Only the controllers of the canister {canister_id.to_text()} can control it.\n"
        f"Canister's controllers: {listed}\n"
        f"Sender's ID: {sender.to_text()}"
        + help_suffix(
            "Execute this call from a controller of the target canister or add the current "
            "caller as a controller.",
            "invalid-controller",
        ),
    )


def invalid_settings(message: str) -> Reject:
    """Settings that do not validate (controllers count, memory threshold, ...)."""
    return user_error(
        ErrorCode.CANISTER_CONTRACT_VIOLATION,
        f"Could not validate the settings: {message} "
        + help_suffix(
            "Apply the described changes to make the settings valid.", "invalid-settings"
        ),
    )


def sender_canister_version_mismatch(given: int, actual: int) -> Reject:
    """`sender_canister_version` differs from the calling canister's version."""
    return user_error(
        ErrorCode.CANISTER_CONTRACT_VIOLATION,
        f"Management canister call payload includes sender canister version Some({given}) "
        f"that does not match the actual sender canister version {actual}.",
    )
