"""The worker link's framing: messages survive any split of the byte stream, and a closed
link fails every request in flight."""

from __future__ import annotations

import asyncio
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.workers.link import FrameProtocol, LinkClosed, ReplicaClient, encode_frame

messages = st.lists(
    st.tuples(st.integers(0, 2**40), st.text(max_size=8), st.binary(max_size=300)), max_size=12
)


@given(messages, st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_frames_are_recovered_from_any_split_of_the_stream(sent, cuts):
    received: list[object] = []
    protocol = FrameProtocol(received.append, lambda exc: None)
    stream = b"".join(encode_frame(m) for m in sent)
    pos, i = 0, 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        protocol.data_received(stream[pos : pos + step])
        pos += step
        i += 1
    assert received == sent


async def test_requests_in_flight_fail_with_link_closed_when_the_other_end_closes():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    lost = asyncio.Event()
    client = ReplicaClient(on_lost=lost.set)
    await client.connect(ours)
    pending = asyncio.ensure_future(client.request("hello"))
    await asyncio.sleep(0.01)
    theirs.close()  # the replica core went away without answering
    with pytest.raises(LinkClosed):
        await asyncio.wait_for(pending, 5)
    await asyncio.wait_for(lost.wait(), 5)
    with pytest.raises(LinkClosed):
        await client.request("hello")
    client.close()


async def test_answers_reach_their_request_in_any_order():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    client = ReplicaClient()
    await client.connect(ours)
    first = asyncio.ensure_future(client.request("a", 1))
    second = asyncio.ensure_future(client.request("b", 2))
    await asyncio.sleep(0.01)
    requests: list[tuple] = []
    got = asyncio.Event()

    def on_message(message: object) -> None:
        requests.append(message)  # type: ignore[arg-type]
        if len(requests) == 2:
            got.set()

    loop = asyncio.get_running_loop()
    _, server = await loop.create_unix_connection(
        lambda: FrameProtocol(on_message, lambda exc: None), sock=theirs
    )
    await asyncio.wait_for(got.wait(), 5)
    (id_a, op_a, args_a), (id_b, _, _) = requests
    assert (op_a, args_a) == ("a", (1,))
    server.send((id_b, True, "second"))
    server.send((id_a, False, "boom"))
    assert await asyncio.wait_for(second, 5) == "second"
    with pytest.raises(RuntimeError, match="boom"):
        await asyncio.wait_for(first, 5)
    client.close()
    assert server.transport is not None
    server.transport.close()
    await asyncio.sleep(0)
