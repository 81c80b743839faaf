"""Test data: the ic0 imports of moc-compiled canisters, shared by the tests that check them.

The table of shared/notes/moc-canisters.md: the union of ic0 imports of Motoko canisters
(motoko@3.9.7 / moc 0.13.6 → wasm32, motoko@4.10.0 → wasm64), as
name → (wasm64 signature, wasm32 signature); None = not seen in that flavour. The note
measured no wasm64 canister that uses the cycles API, so the wasm64 signatures marked "spec"
come from the System API table (§3) instead.

`tests/` is not a package, so the tests load this file by path with `runpy.run_path`.
"""

from __future__ import annotations

__all__ = ["MOC_IC0_IMPORTS"]

MOC_IC0_IMPORTS: dict[str, tuple[str | None, str | None]] = {
    "accept_message": (None, "() -> ()"),
    "call_cycles_add128": ("(i64, i64) -> ()", "(i64, i64) -> ()"),
    "call_data_append": ("(i64, i64) -> ()", "(i32, i32) -> ()"),
    "call_new": (
        "(" + ", ".join(["i64"] * 8) + ") -> ()",
        "(" + ", ".join(["i32"] * 8) + ") -> ()",
    ),
    "call_on_cleanup": ("(i64, i64) -> ()", "(i32, i32) -> ()"),
    "call_perform": ("() -> (i32)", "() -> (i32)"),
    "call_with_best_effort_response": ("(i32) -> ()", None),
    "canister_cycle_balance128": ("(i64) -> ()", "(i32) -> ()"),  # wasm64: spec
    "canister_self_copy": ("(i64, i64, i64) -> ()", "(i32, i32, i32) -> ()"),
    "canister_self_size": ("() -> (i64)", "() -> (i32)"),
    "canister_status": ("() -> (i32)", "() -> (i32)"),
    "canister_version": (None, "() -> (i64)"),
    "certified_data_set": ("(i64, i64) -> ()", "(i32, i32) -> ()"),
    "cycles_burn128": (None, "(i64, i64, i32) -> ()"),
    "data_certificate_copy": ("(i64, i64, i64) -> ()", "(i32, i32, i32) -> ()"),
    "data_certificate_present": ("() -> (i32)", "() -> (i32)"),
    "data_certificate_size": ("() -> (i64)", "() -> (i32)"),
    "debug_print": ("(i64, i64) -> ()", "(i32, i32) -> ()"),
    "global_timer_set": ("(i64) -> (i64)", "(i64) -> (i64)"),
    "is_controller": ("(i64, i64) -> (i32)", "(i32, i32) -> (i32)"),
    "msg_arg_data_copy": ("(i64, i64, i64) -> ()", "(i32, i32, i32) -> ()"),
    "msg_arg_data_size": ("() -> (i64)", "() -> (i32)"),
    "msg_caller_copy": ("(i64, i64, i64) -> ()", "(i32, i32, i32) -> ()"),
    "msg_caller_size": ("() -> (i64)", "() -> (i32)"),
    "msg_cycles_accept128": ("(i64, i64, i64) -> ()", "(i64, i64, i32) -> ()"),  # wasm64: spec
    "msg_cycles_available128": ("(i64) -> ()", "(i32) -> ()"),  # wasm64: spec
    "msg_cycles_refunded128": ("(i64) -> ()", "(i32) -> ()"),
    "msg_deadline": (None, "() -> (i64)"),
    "msg_method_name_copy": (None, "(i32, i32, i32) -> ()"),
    "msg_method_name_size": (None, "() -> (i32)"),
    "msg_reject": ("(i64, i64) -> ()", "(i32, i32) -> ()"),
    "msg_reject_code": ("() -> (i32)", "() -> (i32)"),
    "msg_reject_msg_copy": ("(i64, i64, i64) -> ()", "(i32, i32, i32) -> ()"),
    "msg_reject_msg_size": ("() -> (i64)", "() -> (i32)"),
    "msg_reply": ("() -> ()", "() -> ()"),
    "msg_reply_data_append": ("(i64, i64) -> ()", "(i32, i32) -> ()"),
    "performance_counter": ("(i32) -> (i64)", "(i32) -> (i64)"),
    "stable64_grow": ("(i64) -> (i64)", "(i64) -> (i64)"),
    "stable64_read": ("(i64, i64, i64) -> ()", "(i64, i64, i64) -> ()"),
    "stable64_size": ("() -> (i64)", "() -> (i64)"),
    "stable64_write": ("(i64, i64, i64) -> ()", "(i64, i64, i64) -> ()"),
    "time": ("() -> (i64)", "() -> (i64)"),
    "trap": ("(i64, i64) -> ()", "(i32, i32) -> ()"),
}
