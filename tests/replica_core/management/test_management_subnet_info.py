"""`list_canisters`: canister id ranges, and who may ask.

Spec: IC interface spec 0.66.0, The IC management canister › IC method `list_canisters`.
"""

from __future__ import annotations

from replica_core.management.subnet_info import canister_id_ranges, list_canisters_allowed
from replica_core.principal import Principal

P = Principal.from_canister_index


def test_consecutive_canister_indices_merge_into_one_range() -> None:
    ids = [P(3), P(0), P(1), P(2), P(7), P(9), P(8)]
    assert canister_id_ranges(ids) == [(P(0), P(3)), (P(7), P(9))]


def test_a_gap_left_by_a_deleted_canister_splits_the_range() -> None:
    assert canister_id_ranges([P(0), P(2)]) == [(P(0), P(0)), (P(2), P(2))]


def test_no_canisters_is_no_ranges() -> None:
    assert canister_id_ranges([]) == []


def test_an_id_that_is_not_index_shaped_is_a_range_of_its_own() -> None:
    odd = Principal(b"\x01\x02\x03")
    ranges = canister_id_ranges([P(0), odd, P(1)])
    assert (odd, odd) in ranges and (P(0), P(1)) in ranges and len(ranges) == 2


def test_only_non_replicated_user_queries_may_list() -> None:
    user = Principal.anonymous()
    assert list_canisters_allowed(user, (), is_ingress=True, replicated=False) is None
    assert list_canisters_allowed(user, (), is_ingress=True, replicated=True) is not None
    assert list_canisters_allowed(user, (), is_ingress=False, replicated=False) is not None


def test_configured_admins_restrict_the_listing() -> None:
    admin, other = P(100), Principal.anonymous()
    assert list_canisters_allowed(admin, (admin,), is_ingress=True, replicated=False) is None
    refused = list_canisters_allowed(other, (admin,), is_ingress=True, replicated=False)
    assert refused is not None and "not a subnet admin" in refused.message
