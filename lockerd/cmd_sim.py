"""``locker sim``: serve simulated cabinets over Modbus TCP/RTU and a serial lock board."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
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
            "Ctrl-C. Doors stay closed and locked until a client releases them."
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
    parser.set_defaults(func=_run)


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
    tcp = None if args.no_tcp else _host_port(args.tcp, "--tcp")
    rtu_socket = _host_port(args.rtu_socket, "--rtu-socket") if args.rtu_socket else None
    if (tcp is None and rtu_socket is None and not args.rtu_pty and not args.lockboard_pty
            and not args.printer):
        raise UsageError("nothing to serve: give --tcp, --rtu-pty, --rtu-socket, --lockboard-pty"
                         " or --printer")
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
    )
    try:
        await sim.start()
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"cannot start the simulator: {exc}") from exc
    printer = _start_printer(args)
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
        if printer is not None:
            endpoints["printer"] = f"tcp://{printer.address}"
        endpoints["baud"] = args.baud
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
            if printer is not None:
                print(f"printer      tcp://{printer.address}   TSPL or ZPL (docs/labels.md)")
            print("register map: docs/register-map.md; Ctrl-C to stop", flush=True)
        await stop.wait()
    finally:
        await sim.stop()
        if printer is not None:
            printer.stop()
    return 0


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
