"""The ic0 imports about cycles: balances, accepting, burning, refunds, and fee queries.

Spec: IC interface spec 0.66.0, The System API › Cycles, Cycles cost calculation.

128-bit amounts arrive as `(high, low)` i64 pairs and are written to the heap as 16
little-endian bytes; the 64-bit variants (wasm32 only) trap when a value does not fit.
Accepting never traps (it accepts at most what is available); burning is bounded by the
liquid balance. The `cost_*` imports answer from the fees in `Environment`.
"""

from __future__ import annotations

from replica_core.execution.system_api.base import ApiBase

__all__ = ["CyclesApi"]

_U64_MAX = (1 << 64) - 1
_CURVES = {"ecdsa": frozenset({0}), "schnorr": frozenset({0, 1}), "vetkd": frozenset({0})}
_UNKNOWN_CURVE, _UNKNOWN_KEY = 1, 2  # spec: cost_sign_with_* return codes


class CyclesApi(ApiBase):
    """`msg_cycles_*`, `cycles_burn128`, `canister_*cycle_balance*`, `cost_*`."""

    __slots__ = ()

    def _u64(self, value: int) -> int:
        if value > _U64_MAX:
            raise self.canister_trap("cycles amount exceeds 64-bit representation")
        return value

    # --- incoming cycles -----------------------------------------------------------------

    def msg_cycles_available128(self, dst: int) -> None:
        """Cycles attached to the call and not yet accepted."""
        self.write_u128("ic0.msg_cycles_available128", dst, self.cycles_available)

    def msg_cycles_available(self) -> int:
        """64-bit variant of `msg_cycles_available128`."""
        return self._u64(self.cycles_available)

    def msg_cycles_refunded128(self, dst: int) -> None:
        """Cycles refunded with the response this callback handles."""
        self.write_u128("ic0.msg_cycles_refunded128", dst, self.call.cycles_refunded)

    def msg_cycles_refunded(self) -> int:
        """64-bit variant of `msg_cycles_refunded128`."""
        return self._u64(self.call.cycles_refunded)

    def _accept(self, max_amount: int) -> int:
        amount = min(max_amount, self.cycles_available)
        self.cycles_available -= amount
        self.cycles_accepted += amount
        return amount

    def msg_cycles_accept128(self, max_amount_high: int, max_amount_low: int, dst: int) -> None:
        """Accept up to `max_amount` of the available cycles; never traps."""
        self._heap_range("ic0.msg_cycles_accept128", dst, 16)  # checked before cycles move
        amount = self._accept((max_amount_high << 64) | max_amount_low)
        self.write_u128("ic0.msg_cycles_accept128", dst, amount)

    def msg_cycles_accept(self, max_amount: int) -> int:
        """64-bit variant of `msg_cycles_accept128`; returns the accepted amount."""
        return self._accept(max_amount)

    # --- balance and burning -------------------------------------------------------------

    def canister_cycle_balance128(self, dst: int) -> None:
        """The canister's current balance."""
        self.write_u128("ic0.canister_cycle_balance128", dst, self.balance)

    def canister_cycle_balance(self) -> int:
        """64-bit variant of `canister_cycle_balance128`."""
        return self._u64(self.balance)

    def canister_liquid_cycle_balance128(self, dst: int) -> None:
        """Cycles the canister can spend without dropping below its freezing threshold."""
        self.write_u128("ic0.canister_liquid_cycle_balance128", dst, self.liquid_balance)

    def cycles_burn128(self, amount_high: int, amount_low: int, dst: int) -> None:
        """Burn up to `amount` cycles, bounded by the liquid balance; never traps."""
        self._heap_range("ic0.cycles_burn128", dst, 16)
        amount = min((amount_high << 64) | amount_low, self.liquid_balance)
        self.cycles_burned += amount
        self.write_u128("ic0.cycles_burn128", dst, amount)

    # --- fees ----------------------------------------------------------------------------

    def cost_call(self, method_name_size: int, payload_size: int, dst: int) -> None:
        """Cycles a call with these sizes costs (above the freezing threshold)."""
        env = self.env
        fee = env.call_cost_base + env.call_cost_per_byte * (method_name_size + payload_size)
        self.write_u128("ic0.cost_call", dst, fee)

    def cost_create_canister(self, dst: int) -> None:
        """The `create_canister` fee."""
        self.write_u128("ic0.cost_create_canister", dst, self.env.create_canister_fee)

    def cost_http_request(self, request_size: int, max_res_bytes: int, dst: int) -> None:
        """The `http_request` fee for a request of this size and response bound."""
        env = self.env
        fee = (
            env.http_request_base_fee
            + env.http_request_per_request_byte_fee * request_size
            + env.http_request_per_response_byte_fee * max_res_bytes
        )
        self.write_u128("ic0.cost_http_request", dst, fee)

    def _threshold_fee(self, api: str, src: int, size: int, curve: int, dst: int) -> int:
        name = "ic0.cost_vetkd_derive_key" if api == "vetkd" else f"ic0.cost_sign_with_{api}"
        key_name = self.read_heap(name, src, size)
        if curve not in _CURVES[api]:
            return _UNKNOWN_CURVE
        for fee_api, fee_curve, fee_key, fee in self.env.threshold_key_fees:
            if fee_api == api and fee_curve == curve and fee_key.encode("utf-8") == key_name:
                self.write_u128(name, dst, fee)
                return 0
        return _UNKNOWN_KEY

    def cost_sign_with_ecdsa(self, src: int, size: int, ecdsa_curve: int, dst: int) -> int:
        """The `sign_with_ecdsa` fee for a key: 0 ok, 1 unknown curve, 2 unknown key."""
        return self._threshold_fee("ecdsa", src, size, ecdsa_curve, dst)

    def cost_sign_with_schnorr(self, src: int, size: int, algorithm: int, dst: int) -> int:
        """The `sign_with_schnorr` fee for a key: 0 ok, 1 unknown algorithm, 2 unknown key."""
        return self._threshold_fee("schnorr", src, size, algorithm, dst)

    def cost_vetkd_derive_key(self, src: int, size: int, vetkd_curve: int, dst: int) -> int:
        """The `vetkd_derive_key` fee for a key: 0 ok, 1 unknown curve, 2 unknown key."""
        return self._threshold_fee("vetkd", src, size, vetkd_curve, dst)
