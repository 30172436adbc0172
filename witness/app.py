"""The witness over HTTP: a bare ASGI app served by uvicorn (``locker witness serve``).

``POST /add-checkpoint`` is the whole API (C2SP tlog-witness v1.0.0); any other path is 404,
any other method on it 405. Requests are handled on ONE worker thread, so SQLite work stays
off the event loop and submissions are judged one after another (the store's transaction
makes the check and the update atomic even across processes). uvicorn keeps connections
alive, as the spec asks of witnesses.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from witness.core import MAX_BODY, Answer, Witness

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class WitnessApp:
    """The ASGI application of one :class:`~witness.core.Witness`."""

    def __init__(self, witness: Witness) -> None:
        self.witness = witness
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="witness")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"] != "/add-checkpoint":
            await _send(send, Answer(404, b"not found\n"))
            return
        if scope["method"] != "POST":
            await _send(send, Answer(405, b"use POST\n"))
            return
        body = bytearray()
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if len(body) > MAX_BODY:
                await _send(send, Answer(400, b"request body too large\n"))
                return
            if not msg.get("more_body", False):
                break
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self._pool, self.witness.add_checkpoint, bytes(body))
        await _send(send, answer)


async def _send(send: Send, answer: Answer) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type.encode()),
                (b"content-length", str(len(answer.body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})
