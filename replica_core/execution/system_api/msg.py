"""The ic0 imports about the current message: argument, caller, reply, reject, inspection.

Spec: IC interface spec 0.66.0, The System API › Method arguments, Responding,
Inspecting ingress messages, Caller information.

Each method is one import; the linker has already checked the execution context.
"""

from __future__ import annotations

from replica_core.errors import Reject, RejectCode
from replica_core.execution.interface import Reply
from replica_core.execution.system_api.base import (
    MAX_NON_REPLICATED_RESPONSE_SIZE,
    MAX_RESPONSE_SIZE,
    ApiBase,
)

__all__ = ["MsgApi"]


class MsgApi(ApiBase):
    """`msg_*` and `accept_message`."""

    __slots__ = ()

    # --- argument and caller -------------------------------------------------------------

    def msg_arg_data_size(self) -> int:
        """Size of the argument (in a reply callback: of the reply payload)."""
        return len(self.call.arg)

    def msg_arg_data_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy part of the argument into the heap."""
        self.copy_blob("ic0.msg_arg_data_copy", self.call.arg, dst, offset, size)

    def msg_caller_size(self) -> int:
        """Size of the caller's principal."""
        return len(self.call.caller.raw)

    def msg_caller_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the caller's principal into the heap."""
        self.copy_blob("ic0.msg_caller_copy", self.call.caller.raw, dst, offset, size)

    def msg_caller_info_data_size(self) -> int:
        """Size of the caller's `sender_info.info` (empty unless a canister-signature sender)."""
        return len(self.call.caller_info_data)

    def msg_caller_info_data_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the caller's `sender_info.info`."""
        self.copy_blob(
            "ic0.msg_caller_info_data_copy", self.call.caller_info_data, dst, offset, size
        )

    def msg_caller_info_signer_size(self) -> int:
        """Size of the canister id that signed the caller's `sender_info`."""
        return len(self.call.caller_info_signer)

    def msg_caller_info_signer_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the canister id that signed the caller's `sender_info`."""
        self.copy_blob(
            "ic0.msg_caller_info_signer_copy", self.call.caller_info_signer, dst, offset, size
        )

    def msg_method_name_size(self) -> int:
        """Size of the called method's name (in canister_inspect_message)."""
        return len(self.call.method_name.encode("utf-8"))

    def msg_method_name_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the called method's name."""
        name = self.call.method_name.encode("utf-8")
        self.copy_blob("ic0.msg_method_name_copy", name, dst, offset, size)

    def accept_message(self) -> None:
        """Accept the inspected ingress message; calling it twice traps."""
        if self.accepted_message:
            raise self.violation("ic0.accept_message: the function was already called.")
        self.accepted_message = True

    def msg_deadline(self) -> int:
        """Deadline of a bounded-wait call in ns; 0 for ingress and unbounded calls."""
        return self.call.deadline

    # --- reject details in callbacks -----------------------------------------------------

    def msg_reject_code(self) -> int:
        """The reject code in a reject callback (or its cleanup); 0 after a reply."""
        reject = self.call.reject
        return int(reject.code) if reject is not None else 0

    def _reject_message(self, name: str) -> bytes:
        reject = self.call.reject
        if reject is None:
            raise self.violation(f"ic0.{name}: the call was not rejected (reject code is 0)")
        return reject.message.encode("utf-8")

    def msg_reject_msg_size(self) -> int:
        """Size of the reject message; traps when the call was not rejected."""
        return len(self._reject_message("msg_reject_msg_size"))

    def msg_reject_msg_copy(self, dst: int, offset: int, size: int) -> None:
        """Copy the reject message."""
        message = self._reject_message("msg_reject_msg_copy")
        self.copy_blob("ic0.msg_reject_msg_copy", message, dst, offset, size)

    # --- responding ----------------------------------------------------------------------

    def _max_response_size(self) -> int:
        return MAX_RESPONSE_SIZE if self.replicated else MAX_NON_REPLICATED_RESPONSE_SIZE

    def msg_reply_data_append(self, src: int, size: int) -> None:
        """Append heap bytes to the reply buffer; traps once replied or above the limit."""
        if self.replied:
            raise self.violation("ic0.msg_reply_data_append: the call is already replied")
        limit = self._max_response_size()
        if len(self.reply_buffer) + size > limit:
            raise self.violation(
                f"ic0.msg_reply_data_append: application payload size "
                f"({len(self.reply_buffer) + size}) cannot be larger than {limit}."
            )
        self.reply_buffer += self.read_heap("ic0.msg_reply_data_append", src, size)

    def msg_reply(self) -> None:
        """Reply with the reply buffer; at most one response per call context."""
        if self.replied:
            raise self.violation("ic0.msg_reply: the call is already replied")
        self.replied = True
        self.response = Reply(bytes(self.reply_buffer))
        self.reply_buffer = bytearray()

    def msg_reject(self, src: int, size: int) -> None:
        """Reject with `CANISTER_REJECT` and a UTF-8 message from the heap."""
        if self.replied:
            raise self.violation("ic0.msg_reject: the call is already replied")
        limit = self._max_response_size()
        if size > limit:
            raise self.violation(
                f"ic0.msg_reject: application payload size ({size}) cannot be larger than {limit}."
            )
        raw = self.read_heap("ic0.msg_reject", src, size)
        try:
            message = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.violation(
                "ic0.msg_reject: the reject message is not a valid UTF-8 string"
            ) from None
        self.replied = True
        self.response = Reject(RejectCode.CANISTER_REJECT, message)
