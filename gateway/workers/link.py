"""The link between a gateway worker process and the replica-core process: framed messages.

Spec: none (impl). DESIGN.md › Concurrency: "several stateless gateway workers in front of
one replica-core process". Each worker holds one end of a Unix stream socket pair whose other
end the replica-core process holds (`gateway.workers.supervisor` makes the pairs). A frame is
a 4-byte little-endian length and a pickled tuple: requests `(id, op, args)` from the worker,
answers `(id, ok, value)` from the replica core, in any order (many requests are in flight at
once: a synchronous call waits for its round). Pickle is safe here: both ends are this code
base, and the sockets are private to the process tree.
"""

from __future__ import annotations

import asyncio
import itertools
import pickle
import struct
from collections.abc import Callable
from typing import Any

__all__ = ["FrameProtocol", "LinkClosed", "RemoteError", "ReplicaClient", "encode_frame"]

_HEADER = struct.Struct("<I")
_MAX_FRAME = 64 * 1024 * 1024  # far above any body the gateway lets through (≈ 5 MiB)


def encode_frame(message: object) -> bytes:
    """One frame carrying `message`."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


class LinkClosed(ConnectionError):
    """The other process closed the link (it stopped or died)."""


class RemoteError(RuntimeError):
    """The replica core failed to answer a request (an icbox bug; it logged the traceback)."""


class FrameProtocol(asyncio.Protocol):
    """Splits the byte stream into messages; `on_message` gets each unpickled message."""

    def __init__(
        self,
        on_message: Callable[[Any], None],
        on_lost: Callable[[Exception | None], None],
    ) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        self._buffer = bytearray()
        self._outgoing: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        pos, end = 0, len(buffer)
        while end - pos >= 4:
            (size,) = _HEADER.unpack_from(buffer, pos)
            if size > _MAX_FRAME:
                assert self.transport is not None
                self.transport.close()
                return
            if end - pos - 4 < size:
                break
            message = pickle.loads(memoryview(buffer)[pos + 4 : pos + 4 + size])
            pos += 4 + size
            self._on_message(message)
        if pos:
            del buffer[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._on_lost(exc)

    def send(self, message: object) -> None:
        """Queue `message` for the other end (dropped if the link is already closed).

        Frames sent in one turn of the event loop go out in one write: after a round, the
        replica core answers dozens of waiting calls at once (impl)."""
        if self.transport is None or self.transport.is_closing():
            return
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(encode_frame(message))

    def _flush(self) -> None:
        frames, self._outgoing = self._outgoing, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))


class ReplicaClient:
    """The worker's end: `await request(op, *args)` is answered by the replica core."""

    def __init__(self, on_lost: Callable[[], None] | None = None) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._protocol: FrameProtocol | None = None
        self._closed = False
        self._on_lost = on_lost

    async def connect(self, sock: Any) -> None:
        """Use the connected Unix stream socket `sock`."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_unix_connection(
            lambda: FrameProtocol(self._answer, self._lost), sock=sock
        )
        self._protocol = protocol

    async def request(self, op: str, *args: Any) -> Any:
        """Send `(op, args)`; the replica core's answer, or raises `LinkClosed` /
        `RemoteError`."""
        if self._closed or self._protocol is None:
            raise LinkClosed("the replica core is not reachable")
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._protocol.send((msg_id, op, args))
        return await future

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()

    def _answer(self, message: tuple[int, bool, Any]) -> None:
        msg_id, ok, value = message
        future = self._pending.pop(msg_id, None)
        if future is None or future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(RemoteError(value))

    def _lost(self, exc: Exception | None) -> None:
        self._closed = True
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(LinkClosed("the replica core closed the link"))
        if self._on_lost is not None:
            self._on_lost()
