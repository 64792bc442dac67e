"""Each HTTP exchange ends at its own deadline, with one timer of the loop for all of them
(`client._Deadlines`): exchanges in flight together, one after another, an earlier one done before
a later one hangs. Over real loopback HTTP, against a server that never answers (`Hang`)."""

from __future__ import annotations

import asyncio
import time

import pytest
from scripted_server import Hang, ScriptedServer, json_reply

from flinks_desktop.core.flinks import FlinksClient, FlinksError, TransportError

REQUEST_ID = "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"
DEADLINE = 0.6


@pytest.fixture
def server():
    with ScriptedServer() as running:
        yield running


async def timed(call) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        await call
    except FlinksError as error:
        return time.monotonic() - started, error
    return time.monotonic() - started, None


def test_a_hang_after_a_quick_exchange_still_ends_at_its_own_deadline(server) -> None:
    """The timer armed for the first exchange fires after it is done: it arms itself for the second."""
    server.script(json_reply(400, {"FlinksCode": "INVALID_REQUEST", "Message": "no"}), Hang())

    async def run():
        async with FlinksClient(f"{server.url}/v3/c", deadline=DEADLINE, retries=0) as client:
            quick = await timed(client.get_accounts_summary(REQUEST_ID))
            await asyncio.sleep(DEADLINE / 2)
            return quick, await timed(client.get_accounts_summary(REQUEST_ID))

    (quick_took, quick_error), (hang_took, hang_error) = asyncio.run(run())
    assert quick_took < DEADLINE and not isinstance(quick_error, TransportError)
    assert DEADLINE <= hang_took < DEADLINE + 0.4
    assert isinstance(hang_error, TransportError) and hang_error.detail == "deadline"


def test_exchanges_in_flight_together_each_end_at_their_own_deadline(server) -> None:
    server.script(Hang(), Hang(), Hang())

    async def run():
        async with FlinksClient(f"{server.url}/v3/c", deadline=DEADLINE, retries=0) as client:
            calls = []
            for _ in range(3):
                calls.append(asyncio.create_task(timed(client.get_accounts_summary(REQUEST_ID))))
                await asyncio.sleep(DEADLINE / 3)
            return await asyncio.gather(*calls)

    for took, error in asyncio.run(run()):
        assert DEADLINE <= took < DEADLINE + 0.4
        assert isinstance(error, TransportError) and error.detail == "deadline"


def test_a_shorter_deadline_set_later_is_kept_too(server) -> None:
    """An exchange with a deadline earlier than the one the timer waits for arms a timer of its own."""
    server.script(Hang(), Hang())

    async def run():
        async with FlinksClient(f"{server.url}/v3/c", deadline=3.0, retries=0) as client:
            long_one = asyncio.create_task(timed(client.get_accounts_summary(REQUEST_ID)))
            await asyncio.sleep(0.1)
            client.set_limits(deadline=DEADLINE, poll_timeout=10.0)
            short_one = await timed(client.get_accounts_summary(REQUEST_ID))
            long_one.cancel()
            return short_one

    took, error = asyncio.run(run())
    assert DEADLINE <= took < DEADLINE + 0.4 and isinstance(error, TransportError)
