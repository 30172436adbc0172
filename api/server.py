"""Running the API under uvicorn: in the foreground (``locker api``) or in a background
thread on a free port (tests, benchmarks, the demo)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from api.errors import ApiError


class ServerStartError(ApiError):
    """uvicorn did not come up (the port is taken, or the app failed to start)."""


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve ``app`` until SIGTERM (returns normally after a clean shutdown) or Ctrl-C."""
    # uvicorn shuts down gracefully on SIGTERM and then re-raises the signal to the handler
    # that was installed before it; a no-op one makes a clean stop return (exit status 0).
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def running_server(
    app: FastAPI, host: str = "127.0.0.1", *, start_timeout: float = 60.0
) -> Iterator[str]:
    """Serve ``app`` on a free port in a background thread; yields its base URL.

    The socket is bound here (port 0) before uvicorn starts, so there is no race for the
    port. Leaving the block shuts the server down and waits for it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)

    thread = threading.Thread(target=run, name="api-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if errors or not thread.is_alive():
            sock.close()
            raise ServerStartError(f"the API server did not start: {errors or 'it exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(10)
            sock.close()
            raise ServerStartError(f"the API server did not start in {start_timeout:.0f} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
