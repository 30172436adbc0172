"""A small control page for the simulated cabinets: ``locker sim --control HOST:PORT``.

One page with a grid of the compartments (door, lock, item, guide LED, refreshed every
half second) and buttons for what a person can do at each (open, close, put in, take out,
force), plus a box for any :mod:`hw_sim.handcontrol` command. Meant for loopback: it has no
authentication (the simulator is a test rig, not a station).

Routes: ``GET /`` the page; ``GET /status`` the compartments as JSON; ``POST /command``
with a JSON body ``{"command": "open A 3"}`` -> ``{"ok": true, "output": "..."}`` (or
``{"ok": false, "error": "..."}`` with status 400). It is a plain asyncio HTTP/1.1 server
(one request per connection) on the simulator's own event loop, so the page and the Modbus
servers act on the one :class:`~hw_sim.cabinet_world.World` without locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import asdict

from hw_sim.handcontrol import CommandError, HandControl

_MAX_BODY = 4096

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>locker sim: cabinets</title>
<style>
body { font-family: sans-serif; margin: 1em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #bbb; padding: .3em .6em; text-align: center; }
.open { background: #fdd; } .released { color: #b00; font-weight: bold; }
.led { background: #ffe97a; } #out { white-space: pre; font-family: monospace; }
</style></head><body>
<h1>Simulated cabinets</h1>
<p>Act as the person at the cabinets: open a door the station has released, put an item in
or take it out, shut the door. A is Modbus unit 1, B unit 2, ...</p>
<table id="grid"><thead><tr><th>compartment</th><th>door</th><th>lock</th><th>item</th>
<th>LED</th><th></th></tr></thead><tbody></tbody></table>
<p><input id="cmd" size="30" placeholder="open A 3"> <button id="go">run</button></p>
<div id="out"></div>
<script>
async function run(command) {
  const r = await fetch("command", {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify({command})});
  const j = await r.json();
  document.getElementById("out").textContent = j.ok ? j.output : "error: " + j.error;
  refresh();
}
function button(label, command) {
  const b = document.createElement("button");
  b.textContent = label; b.onclick = () => run(command); return b;
}
async function refresh() {
  const slots = await (await fetch("status")).json();
  const body = document.querySelector("#grid tbody");
  body.replaceChildren();
  for (const s of slots) {
    const tr = document.createElement("tr");
    const [cab, idx] = s.name.split("/");
    const cells = [s.name, s.door_closed ? "closed" : "OPEN", s.locked ? "locked" : "RELEASED",
                   s.occupied ? "item" : "empty", s.led ? "on" : ""];
    cells.forEach((text, i) => {
      const td = document.createElement("td"); td.textContent = text;
      if (i === 1 && !s.door_closed) td.className = "open";
      if (i === 2 && !s.locked) td.className = "released";
      if (i === 4 && s.led) td.className = "led";
      tr.appendChild(td);
    });
    const td = document.createElement("td");
    const c = cab + " " + idx;
    if (s.door_closed) {
      td.appendChild(button("open", "open " + c)); td.appendChild(button("force", "force " + c));
    } else {
      td.appendChild(button(s.occupied ? "take out" : "put in",
                            (s.occupied ? "take " : "put ") + c));
      td.appendChild(button("close", "close " + c));
    }
    tr.appendChild(td); body.appendChild(tr);
  }
}
document.getElementById("go").onclick = () => run(document.getElementById("cmd").value);
refresh(); setInterval(refresh, 500);
</script></body></html>
"""


class ControlPage:
    """The control page's HTTP server over one :class:`HandControl`."""

    def __init__(self, hands: HandControl) -> None:
        self.hands = hands
        self._server: asyncio.Server | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> ControlPage:
        """Listen on ``host:port`` (port 0: a free one, then in :attr:`port`)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, ctype, body = await self._answer(reader)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, UnicodeDecodeError):
            status, ctype, body = 400, "text/plain", b"bad request"
        head = (f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + body)
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
        request = (await reader.readline()).decode("latin-1").split()
        length = 0
        while True:
            line = (await reader.readline()).decode("latin-1").strip()
            if not line:
                break
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(request) < 2 or length > _MAX_BODY:
            return 400, "text/plain", b"bad request"
        method, path = request[0], request[1].split("?", 1)[0]
        data = await reader.readexactly(length) if length else b""
        if method == "GET" and path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", PAGE.encode()
        if method == "GET" and path == "/status":
            slots = [asdict(s) for s in self.hands.slots()]
            return 200, "application/json", _json(slots)
        if method == "POST" and path == "/command":
            body = json.loads(data or b"{}")
            command = body.get("command", "") if isinstance(body, dict) else ""
            try:
                output = self.hands.run(str(command))
            except CommandError as exc:
                return 400, "application/json", _json({"ok": False, "error": str(exc)})
            return 200, "application/json", _json({"ok": True, "output": output})
        return 404, "text/plain", b"not found"


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
