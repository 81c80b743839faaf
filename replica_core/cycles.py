"""Cycles accounting: the fee table, prepayments, refunds and the freezing threshold.

Spec: IC interface spec 0.66.0, Abstract behavior › Cycles (the spec leaves the amounts to
the implementation) and Management canister › Canister settings (freezing threshold).

The amounts are the IC's, for a 13-node application subnet: `dfinity/ic`
rs/config/src/subnet_config.rs, `CyclesAccountManagerConfig::application_subnet()`, and the
formulas follow rs/cycles_account_manager (`CyclesAccountManager`): costs scale with
`subnet_size / reference_subnet_size` (13/13 here), executions are prepaid for the whole
instruction limit and the unused part is refunded, calls prepay the largest response and
its execution, and the freezing threshold is what the canister burns idling for
`freezing_threshold` seconds. Names of the quantities are the IC's (impl).
"""

from __future__ import annotations

from dataclasses import dataclass

from replica_core.canister import CanisterState

__all__ = [
    "APPLICATION_SUBNET_FEES",
    "GIB",
    "MAX_INSTRUCTIONS_PER_INSTALL_CODE",
    "MAX_INSTRUCTIONS_PER_MESSAGE",
    "MAX_INTER_CANISTER_PAYLOAD_IN_BYTES",
    "SECONDS_PER_DAY",
    "SYSTEM_SUBNET_FEES",
    "FeeTable",
    "freezing_limit",
    "idle_cycles_burned_per_day",
    "liquid_balance",
    "memory_usage",
]

GIB = 1024 * 1024 * 1024
SECONDS_PER_DAY = 24 * 60 * 60

MAX_INSTRUCTIONS_PER_MESSAGE = 40_000_000_000
"""Instruction limit of an update message (subnet_config.rs `MAX_INSTRUCTIONS_PER_MESSAGE`)."""

MAX_INSTRUCTIONS_PER_INSTALL_CODE = 300_000_000_000
"""Instruction limit of `install_code` (subnet_config.rs)."""

MAX_INTER_CANISTER_PAYLOAD_IN_BYTES = 2 * 1024 * 1024
"""Largest request or response payload between canisters (ic_types::messages, 2 MiB)."""


@dataclass(frozen=True, slots=True)
class FeeTable:
    """The fees of one subnet type (`CyclesAccountManagerConfig`), and the costs built on them."""

    reference_subnet_size: int = 13
    subnet_size: int = 13
    canister_creation_fee: int = 500_000_000_000
    compute_percent_allocated_per_second_fee: int = 10_000_000
    update_message_execution_fee: int = 5_000_000
    ten_update_instructions_execution_fee: int = 10
    ten_update_instructions_execution_fee_wasm64: int = 20  # WASM64_INSTRUCTION_COST_OVERHEAD 2
    xnet_call_fee: int = 260_000
    xnet_byte_transmission_fee: int = 1_000
    ingress_message_reception_fee: int = 1_200_000
    ingress_byte_reception_fee: int = 2_000
    gib_storage_per_second_fee: int = 127_000  # 4 SDR per GiB per year
    duration_between_allocation_charges_ns: int = 10 * 1_000_000_000
    ecdsa_signature_fee: int = 10_000_000_000
    schnorr_signature_fee: int = 10_000_000_000
    vetkd_fee: int = 10_000_000_000
    http_request_linear_baseline_fee: int = 3_000_000
    http_request_quadratic_baseline_fee: int = 60_000
    http_request_per_byte_fee: int = 400
    http_response_per_byte_fee: int = 800
    max_instructions_per_message: int = MAX_INSTRUCTIONS_PER_MESSAGE

    def scale(self, cycles: int) -> int:
        """Scale a reference cost to this subnet's size (`scale_cost`)."""
        return cycles * self.subnet_size // max(self.reference_subnet_size, 1)

    # --- execution ---------------------------------------------------------------------

    def execution_cost(self, instructions: int, *, wasm64: bool = False) -> int:
        """Cycles for one update-type execution that used `instructions`."""
        ten = (
            self.ten_update_instructions_execution_fee_wasm64
            if wasm64
            else self.ten_update_instructions_execution_fee
        )
        return self.scale(self.update_message_execution_fee + instructions * ten // 10)

    def execution_prepayment(self, instruction_limit: int, *, wasm64: bool = False) -> int:
        """What is reserved before an execution: its cost at the full instruction limit."""
        return self.execution_cost(instruction_limit, wasm64=wasm64)

    def execution_refund(
        self, instruction_limit: int, instructions_used: int, *, wasm64: bool = False
    ) -> int:
        """What comes back after an execution: the prepayment for the unused instructions."""
        unused = max(instruction_limit - instructions_used, 0)
        ten = (
            self.ten_update_instructions_execution_fee_wasm64
            if wasm64
            else self.ten_update_instructions_execution_fee
        )
        return self.scale(unused * ten // 10)

    # --- ingress -----------------------------------------------------------------------

    def ingress_induction_cost(self, size: int) -> int:
        """Charged to the receiving canister when an ingress message is inducted."""
        return self.scale(
            self.ingress_message_reception_fee + self.ingress_byte_reception_fee * size
        )

    # --- inter-canister calls ----------------------------------------------------------

    def xnet_call_bytes_fee(self, size: int) -> int:
        return self.scale(self.xnet_byte_transmission_fee * size)

    def response_transmission_prepayment(self) -> int:
        """Reserved for the largest possible response (refunded for the unused bytes)."""
        return self.xnet_call_bytes_fee(MAX_INTER_CANISTER_PAYLOAD_IN_BYTES)

    def response_execution_prepayment(self, *, wasm64: bool = False) -> int:
        """Reserved for running the response callback at the full instruction limit."""
        return self.execution_prepayment(self.max_instructions_per_message, wasm64=wasm64)

    def call_cost_base(self, *, wasm64: bool = False) -> int:
        """`ic0.cost_call` minus the per-byte part (`xnet_call_total_fee` at 0 bytes)."""
        return (
            self.scale(self.xnet_call_fee)
            + self.response_transmission_prepayment()
            + self.response_execution_prepayment(wasm64=wasm64)
        )

    def call_cost(self, method_name_size: int, payload_size: int, *, wasm64: bool = False) -> int:
        """What `ic0.cost_call` answers and `call_perform` takes (plus attached cycles)."""
        return self.call_cost_base(wasm64=wasm64) + self.xnet_call_bytes_fee(
            method_name_size + payload_size
        )

    def call_cost_paid_upfront(self, method_name_size: int, payload_size: int) -> int:
        """The non-refundable part of a call: the request fee and its bytes."""
        return self.scale(self.xnet_call_fee) + self.xnet_call_bytes_fee(
            method_name_size + payload_size
        )

    def response_refund(self, response_size: int) -> int:
        """Transmission prepayment returned to the caller for a response of this size."""
        unused = max(MAX_INTER_CANISTER_PAYLOAD_IN_BYTES - response_size, 0)
        return self.xnet_call_bytes_fee(unused)

    # --- storage and allocation --------------------------------------------------------

    def memory_cost(self, num_bytes: int, duration_ns: int) -> int:
        """Storage fee for `num_bytes` held for `duration_ns`."""
        return self.scale(num_bytes * self.gib_storage_per_second_fee * duration_ns) // (
            GIB * 1_000_000_000
        )

    def compute_allocation_cost(self, percent: int, duration_ns: int) -> int:
        return self.scale(
            percent * self.compute_percent_allocated_per_second_fee * duration_ns
        ) // (1_000_000_000)


APPLICATION_SUBNET_FEES = FeeTable()
"""`CyclesAccountManagerConfig::application_subnet()` on a 13-node subnet."""

SYSTEM_SUBNET_FEES = FeeTable(
    canister_creation_fee=0,
    compute_percent_allocated_per_second_fee=0,
    update_message_execution_fee=0,
    ten_update_instructions_execution_fee=0,
    ten_update_instructions_execution_fee_wasm64=0,
    xnet_call_fee=0,
    xnet_byte_transmission_fee=0,
    ingress_message_reception_fee=0,
    ingress_byte_reception_fee=0,
    gib_storage_per_second_fee=0,
    http_request_linear_baseline_fee=0,
    http_request_quadratic_baseline_fee=0,
    http_request_per_byte_fee=0,
    http_response_per_byte_fee=0,
)
"""`CyclesAccountManagerConfig::system_subnet()`: all processing is free."""


def memory_usage(canister: CanisterState) -> int:
    """Bytes the canister uses: Wasm memory, stable memory, module and chunk store (impl)."""
    total = 0
    if canister.execution is not None:
        total += len(canister.execution.heap) + len(canister.execution.stable_memory)
    if canister.module is not None:
        total += len(canister.module.wasm)
    total += sum(len(chunk) for chunk in canister.chunk_store.values())
    return total


def idle_cycles_burned_per_day(canister: CanisterState, fees: FeeTable) -> int:
    """Cycles the canister burns per day while idle (memory plus compute allocation)."""
    memory = max(canister.settings.memory_allocation, memory_usage(canister))
    day_ns = SECONDS_PER_DAY * 1_000_000_000
    return fees.memory_cost(memory, day_ns) + fees.compute_allocation_cost(
        canister.settings.compute_allocation, day_ns
    )


def freezing_limit(canister: CanisterState, fees: FeeTable) -> int:
    """The freezing threshold in cycles, after the reserved balance (`freeze_threshold_cycles`)."""
    threshold = (
        idle_cycles_burned_per_day(canister, fees)
        * canister.settings.freezing_threshold
        // SECONDS_PER_DAY
    )
    return max(threshold - canister.reserved_balance, 0)


def liquid_balance(canister: CanisterState, fees: FeeTable) -> int:
    """Cycles the canister can spend without becoming frozen (`ic0.canister_liquid_cycle_balance128`)."""
    return max(canister.balance - freezing_limit(canister, fees), 0)
