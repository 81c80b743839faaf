"""Effective canister and subnet ids: parsing them from the URL and checking them.

Spec: IC interface spec 0.66.0, HTTPS interface › Effective canister id, › Effective subnet
id; Abstract behavior › `is_effective_canister_id`.

* A call or query to a canister other than `aaaaa-aa` must name that canister in the URL.
* A management call names the canister it is about in its argument (`canister_id`, or
  `target_canister` for `install_chunked_code`); that must be the URL's id.
  `create_canister` and `provisional_create_canister_with_cycles` accept any id (impl: the
  URL's id is recorded as the call's effective id, so polling `read_state` at the same URL
  finds it), as does the query `list_canisters`.
* A management call whose argument names no canister is left to the admission check, which
  refuses it with the IC's reject (the spec: "rejected regardless of `<ecid>`").
"""

from __future__ import annotations

import functools

from gateway.errors import HttpError
from replica_core.envelope import CallContent, QueryContent
from replica_core.errors import InvalidPrincipal
from replica_core.management import effective_canister_id
from replica_core.principal import Principal

__all__ = [
    "ANY_ID_CALL_METHODS",
    "ANY_ID_QUERY_METHODS",
    "check_effective_canister_id",
    "parse_principal_in_url",
]

ANY_ID_CALL_METHODS = frozenset({"create_canister", "provisional_create_canister_with_cycles"})
"""Management methods whose call accepts any effective canister id."""

ANY_ID_QUERY_METHODS = frozenset({"list_canisters"})
"""Management methods whose query accepts any effective canister id."""


def parse_principal_in_url(text: str, what: str = "canister") -> Principal:
    """The principal of the URL segment `text`, or a 400 naming what was expected."""
    try:
        return _principal_of_text(text)
    except InvalidPrincipal as e:
        raise HttpError(400, f"Invalid effective {what} id in URL {text!r}: {e}") from None


@functools.lru_cache(maxsize=1024)
def _principal_of_text(text: str) -> Principal:
    """(impl) `Principal.from_text`, remembered: clients address the same few canisters in
    every request (a refused text raises each time; principals are immutable)."""
    return Principal.from_text(text)


def check_effective_canister_id(
    content: CallContent | QueryContent, ecid: Principal
) -> Principal | None:
    """Check `ecid` against the request; return the effective id of a management call.

    Raises `HttpError(400)` on a mismatch. The result is `None` for a call to a regular
    canister (its effective id is its own id).
    """
    if not content.canister_id.is_management_canister:
        if content.canister_id != ecid:
            raise HttpError(
                400,
                f"Specified CanisterId {content.canister_id} does not match effective "
                f"canister id in URL {ecid}",
            )
        return None
    method = content.method_name
    any_id = ANY_ID_CALL_METHODS if isinstance(content, CallContent) else ANY_ID_QUERY_METHODS
    if method in any_id:
        return ecid
    named = effective_canister_id(method, content.arg)
    if named is not None and named != ecid:
        raise HttpError(
            400,
            f"Specified CanisterId {named} (the canister of management method {method}) "
            f"does not match effective canister id in URL {ecid}",
        )
    return ecid
