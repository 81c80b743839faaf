"""The Candid types of the management canister's methods, read from `ic.did` next to this file.

Spec: IC interface spec 0.66.0, The IC management canister (Interface overview; the Candid
file `public/references/ic.did` of dfinity/developer-docs, shipped here as `ic.did`).

Every method of `aaaaa-aa` takes exactly one Candid argument (a record, or nothing for
`raw_rand`/`list_canisters`) and returns zero or one value. `decode_arg` coerces the caller's
bytes to the method's argument type (so subtyping rules apply: unknown record fields are
ignored, missing `opt` fields read as `[]`), and `encode_result` encodes a reply at the
method's result types. A caller's side is the inverse pair: `encode_arg` and
`decode_result`. The parsed interface is built once per process (an immutable value).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from replica_core.candid import Func, decode, encode
from replica_core.candid.did import DidFile, load_did
from replica_core.candid.types import CandidType, unroll
from replica_core.errors import CandidError

__all__ = [
    "IC_DID_PATH",
    "arg_types",
    "decode_arg",
    "decode_result",
    "encode_arg",
    "encode_result",
    "interface",
    "method_type",
    "named_type",
    "result_types",
]

IC_DID_PATH = Path(__file__).with_name("ic.did")
"""The management canister interface (`ic.did`), shipped as package data."""


@functools.cache
def interface() -> DidFile:
    """The parsed `ic.did` (types and the `ic` service)."""
    return load_did(IC_DID_PATH)


def method_type(method: str) -> Func | None:
    """The function type of a management method, or None if `ic.did` has no such method."""
    service = interface().service
    if service is None:  # pragma: no cover - ic.did always has its service
        return None
    t = service.method(method)
    if t is None:
        return None
    t = unroll(t)
    return t if isinstance(t, Func) else None


def named_type(name: str) -> CandidType:
    """A type defined in `ic.did` by name, e.g. `canister_status_result`."""
    try:
        return interface().types[name]
    except KeyError:
        raise CandidError(f"ic.did defines no type {name!r}") from None


def arg_types(method: str) -> tuple[CandidType, ...]:
    """The argument types of a management method (raises CandidError if unknown)."""
    f = method_type(method)
    if f is None:
        raise CandidError(f"ic.did has no method {method!r}")
    return f.args


def result_types(method: str) -> tuple[CandidType, ...]:
    """The result types of a management method (raises CandidError if unknown)."""
    f = method_type(method)
    if f is None:
        raise CandidError(f"ic.did has no method {method!r}")
    return f.rets


def decode_arg(method: str, arg: bytes) -> Any:
    """Decode the single argument of `method` (None for methods without arguments).

    Raises `CandidError` when `arg` is not a Candid message of the method's argument type.
    """
    types = arg_types(method)
    values = decode(arg, types)
    return values[0] if types else None


def encode_result(method: str, *values: Any) -> bytes:
    """Encode the reply of `method` from its result values (none for `-> ()`)."""
    return encode(result_types(method), values)


def encode_arg(method: str, value: Any = None) -> bytes:
    """Encode the argument of a call to `method` (`value` is ignored for methods without one)."""
    types = arg_types(method)
    return encode(types, [value] if types else [])


def decode_result(method: str, payload: bytes) -> Any:
    """Decode the reply of `method`: its one result value, or `()` for `-> ()`."""
    values = decode(payload, result_types(method))
    return values[0] if values else ()
