"""The remaining ic0 imports: identity, status, time, timer, certification, controllers,
performance counters, environment variables, debugging and traps.

Spec: IC interface spec 0.66.0, The System API › Canister status, Canister version, Time,
Global timer, Certified data, Performance counter, Controller check, Replicated execution
check, Environment variables, Debugging aids, Trap.
"""

from __future__ import annotations

from replica_core.execution import wasmtime_fast as fast
from replica_core.execution.interface import Trap, TrapKind
from replica_core.execution.system_api.base import MAX_LOG_MESSAGE, ApiBase, HostTrap

__all__ = ["MiscApi"]

MAX_CERTIFIED_DATA = 32  # spec: certified data is at most 32 bytes
MAX_PRINCIPAL_SIZE = 29  # spec: principals are at most 29 bytes
MAX_ENV_VAR_NAME_SIZE = 128  # resource-limits.md: environment variable name ≤ 128 bytes


class MiscApi(ApiBase):
    """Identity, status, time, certification, counters, env vars, debug_print, trap."""

    __slots__ = ()

    # --- identity and status -------------------------------------------------------------

    def canister_self_size(self) -> int:
        """Size of the canister's own id."""
        return len(self.env.canister_id.raw)

    def canister_self_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the canister's own id."""
        self.copy_blob("ic0.canister_self_copy", self.env.canister_id.raw, dst, offset, size)

    def subnet_self_size(self) -> int:
        """Size of the id of the canister's subnet."""
        return len(self.env.subnet_id.raw)

    def subnet_self_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the id of the canister's subnet."""
        self.copy_blob("ic0.subnet_self_copy", self.env.subnet_id.raw, dst, offset, size)

    def canister_status(self) -> int:
        """1 running, 2 stopping, 3 stopped."""
        return self.env.status

    def canister_version(self) -> int:
        """The canister version."""
        return self.env.version

    def time(self) -> int:
        """The batch time in ns; constant within the execution."""
        return self.env.time

    def global_timer_set(self, timestamp: int) -> int:
        """Set the global timer (0 deactivates it); returns the previous value."""
        previous = self.global_timer if self.global_timer is not None else self.env.global_timer
        self.global_timer = timestamp
        return previous

    def performance_counter(self, counter_type: int) -> int:
        """0: instructions of this execution; 1: of the whole call context so far."""
        if counter_type not in (0, 1):
            raise self.violation(f"ic0.performance_counter: unknown counter type {counter_type}")
        used = self.instructions_used()
        if counter_type == 1:
            return self.call.call_context_instructions + used
        return used

    def instructions_used(self) -> int:
        """Instructions this execution used so far (budget minus the counter)."""
        self.flush_charges()
        counter, caller = self.counter, self.caller
        if counter is None or caller is None:
            return 0
        left = int(fast.global_get(caller, counter, "i64"))
        return max(self.call.instruction_limit - left, 0)

    def in_replicated_execution(self) -> int:
        """1 in replicated execution, 0 otherwise."""
        return 1 if self.replicated else 0

    def is_controller(self, src: int, size: int) -> int:
        """1 if the principal at heap[src:src+size] controls this canister."""
        if size > MAX_PRINCIPAL_SIZE:
            raise self.violation(
                f"ic0.is_controller: invalid principal id: the principal is {size} bytes, "
                f"more than the maximum of {MAX_PRINCIPAL_SIZE}"
            )
        raw = self.read_heap("ic0.is_controller", src, size)
        return 1 if any(c.raw == raw for c in self.env.controllers) else 0

    # --- certification -------------------------------------------------------------------

    def root_key_size(self) -> int:
        """Size of the DER-encoded root public key."""
        return len(self.env.root_key)

    def root_key_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the DER-encoded root public key."""
        self.copy_blob("ic0.root_key_copy", self.env.root_key, dst, offset, size)

    def certified_data_set(self, src: int, size: int) -> None:
        """Set the canister's certified data (at most 32 bytes)."""
        if size > MAX_CERTIFIED_DATA:
            raise self.violation(
                f"ic0_certified_data_set failed because the passed data must be no larger "
                f"than {MAX_CERTIFIED_DATA} bytes. Found {size} bytes."
            )
        self.certified_data = self.read_heap("ic0.certified_data_set", src, size)

    def _certificate(self, name: str) -> bytes:
        certificate = self.env.data_certificate
        if certificate is None or not self.certificate_context:
            raise self.violation(f"ic0.{name}: no data certificate is available")
        return certificate

    def data_certificate_present(self) -> int:
        """1 when a data certificate is available (non-replicated query on the target)."""
        return 1 if self.env.data_certificate is not None and self.certificate_context else 0

    def data_certificate_size(self) -> int:
        """Size of the data certificate; traps without one."""
        return len(self._certificate("data_certificate_size"))

    def data_certificate_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the CBOR data certificate."""
        certificate = self._certificate("data_certificate_copy")
        self.copy_blob("ic0.data_certificate_copy", certificate, dst, offset, size)

    # --- environment variables -----------------------------------------------------------

    def _env_vars(self) -> list[tuple[str, str]]:
        return sorted(self.env.environment_variables)

    def _env_var(self, name: str, index: int) -> tuple[str, str]:
        variables = self._env_vars()
        if index >= len(variables):
            raise self.violation(
                f"ic0.{name}: environment variable index {index} is out of bounds "
                f"(there are {len(variables)} variables)"
            )
        return variables[index]

    def _env_var_name(self, name: str, src: int, size: int) -> str:
        if size > MAX_ENV_VAR_NAME_SIZE:
            raise self.violation(f"ic0.{name}: Variable name is too large.")
        raw = self.read_heap(f"ic0.{name}", src, size)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.violation(
                f"ic0.{name}: Variable name is not a valid UTF-8 string."
            ) from None

    def _env_var_value(self, name: str, src: int, size: int) -> bytes:
        key = self._env_var_name(name, src, size)
        for var_name, value in self.env.environment_variables:
            if var_name == key:
                return value.encode("utf-8")
        raise self.violation(f"ic0.{name}: environment variable '{key}' not found")

    def env_var_count(self) -> int:
        """Number of environment variables."""
        return len(self.env.environment_variables)

    def env_var_name_size(self, index: int) -> int:
        """Size of the name of variable `index` (in name order); traps out of range."""
        return len(self._env_var("env_var_name_size", index)[0].encode("utf-8"))

    def env_var_name_copy(self, index: int, dst: int, offset: int, size: int) -> None:
        """Copy the name of variable `index`."""
        name = self._env_var("env_var_name_copy", index)[0].encode("utf-8")
        self.copy_blob("ic0.env_var_name_copy", name, dst, offset, size)

    def env_var_name_exists(self, name_src: int, name_size: int) -> int:
        """1 if a variable with this UTF-8 name exists."""
        key = self._env_var_name("env_var_name_exists", name_src, name_size)
        return 1 if any(name == key for name, _ in self.env.environment_variables) else 0

    def env_var_value_size(self, name_src: int, name_size: int) -> int:
        """Size of the value of the named variable; traps if it does not exist."""
        return len(self._env_var_value("env_var_value_size", name_src, name_size))

    def env_var_value_copy(
        self, name_src: int, name_size: int, dst: int, offset: int, size: int
    ) -> None:
        """Copy the value of the named variable."""
        value = self._env_var_value("env_var_value_copy", name_src, name_size)
        self.copy_blob("ic0.env_var_value_copy", value, dst, offset, size)

    # --- debugging and traps -------------------------------------------------------------

    def debug_print(self, src: int, size: int) -> None:
        """Append a log record; never traps (an out-of-bounds range logs a notice)."""
        _, length = self._heap()
        if src + size > length:
            self.log(b"(debug_print message out of memory bounds)")
            return
        self.log(self.read_heap("ic0.debug_print", src, min(size, MAX_LOG_MESSAGE)))

    def trap(self, src: int, size: int) -> None:
        """Log the message (as the IC does, `[TRAP]: <message>`) and trap with it."""
        _, length = self._heap()
        if src + size > length:
            raw = b"(trap message out of memory bounds)"
        else:
            raw = self.read_heap("ic0.trap", src, size)
        self.log(b"[TRAP]: " + (raw or b"(no message)"))  # the IC's trap log record
        text = raw.decode("utf-8", errors="replace")
        raise HostTrap(
            Trap(TrapKind.CANISTER_TRAP, f"Canister called `ic0.trap` with message: '{text}'")
        )
