"""The fee table is the IC's, and costs are consistent with what is charged."""

from __future__ import annotations

from replica_core.canister import CanisterSettings, CanisterState
from replica_core.cycles import (
    APPLICATION_SUBNET_FEES,
    SYSTEM_SUBNET_FEES,
    freezing_limit,
    liquid_balance,
)
from replica_core.execution.interface import ExecutionState
from replica_core.principal import Principal


def test_application_subnet_fees_are_the_ic_numbers():
    f = APPLICATION_SUBNET_FEES
    assert f.canister_creation_fee == 500_000_000_000
    assert f.update_message_execution_fee == 5_000_000
    assert f.execution_cost(1000) == 5_000_000 + 1000
    assert f.ingress_induction_cost(100) == 1_200_000 + 2_000 * 100
    assert f.call_cost(4, 10) == f.call_cost_base() + 1_000 * 14


def test_execution_prepayment_minus_refund_is_the_cost():
    f = APPLICATION_SUBNET_FEES
    limit = f.max_instructions_per_message
    assert f.execution_prepayment(limit) - f.execution_refund(limit, 12345) == f.execution_cost(
        12345
    )


def test_system_subnets_are_free():
    assert SYSTEM_SUBNET_FEES.execution_cost(10**9) == 0
    assert SYSTEM_SUBNET_FEES.call_cost(10, 10) == 0


def test_freezing_limit_is_idle_burn_over_the_threshold():
    heap = b"\x00" * (1 << 20)
    c = CanisterState(
        Principal.from_canister_index(0),
        CanisterSettings(controllers=()),
        balance=10**12,
        execution=ExecutionState(heap, (), b""),
    )
    limit = freezing_limit(c, APPLICATION_SUBNET_FEES)
    per_second = (1 << 20) * 127_000 // (1 << 30)
    assert abs(limit - per_second * 2_592_000) <= 2_592_000
    assert liquid_balance(c, APPLICATION_SUBNET_FEES) == 10**12 - limit
