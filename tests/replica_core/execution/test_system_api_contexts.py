"""Every ic0 import checks its execution context first: the spec's table, in full.

One module imports every ic0 function and exports, per import, an update method that
calls it with all-zero arguments. The sandbox decides the context from
`EntryCall.context` alone, so running that export under each context code shows whether
the import is callable there: a forbidden call traps with the IC's "cannot be executed"
message, an allowed one may succeed or fail its own preconditions, but never that way.
"""

from __future__ import annotations

import pytest

from replica_core.execution.ic0 import CONTEXTS, IC0, imports_for
from replica_core.execution.interface import Context, EntryKind, TrapKind


def _caller_module(is_64: bool) -> str:
    funcs = []
    for name, row in imports_for(is_64).items():
        params = row.params64 if is_64 else row.params32
        results = row.results64 if is_64 else row.results32
        args = " ".join(f"({p}.const 0)" for p in params)
        call = f"(call $ic0.{name} {args})"
        funcs.append(
            f'(func (export "canister_update {name}") '
            + (f"(drop {call})" if results else call)
            + ")"
        )
    return "\n".join(funcs)


def test_every_import_is_callable_exactly_in_its_listed_contexts(wat_canister):
    canister = wat_canister(_caller_module(False))
    mismatches = []
    for name, row in IC0.items():
        for code in CONTEXTS:
            outcome = canister.run(EntryKind.UPDATE, Context(code), name, keep=False)
            forbidden = outcome.trap is not None and "cannot be executed in" in outcome.trap.message
            if forbidden == (code in row.contexts):
                mismatches.append((name, code, outcome.trap))
    assert mismatches == []


@pytest.mark.parametrize(
    ("code", "name", "mode"),
    [
        ("s", "msg_caller_size", "start"),
        ("I", "msg_reply", "init"),
        ("G", "msg_arg_data_size", "pre upgrade"),
        ("U", "data_certificate_size", "update"),
        ("RQ", "call_new", "replicated query"),
        ("NRQ", "call_perform", "non replicated query"),
        ("NRQ", "certified_data_set", "non replicated query"),
        ("TQ", "root_key_size", "non replicated query"),
        ("CQ", "call_cycles_add128", "composite query"),
        ("Ry", "msg_reject_msg_size", "reply callback"),
        ("Rt", "msg_arg_data_size", "reject callback"),
        ("CRy", "global_timer_set", "composite reply callback"),
        ("CRt", "cycles_burn128", "composite reject callback"),
        ("C", "msg_reply", "cleanup"),
        ("CC", "msg_reject_code", "composite cleanup"),
        ("F", "msg_reply", "inspect message"),
        ("T", "msg_arg_data_size", "system task"),
    ],
)
def test_forbidden_context_traps_with_the_ic_message(wat_canister, code, name, mode):
    canister = wat_canister(_caller_module(False))
    outcome = canister.run(EntryKind.UPDATE, Context(code), name)
    assert outcome.trap is not None
    assert outcome.trap.kind is TrapKind.CONTRACT_VIOLATION
    assert outcome.trap.message == (
        f'Canister violated contract: "ic0_{name}" cannot be executed in {mode} mode'
    )
    assert outcome.state is None


def test_wasm64_imports_check_contexts_too(wat_canister):
    canister = wat_canister(_caller_module(True), is_64=True)
    outcome = canister.run(EntryKind.UPDATE, Context.NRQ, "call_new")
    assert outcome.trap is not None
    assert "cannot be executed in non replicated query mode" in outcome.trap.message
    allowed = canister.run(EntryKind.UPDATE, Context.U, "msg_reply")
    assert allowed.trap is None
