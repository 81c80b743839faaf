"""Code installation: install_code (install, reinstall, upgrade), install_chunked_code and
uninstall_code.

Spec: IC interface spec 0.66.0, The IC management canister › IC method `install_code`,
`install_chunked_code`, `uninstall_code`; Abstract behavior › IC Management Canister: Code
installation / Code upgrade / Install chunked code / Code uninstallation.

Installation is atomic: every step runs on values, and the canister is changed only after
the last Wasm execution succeeded, so any `Reject` leaves the canister as it was (the
scheduler also discards the round's working copy on a reject). Steps:

* install / reinstall: validate the module, instantiate it and run its `(start)` function
  (`executor.initial_state`), then `canister_init(arg)`, both seeing `canister_version + 1`.
* upgrade: run `canister_pre_upgrade` on the old module (unless `skip_pre_upgrade = opt
  true`), instantiate the new module keeping the stable memory (and, with
  `wasm_memory_persistence = opt keep`, the Wasm memory), run `(start)`, then
  `canister_post_upgrade(arg)`.

A missing `canister_init`/`canister_pre_upgrade`/`canister_post_upgrade` export is not an
error. Afterwards: new module and state, version + 1, `last_install_timestamp`, a
`code_deployment` history entry, the global timer reset unless the code set it, certified
data reset on install/reinstall, logs cleared on reinstall.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

from replica_core.canister import CanisterState, InstalledModule
from replica_core.cycles import MAX_INSTRUCTIONS_PER_INSTALL_CODE, freezing_limit
from replica_core.error_codes import no_wasm_module, out_of_cycles, trap_reject
from replica_core.errors import Reject
from replica_core.execution.interface import (
    Context,
    EntryCall,
    EntryKind,
    Environment,
    ExecutionOutcome,
    ExecutionState,
    LogRecord,
    Reply,
    Trap,
    TrapKind,
)
from replica_core.execution.validation import InvalidModule, ValidatedModule, validate_module
from replica_core.management.common import (
    bump_version,
    check_sender_canister_version,
    controlled,
    controlled_change,
    opt,
    record_change,
    reply,
    target,
)
from replica_core.management.logs import append_logs, clear_logs
from replica_core.management.rejects import (
    CANISTER_WASM_MEMORY_LIMIT_EXCEEDED,
    ErrorCode,
    help_suffix,
    invalid_controller,
    user_error,
)
from replica_core.management_context import ManagementContext
from replica_core.principal import Principal

__all__ = [
    "ENHANCED_ORTHOGONAL_PERSISTENCE",
    "chunk_store_error",
    "install_chunked_code",
    "install_code",
    "trap_reject",
    "uninstall",
    "uninstall_code",
]

ENHANCED_ORTHOGONAL_PERSISTENCE = "enhanced-orthogonal-persistence"
"""The `icp:private` custom section that marks a module as keeping its Wasm memory."""


@dataclass(slots=True)
class _Run:
    """What the executions of one installation produced so far."""

    canister: CanisterState
    caller: Principal
    instructions: int = 0
    certified_data: bytes | None = None
    global_timer: int | None = None
    logs: list[LogRecord] = dataclasses.field(default_factory=list)


def _environment(
    ctx: ManagementContext, canister: CanisterState, kind: EntryKind, certified_data: bytes
) -> Environment:
    """What the code observes: `canister_version + 1` and no timer, except in pre_upgrade."""
    pre = kind is EntryKind.PRE_UPGRADE
    return dataclasses.replace(
        ctx.environment(canister),
        version=canister.version + (0 if pre else 1),
        global_timer=canister.global_timer if pre else 0,
        certified_data=certified_data,
    )


def _effects(
    run: _Run, kind: EntryKind, outcome: ExecutionOutcome, state: ExecutionState
) -> ExecutionState | Reject:
    """Collect an execution's effects; a missing export leaves the state as it was."""
    run.instructions += outcome.instructions
    if outcome.trap is not None:
        if outcome.trap.kind is TrapKind.NO_EXPORT:
            return state
        return trap_reject(run.canister.canister_id, outcome.trap)
    run.logs.extend(outcome.logs)
    if outcome.certified_data is not None:
        run.certified_data = outcome.certified_data
    if outcome.global_timer is not None and kind is not EntryKind.PRE_UPGRADE:
        run.global_timer = outcome.global_timer
    return outcome.state if outcome.state is not None else state


def _execute(
    ctx: ManagementContext,
    run: _Run,
    module: object,
    state: ExecutionState,
    kind: EntryKind,
    arg: bytes,
    certified_data: bytes,
) -> ExecutionState | Reject:
    """Run `canister_init`, `canister_pre_upgrade` or `canister_post_upgrade`."""
    call = EntryCall(
        kind=kind,
        context=Context.G if kind is EntryKind.PRE_UPGRADE else Context.I,
        arg=arg,
        caller=run.caller,
        instruction_limit=MAX_INSTRUCTIONS_PER_INSTALL_CODE - run.instructions,
    )
    env = _environment(ctx, run.canister, kind, certified_data)
    return _effects(run, kind, ctx.executor.execute(module, state, call, env), state)


def _instantiate(
    ctx: ManagementContext,
    run: _Run,
    module: object,
    certified_data: bytes,
    *,
    stable_memory: bytes = b"",
    heap: bytes | None = None,
) -> ExecutionState | Reject:
    """A fresh instance of the new module after its `(start)` function.

    The stable memory (and on `keep`, the heap) of the old instance carry over.
    """
    env = _environment(ctx, run.canister, EntryKind.START, certified_data)
    outcome = ctx.executor.initial_state(
        module,
        env,
        stable_memory=stable_memory,
        heap=heap,
        instruction_limit=MAX_INSTRUCTIONS_PER_INSTALL_CODE - run.instructions,
    )
    if outcome.trap is None and outcome.state is None:  # pragma: no cover - sandbox contract
        return trap_reject(run.canister.canister_id, Trap(TrapKind.CANISTER_TRAP, "no state"))
    blank = ExecutionState(b"", (), stable_memory)
    return _effects(run, EntryKind.START, outcome, outcome.state or blank)


def _invalid_wasm(canister_id: Principal, error: InvalidModule) -> Reject:
    """The IC's reject for a module that fails validation or compilation (IC0505)."""
    return user_error(
        ErrorCode.CANISTER_INVALID_WASM,
        f"Error from Canister {canister_id.to_text()}: Canister's Wasm module is not "
        f"valid: {error}",
    )


def _validate(canister_id: Principal, wasm: bytes) -> ValidatedModule | Reject:
    try:
        return validate_module(wasm)
    except InvalidModule as e:
        return _invalid_wasm(canister_id, e)


def _compile(ctx: ManagementContext, canister_id: Principal, wasm: bytes) -> object | Reject:
    try:
        return ctx.executor.compile(wasm)
    except InvalidModule as e:
        return _invalid_wasm(canister_id, e)


def _check_cycles(ctx: ManagementContext, canister: CanisterState, is_64: bool) -> Reject | None:
    """The canister must afford the execution of the whole install (`MAX_CYCLES_PER_MESSAGE`)."""
    needed = ctx.fees.execution_prepayment(MAX_INSTRUCTIONS_PER_INSTALL_CODE, wasm64=is_64)
    threshold = freezing_limit(canister, ctx.fees)
    if canister.balance - threshold >= needed:
        return None
    error = out_of_cycles(canister.canister_id, canister.balance, needed, threshold)
    return user_error(
        ErrorCode.CANISTER_OUT_OF_CYCLES,
        f"Canister installation failed with `{error.message}`."
        + help_suffix("Top up the canister with more cycles.", "install-code-not-enough-cycles"),
    )


def _upgrade_memory(
    options: dict[str, Any] | None,
    old: ValidatedModule | None,
    new: ValidatedModule,
) -> tuple[bool, bool] | Reject:
    """(skip_pre_upgrade, keep_wasm_memory) from the upgrade options, or the IC's reject."""
    options = options or {}
    skip = bool(opt(options.get("skip_pre_upgrade", [])))
    persistence = opt(options.get("wasm_memory_persistence", []))
    kind = None if persistence is None else next(iter(persistence))
    if kind is None and old is not None and ENHANCED_ORTHOGONAL_PERSISTENCE in old.private_metadata:
        return user_error(
            ErrorCode.CANISTER_CONTRACT_VIOLATION,
            "Missing upgrade option: Enhanced orthogonal persistence requires the "
            "`wasm_memory_persistence` upgrade option.",
        )
    if kind == "keep" and ENHANCED_ORTHOGONAL_PERSISTENCE not in new.private_metadata:
        return user_error(
            ErrorCode.CANISTER_CONTRACT_VIOLATION,
            "Invalid upgrade option: The `wasm_memory_persistence: opt Keep` upgrade option "
            "requires that the new canister module supports enhanced orthogonal persistence.",
        )
    return skip, kind == "keep"


def _install(
    ctx: ManagementContext,
    canister: CanisterState,
    mode: dict[str, Any],
    wasm: bytes,
    arg: bytes,
    caller: Principal,
    args: dict[str, Any],
) -> Reply | Reject:
    """Install, reinstall or upgrade `wasm` on `canister` (checks of the caller done)."""
    canister_id = canister.canister_id
    ((mode_name, mode_options),) = mode.items()
    if mode_name == "install" and canister.module is not None:
        return user_error(
            ErrorCode.CANISTER_NON_EMPTY,
            f"Canister {canister_id.to_text()} cannot be installed because the canister is not "
            "empty. Try installing with mode='reinstall' instead."
            + help_suffix(
                "Check that you want to overwrite the canister and, if so, use mode='reinstall'.",
                "canister-not-empty",
            ),
        )
    if mode_name == "upgrade" and (canister.module is None or canister.execution is None):
        return no_wasm_module(canister_id)
    validated = _validate(canister_id, wasm)
    if isinstance(validated, Reject):
        return validated
    shortage = _check_cycles(ctx, canister, validated.is_64)
    if shortage is not None:
        return shortage
    module = _compile(ctx, canister_id, wasm)
    if isinstance(module, Reject):
        return module
    run = _Run(canister, caller)
    if mode_name == "upgrade":
        assert canister.module is not None and canister.execution is not None
        old = _validate(canister_id, canister.module.wasm)
        choice = _upgrade_memory(mode_options and mode_options[0], _ok(old), validated)
        if isinstance(choice, Reject):
            return choice
        skip_pre_upgrade, keep_memory = choice
        intermediate = canister.execution
        if not skip_pre_upgrade:
            old_module = _compile(ctx, canister_id, canister.module.wasm)
            if isinstance(old_module, Reject):
                return old_module
            after = _execute(
                ctx,
                run,
                old_module,
                intermediate,
                EntryKind.PRE_UPGRADE,
                b"",
                canister.certified_data,
            )
            if isinstance(after, Reject):
                return after
            intermediate = after
        certified = (
            run.certified_data if run.certified_data is not None else canister.certified_data
        )
        entry = EntryKind.POST_UPGRADE
        started = _instantiate(
            ctx,
            run,
            module,
            certified,
            stable_memory=intermediate.stable_memory,
            heap=intermediate.heap if keep_memory else None,
        )
    else:
        certified = b""
        entry = EntryKind.INIT
        started = _instantiate(ctx, run, module, certified)
    if isinstance(started, Reject):
        return started
    new_state = _execute(ctx, run, module, started, entry, arg, certified)
    if isinstance(new_state, Reject):
        return new_state
    limit = canister.settings.wasm_memory_limit
    if limit and len(new_state.heap) > limit:
        return user_error(
            CANISTER_WASM_MEMORY_LIMIT_EXCEEDED,
            f"Error from Canister {canister_id.to_text()}: Canister exceeded its current Wasm "
            f"memory limit of {limit} bytes. The peak Wasm memory usage was "
            f"{len(new_state.heap)} bytes.",
        )
    # Every check passed: apply the new code and state.
    ctx.charge_instructions(canister, run.instructions, wasm64=validated.is_64)
    shared_wasm = getattr(ctx.executor, "shared_wasm", None)  # one copy per module (impl)
    if shared_wasm is not None:
        wasm = shared_wasm(wasm)
    canister.module = InstalledModule(wasm, hashlib.sha256(wasm).digest())
    canister.execution = new_state
    if run.certified_data is not None:
        canister.certified_data = run.certified_data
    elif mode_name != "upgrade":
        canister.certified_data = b""
    canister.global_timer = run.global_timer if run.global_timer is not None else 0
    if mode_name == "reinstall":
        clear_logs(canister)
    append_logs(canister, run.logs)
    canister.last_install_time = ctx.time
    bump_version(canister)
    record_change(
        ctx,
        canister,
        caller,
        args,
        {
            "code_deployment": {
                "mode": {mode_name: None},
                "module_hash": canister.module.module_hash,
            }
        },
    )
    return reply("install_code")


def _ok(value: ValidatedModule | Reject) -> ValidatedModule | None:
    return None if isinstance(value, Reject) else value


def install_code(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Install, reinstall or upgrade the canister's code (controllers only)."""
    canister = controlled_change(ctx, args, caller)
    if isinstance(canister, Reject):
        return canister
    return _install(ctx, canister, args["mode"], args["wasm_module"], args["arg"], caller, args)


def chunk_store_error(message: str) -> Reject:
    return user_error(
        ErrorCode.CANISTER_CONTRACT_VIOLATION,
        f"Error from Wasm chunk store: {message}."
        + help_suffix(
            "Use the `stored_chunks` API to check which hashes are present or top up the "
            "canister if it is low on cycles.",
            "wasm-chunk-store-error",
        ),
    )


def install_chunked_code(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Install a module assembled from chunks of a chunk store (this or another canister's)."""
    canister = controlled(ctx, args["target_canister"], caller)
    if isinstance(canister, Reject):
        return canister
    store_id = opt(args.get("store_canister", [])) or canister.canister_id
    store = canister
    if store_id != canister.canister_id:
        found = target(ctx, store_id)
        if isinstance(found, Reject):
            return found
        if not (found.is_controller(caller) or caller == store_id):
            return invalid_controller(store_id, found.controllers, caller)
        store = found
    mismatch = check_sender_canister_version(ctx, args, caller)
    if mismatch is not None:
        return mismatch
    expected: bytes = args["wasm_module_hash"]
    if len(expected) != 32:
        return user_error(
            ErrorCode.CANISTER_CONTRACT_VIOLATION, f"Invalid wasm hash {list(expected)}"
        )
    parts = []
    for entry in args["chunk_hashes_list"]:
        h: bytes = entry["hash"]
        if len(h) != 32:
            return chunk_store_error("Chunk hash is invalid. The length is not 32")
        chunk = store.chunk_store.get(h)
        if chunk is None:
            return chunk_store_error(f"Chunk hash {list(h)} was not found")
        parts.append(chunk)
    wasm = b"".join(parts)
    actual = hashlib.sha256(wasm).digest()
    if actual != expected:
        return chunk_store_error(
            f"Wasm module hash {list(actual)} does not match given hash {list(expected)}"
        )
    return _install(ctx, canister, args["mode"], wasm, args["arg"], caller, args)


def uninstall_code(
    ctx: ManagementContext, args: dict[str, Any], caller: Principal, cycles: int
) -> Reply | Reject:
    """Remove code and state; every open call context of the canister is rejected."""
    canister = controlled_change(ctx, args, caller, or_admin=True)
    if isinstance(canister, Reject):
        return canister
    uninstall(ctx, canister, caller, args)
    return reply("uninstall_code")


def uninstall(
    ctx: ManagementContext, canister: CanisterState, caller: Principal, args: dict[str, Any]
) -> None:
    """Make the canister empty (also used by `take_canister_snapshot` with `uninstall_code`).

    Open call contexts are rejected, code, Wasm state, certified data, timer, chunk store
    and logs are dropped; snapshots stay.
    """
    ctx.reject_call_contexts(
        canister.canister_id,
        user_error(ErrorCode.CANISTER_REJECTED_MESSAGE, "Canister has been uninstalled."),
    )
    canister.module = None
    canister.execution = None
    canister.certified_data = b""
    canister.global_timer = 0
    canister.last_install_time = None
    canister.chunk_store.clear()
    clear_logs(canister)
    bump_version(canister)
    record_change(ctx, canister, caller, args, {"code_uninstall": None})
