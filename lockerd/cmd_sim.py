"""``locker sim``: serve simulated cabinets over Modbus TCP/RTU and a serial lock board, and
let a person act at them by hand (``--console`` on stdin, ``--control`` a web page)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
from typing import Any

from custody.errors import UsageError


def register(sub: Any) -> None:
    """Add ``locker sim``."""
    parser = sub.add_parser(
        "sim",
        help="simulate cabinets: Modbus TCP/RTU servers and a serial lock board",
        description=(
            "Serve K simulated cabinets as Modbus unit ids 1..K at the reference register map "
            "(docs/register-map.md): over Modbus TCP, and optionally over Modbus RTU on a "
            "pseudo-terminal or on socket://HOST:PORT, and as Kerong-style lock boards "
            "(addresses 1..K) on a pseudo-terminal. Prints where to connect, then runs until "
            "Ctrl-C. Doors stay closed and locked until a client releases them. With "
            "--console (commands on stdin: open A 3, put A 3, take A 3, close A 3, force A 3, "
            "status, help) or --control HOST:PORT (a web page), a person opens and shuts the "
            "doors and puts items in or takes them out, to play the station's flows by hand."
        ),
    )
    parser.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        default="127.0.0.1:5020",
        help="Modbus TCP address (default 127.0.0.1:5020; port 0 picks a free one)",
    )
    parser.add_argument("--no-tcp", action="store_true", help="do not serve Modbus TCP")
    parser.add_argument("--cabinets", type=int, default=1, metavar="K", help="cabinets (1..247)")
    parser.add_argument(
        "--compartments", type=int, default=16, metavar="N", help="compartments per cabinet"
    )
    parser.add_argument(
        "--rtu-pty", action="store_true", help="also serve Modbus RTU on a pseudo-terminal"
    )
    parser.add_argument(
        "--rtu-socket", metavar="HOST:PORT", help="also serve Modbus RTU framing on a TCP socket"
    )
    parser.add_argument(
        "--lockboard-pty", action="store_true", help="also serve lock boards on a pseudo-terminal"
    )
    parser.add_argument(
        "--modem-pty", action="store_true",
        help="also serve a simulated GSM modem (SMS, docs/notify.md) on a pseudo-terminal",
    )
    parser.add_argument("--baud", type=int, default=19200, help="RTU line rate (default 19200)")
    parser.add_argument(
        "--line-time",
        action="store_true",
        help="hold answers back for the physical RS-485 line time at --baud",
    )
    parser.add_argument(
        "--printer", metavar="HOST:PORT",
        help="also serve a simulated TSPL/ZPL label printer (port 9100 style; port 0: free)",
    )
    parser.add_argument("--printer-out", metavar="DIR",
                        help="save every label the simulated printer prints as a PNG here")
    parser.add_argument("--json", action="store_true", help="print the endpoints as one JSON line")
    parser.add_argument(
        "--console",
        action="store_true",
        help="read a person's commands from stdin (open/close/put/take/force A 3, status, "
        "help) and report the station's lock releases and guide LEDs; end of input stops",
    )
    parser.add_argument(
        "--control",
        metavar="HOST:PORT",
        help="serve a control page for acting at the cabinets by hand (loopback only: "
        "no authentication; port 0 picks a free one)",
    )
    parser.add_argument(
        "--unlock-pulse-ms",
        type=int,
        metavar="MS",
        help="how long a released lock stays open (holding register 0; default 500, or "
        f"{HAND_PULSE_MS} with --console/--control so a person has time to open the door)",
    )
    parser.set_defaults(func=_run)


#: a released lock's pulse when a person acts by hand: time to read and type `open A 3`
HAND_PULSE_MS = 15_000


def _host_port(value: str, option: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"{option} wants HOST:PORT, not {value!r}")
    return host, int(port)


def _run(args: argparse.Namespace) -> int:
    if not 1 <= args.cabinets <= 247:
        raise UsageError("--cabinets must be 1..247 (Modbus unit ids)")
    if not 1 <= args.compartments <= 255:
        raise UsageError("--compartments must be 1..255")
    if args.baud < 300:
        raise UsageError("--baud must be at least 300")
    if args.unlock_pulse_ms is not None and not 10 <= args.unlock_pulse_ms <= 600_000:
        raise UsageError("--unlock-pulse-ms must be 10..600000")
    tcp = None if args.no_tcp else _host_port(args.tcp, "--tcp")
    rtu_socket = _host_port(args.rtu_socket, "--rtu-socket") if args.rtu_socket else None
    args.control_at = _host_port(args.control, "--control") if args.control else None
    if (tcp is None and rtu_socket is None and not args.rtu_pty and not args.lockboard_pty
            and not args.modem_pty and not args.printer):
        raise UsageError("nothing to serve: give --tcp, --rtu-pty, --rtu-socket, --lockboard-pty,"
                         " --modem-pty or --printer")
    return asyncio.run(_serve(args, tcp, rtu_socket))


async def _serve(
    args: argparse.Namespace, tcp: tuple[str, int] | None, rtu_socket: tuple[str, int] | None
) -> int:
    from hw_sim.station import SimStation  # the simulator is only loaded when asked for

    sim = SimStation(
        args.cabinets,
        args.compartments,
        host=tcp[0] if tcp else "127.0.0.1",
        tcp=tcp is not None,
        tcp_port=tcp[1] if tcp else 0,
        rtu_pty=args.rtu_pty,
        rtu_socket=rtu_socket is not None,
        rtu_socket_host=rtu_socket[0] if rtu_socket else None,
        rtu_socket_port=rtu_socket[1] if rtu_socket else 0,
        lockboard_pty=args.lockboard_pty,
        baud=args.baud,
        line_time=args.line_time,
        unlock_pulse_ms=_pulse_ms(args),
    )
    try:
        await sim.start()
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"cannot start the simulator: {exc}") from exc
    from hw_sim.controlpage import ControlPage
    from hw_sim.handcontrol import HandControl

    hands = HandControl(sim.world)
    page: ControlPage | None = None
    if args.control_at is not None:
        try:
            page = await ControlPage(hands).start(*args.control_at)
        except OSError as exc:
            await sim.stop()
            raise UsageError(f"cannot serve the control page: {exc}") from exc
    try:
        printer = _start_printer(args)
    except UsageError:
        if page is not None:
            await page.stop()
        await sim.stop()
        raise
    modem = _start_modem() if args.modem_pty else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        endpoints: dict[str, object] = {
            "cabinets": args.cabinets,
            "compartments": args.compartments,
            "units": [1, args.cabinets],
        }
        if sim.tcp_port is not None:
            endpoints["modbus_tcp"] = f"{sim.host}:{sim.tcp_port}"
        if sim.rtu_path:
            endpoints["modbus_rtu"] = sim.rtu_path
        if sim.rtu_socket_url:
            endpoints["modbus_rtu_socket"] = sim.rtu_socket_url
        if sim.lockboard_path:
            endpoints["lockboard"] = sim.lockboard_path
        if page is not None:
            endpoints["control"] = f"http://{args.control_at[0]}:{page.port}/"
        if modem is not None:
            endpoints["modem"] = modem.path
        if printer is not None:
            endpoints["printer"] = f"tcp://{printer.address}"
        endpoints["baud"] = args.baud
        endpoints["unlock_pulse_ms"] = _pulse_ms(args)
        if args.json:
            print(json.dumps(endpoints), flush=True)
        else:
            units = f"units 1..{args.cabinets}, {args.compartments} compartments each"
            if sim.tcp_port is not None:
                print(f"modbus-tcp   {sim.host}:{sim.tcp_port}   ({units})")
            if sim.rtu_path:
                print(f"modbus-rtu   {sim.rtu_path}   {args.baud} 8N1 ({units})")
            if sim.rtu_socket_url:
                print(f"modbus-rtu   {sim.rtu_socket_url}   RTU framing over TCP ({units})")
            if sim.lockboard_path:
                print(
                    f"lockboard    {sim.lockboard_path}   9600 8N1 (addresses 1..{args.cabinets})"
                )
            if page is not None:
                print(f"control page http://{args.control_at[0]}:{page.port}/")
            if args.console:
                print("console: type 'help' for the commands (A is unit 1, B unit 2, ...)")
            if modem is not None:
                print(f"gsm-modem    {modem.path}   AT/PDU, texts printed as they arrive")
            if printer is not None:
                print(f"printer      tcp://{printer.address}   TSPL or ZPL (docs/labels.md)")
            print("register map: docs/register-map.md; Ctrl-C to stop", flush=True)
        tasks = [asyncio.create_task(_console(hands, stop))] if args.console else []
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        if page is not None:
            await page.stop()
        if modem is not None:
            modem.close()
        await sim.stop()
        if printer is not None:
            printer.stop()
    return 0


def _pulse_ms(args: argparse.Namespace) -> int:
    if args.unlock_pulse_ms is not None:
        return int(args.unlock_pulse_ms)
    return HAND_PULSE_MS if args.console or args.control else 500


async def _console(hands: Any, stop: asyncio.Event) -> None:
    """Commands from stdin, answers and the station's doings on stdout; EOF sets ``stop``."""
    from hw_sim.handcontrol import CommandError

    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:  # a daemon thread: a blocked readline must not hold up the exit
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="sim-console", daemon=True).start()
    while True:
        try:
            line = await asyncio.wait_for(lines.get(), timeout=0.1)
        except TimeoutError:
            line = ""
        for change in hands.changes():  # what the station did meanwhile
            print(f"station: {change}", flush=True)
        if line is None:
            stop.set()
            return
        if not line.strip():
            continue
        try:
            print(hands.run(line), flush=True)
        except CommandError as exc:
            print(f"error: {exc}", flush=True)
def _start_modem() -> Any:
    """The simulated modem of ``--modem-pty``; prints every text it is given."""
    from hw_sim.modem_sim import SimModem

    modem = SimModem()
    modem.on_message = lambda m: print(f"sms to {m.number} ({m.parts} part(s)): {m.text}",
                                       flush=True)
    modem.start()
    return modem


def _start_printer(args: argparse.Namespace) -> Any:
    """The simulated label printer of ``--printer`` (None without it)."""
    if not args.printer:
        return None
    from hw_sim.printer_sim import SimulatedPrinter

    host, port = _host_port(args.printer, "--printer")
    try:
        return SimulatedPrinter(host, port, save_to=args.printer_out).start()
    except OSError as exc:
        raise UsageError(f"cannot start the simulated printer: {exc}") from exc
