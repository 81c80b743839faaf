"""The table of `ic0` System API imports: signatures for wasm32/wasm64 and allowed contexts.

Spec: IC interface spec 0.66.0, The System API › Overview of imports.

Every function a canister may import from module `ic0` is one `Ic0Import` row, written in
the spec's notation: `I` is the pointer width (i32 for wasm32 modules and modules without
memory, i64 for memory64 modules); fixed-width parameters are spelled out. The comment of
each spec line (where the function may be called from) becomes `contexts`, with `*`
expanded to every context except `s` (the `(start)` function). `wasm32_only` rows are the
spec's second block ("only available if I = i32"). The validator checks imports against
this table; the sandbox (system_api.py) checks `contexts` before running an import.

Context codes (the spec's):

====  =========================================================================
I     `canister_init` or `canister_post_upgrade`
G     `canister_pre_upgrade`
U     an update method
RQ    a query method in replicated mode
NRQ   a query method in non-replicated mode
TQ    a query method used as an HTTP-outcall transform
CQ    a composite query method
Ry    a reply callback                 CRy  a reply callback in a composite query
Rt    a reject callback                CRt  a reject callback in a composite query
C     a cleanup callback               CC   a cleanup callback in a composite query
F     `canister_inspect_message`
T     a system task (heartbeat, global timer, on low wasm memory)
s     the `(start)` function
====  =========================================================================

`msg_deadline` is listed in the spec as callable from `U Q CQ Ry Rt CRy CRt`; `Q` is read
as the query contexts `RQ NRQ TQ` (as the project's spec digest says).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALL_CONTEXTS",
    "CONTEXTS",
    "IC0",
    "IC0_MODULE",
    "Ic0Import",
    "imports_for",
    "signature",
]

IC0_MODULE = "ic0"

CONTEXTS: dict[str, str] = {
    "I": "canister_init or canister_post_upgrade",
    "G": "canister_pre_upgrade",
    "U": "update method",
    "RQ": "query method in replicated mode",
    "NRQ": "query method in non-replicated mode",
    "TQ": "query method used as an HTTP-outcall transform",
    "CQ": "composite query method",
    "Ry": "reply callback",
    "Rt": "reject callback",
    "CRy": "reply callback in a composite query",
    "CRt": "reject callback in a composite query",
    "C": "cleanup callback",
    "CC": "cleanup callback in a composite query",
    "F": "canister_inspect_message",
    "T": "system task (heartbeat, global timer, on low wasm memory)",
    "s": "the (start) function",
}

# `*` in the spec: every context except the start function.
ALL_CONTEXTS: frozenset[str] = frozenset(CONTEXTS) - {"s"}


@dataclass(frozen=True, slots=True)
class Ic0Import:
    """One `ic0` import: its signature for each pointer width and where it may be called.

    For `wasm32_only` imports `params64`/`results64` are empty and unused.
    """

    name: str
    params32: tuple[str, ...]
    results32: tuple[str, ...]
    params64: tuple[str, ...]
    results64: tuple[str, ...]
    contexts: frozenset[str]
    wasm32_only: bool = False


def _contexts(spec: str) -> frozenset[str]:
    contexts: set[str] = set()
    for code in spec.split():
        if code == "*":
            contexts |= ALL_CONTEXTS
        elif code == "Q":
            contexts |= {"RQ", "NRQ", "TQ"}
        elif code in CONTEXTS:
            contexts.add(code)
        else:
            raise ValueError(f"unknown context code {code!r}")
    return frozenset(contexts)


def _types(spec: str, pointer: str) -> tuple[str, ...]:
    return tuple(pointer if t == "I" else t for t in spec.split())


def _row(name: str, params: str, results: str, contexts: str) -> Ic0Import:
    return Ic0Import(
        name=name,
        params32=_types(params, "i32"),
        results32=_types(results, "i32"),
        params64=_types(params, "i64"),
        results64=_types(results, "i64"),
        contexts=_contexts(contexts),
    )


def _row32(name: str, params: str, results: str, contexts: str) -> Ic0Import:
    return Ic0Import(
        name=name,
        params32=_types(params, "i32"),
        results32=_types(results, "i32"),
        params64=(),
        results64=(),
        contexts=_contexts(contexts),
        wasm32_only=True,
    )


# fmt: off
_ROWS: tuple[Ic0Import, ...] = (
    # name                               params                 results  callable from
    _row("msg_arg_data_size",            "",                    "I",     "I U RQ NRQ TQ CQ Ry CRy F"),
    _row("msg_arg_data_copy",            "I I I",               "",      "I U RQ NRQ TQ CQ Ry CRy F"),
    _row("msg_caller_size",              "",                    "I",     "*"),
    _row("msg_caller_copy",              "I I I",               "",      "*"),
    _row("msg_caller_info_data_size",    "",                    "I",     "U RQ NRQ CQ Ry Rt CRy CRt C CC F"),
    _row("msg_caller_info_data_copy",    "I I I",               "",      "U RQ NRQ CQ Ry Rt CRy CRt C CC F"),
    _row("msg_caller_info_signer_size",  "",                    "I",     "U RQ NRQ CQ Ry Rt CRy CRt C CC F"),
    _row("msg_caller_info_signer_copy",  "I I I",               "",      "U RQ NRQ CQ Ry Rt CRy CRt C CC F"),
    _row("msg_reject_code",              "",                    "i32",   "Ry Rt CRy CRt C"),
    _row("msg_reject_msg_size",          "",                    "I",     "Rt CRt"),
    _row("msg_reject_msg_copy",          "I I I",               "",      "Rt CRt"),
    _row("msg_deadline",                 "",                    "i64",   "U Q CQ Ry Rt CRy CRt"),
    _row("msg_reply_data_append",        "I I",                 "",      "U RQ NRQ TQ CQ Ry Rt CRy CRt"),
    _row("msg_reply",                    "",                    "",      "U RQ NRQ TQ CQ Ry Rt CRy CRt"),
    _row("msg_reject",                   "I I",                 "",      "U RQ NRQ TQ CQ Ry Rt CRy CRt"),
    _row("msg_cycles_available128",      "I",                   "",      "U RQ Rt Ry"),
    _row("msg_cycles_refunded128",       "I",                   "",      "Rt Ry"),
    _row("msg_cycles_accept128",         "i64 i64 I",           "",      "U RQ Rt Ry"),
    _row("cycles_burn128",               "i64 i64 I",           "",      "I G U RQ Ry Rt C T"),
    _row("canister_self_size",           "",                    "I",     "*"),
    _row("canister_self_copy",           "I I I",               "",      "*"),
    _row("canister_cycle_balance128",    "I",                   "",      "*"),
    _row("canister_liquid_cycle_balance128", "I",               "",      "*"),
    _row("canister_status",              "",                    "i32",   "*"),
    _row("canister_version",             "",                    "i64",   "*"),
    _row("subnet_self_size",             "",                    "I",     "*"),
    _row("subnet_self_copy",             "I I I",               "",      "*"),
    _row("msg_method_name_size",         "",                    "I",     "F"),
    _row("msg_method_name_copy",         "I I I",               "",      "F"),
    _row("accept_message",               "",                    "",      "F"),
    _row("call_new",                     "I I I I I I I I",     "",      "U CQ Ry Rt CRy CRt T"),
    _row("call_on_cleanup",              "I I",                 "",      "U CQ Ry Rt CRy CRt T"),
    _row("call_data_append",             "I I",                 "",      "U CQ Ry Rt CRy CRt T"),
    _row("call_with_best_effort_response", "i32",               "",      "U CQ Ry Rt CRy CRt T"),
    _row("call_cycles_add128",           "i64 i64",             "",      "U Ry Rt T"),
    _row("call_perform",                 "",                    "i32",   "U CQ Ry Rt CRy CRt T"),
    _row("stable64_size",                "",                    "i64",   "* s"),
    _row("stable64_grow",                "i64",                 "i64",   "* s"),
    _row("stable64_write",               "i64 i64 i64",         "",      "* s"),
    _row("stable64_read",                "i64 i64 i64",         "",      "* s"),
    _row("root_key_size",                "",                    "I",     "I G U RQ Ry Rt C T"),
    _row("root_key_copy",                "I I I",               "",      "I G U RQ Ry Rt C T"),
    _row("certified_data_set",           "I I",                 "",      "I G U Ry Rt T"),
    _row("data_certificate_present",     "",                    "i32",   "*"),
    _row("data_certificate_size",        "",                    "I",     "NRQ CQ"),
    _row("data_certificate_copy",        "I I I",               "",      "NRQ CQ"),
    _row("time",                         "",                    "i64",   "*"),
    _row("global_timer_set",             "i64",                 "i64",   "I G U Ry Rt C T"),
    _row("performance_counter",          "i32",                 "i64",   "* s"),
    _row("is_controller",                "I I",                 "i32",   "* s"),
    _row("in_replicated_execution",      "",                    "i32",   "* s"),
    _row("cost_call",                    "i64 i64 I",           "",      "* s"),
    _row("cost_create_canister",         "I",                   "",      "* s"),
    _row("cost_http_request",            "i64 i64 I",           "",      "* s"),
    _row("cost_sign_with_ecdsa",         "I I i32 I",           "i32",   "* s"),
    _row("cost_sign_with_schnorr",       "I I i32 I",           "i32",   "* s"),
    _row("cost_vetkd_derive_key",        "I I i32 I",           "i32",   "* s"),
    _row("env_var_count",                "",                    "I",     "*"),
    _row("env_var_name_size",            "I",                   "I",     "*"),
    _row("env_var_name_copy",            "I I I I",             "",      "*"),
    _row("env_var_name_exists",          "I I",                 "i32",   "*"),
    _row("env_var_value_size",           "I I",                 "I",     "*"),
    _row("env_var_value_copy",           "I I I I I",           "",      "*"),
    _row("debug_print",                  "I I",                 "",      "* s"),
    _row("trap",                         "I I",                 "",      "* s"),
    # Only when I = i32 (32-bit memory or no memory); the stable_* four are DEPRECATED.
    _row32("msg_cycles_available",       "",                    "i64",   "U RQ Rt Ry"),
    _row32("msg_cycles_refunded",        "",                    "i64",   "Rt Ry"),
    _row32("msg_cycles_accept",          "i64",                 "i64",   "U RQ Rt Ry"),
    _row32("canister_cycle_balance",     "",                    "i64",   "*"),
    _row32("call_cycles_add",            "i64",                 "",      "U Ry Rt T"),
    _row32("stable_size",                "",                    "i32",   "* s"),
    _row32("stable_grow",                "i32",                 "i32",   "* s"),
    _row32("stable_write",               "i32 i32 i32",         "",      "* s"),
    _row32("stable_read",                "i32 i32 i32",         "",      "* s"),
)
# fmt: on

IC0: dict[str, Ic0Import] = {row.name: row for row in _ROWS}
"""Every `ic0` import of the spec, by name."""


def imports_for(is_64: bool) -> dict[str, Ic0Import]:
    """The imports available to a module of the given pointer width."""
    return {name: row for name, row in IC0.items() if not (is_64 and row.wasm32_only)}


def signature(name: str, is_64: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (params, results) value type names of `ic0.<name>` for the pointer width.

    Raises `KeyError` if the import does not exist for that pointer width (unknown name,
    or a wasm32-only import asked for a wasm64 module).
    """
    row = IC0.get(name)
    if row is None:
        raise KeyError(f"ic0.{name} is not a System API import")
    if is_64:
        if row.wasm32_only:
            raise KeyError(f"ic0.{name} is only available to wasm32 modules")
        return row.params64, row.results64
    return row.params32, row.results32
