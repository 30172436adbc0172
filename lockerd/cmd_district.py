"""``locker district``: the district tier (DESIGN.md §3.7, docs/district.md).

- ``check --config FILE``: validate a district config;
- ``init-db --config FILE``: create the tables in the configured PostgreSQL;
- ``run --config FILE [--once]``: follow every station into the replica, check them, and
  serve the legal section's screen at ``[district] listen``; ``--mqtt HOST:PORT`` also
  records the alarms bridged to the district's Mosquitto;
- ``token create --config FILE --role legal|supervisor --person ID`` / ``token revoke``;
- ``bridge-config --config FILE --station ID --district-broker HOST:PORT``: the
  mosquitto.conf lines for that station's broker;
- ``demo``: three simulated stations, PostgreSQL, the witness, the bridge and the screen.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from custody.errors import UsageError
from district.config import DistrictConfig, load_district_config
from lockerd.paths import existing_file


def _cfg(args: argparse.Namespace) -> DistrictConfig:
    return load_district_config(existing_file(args.config, "district config"))


def _hostport(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"{what} must be HOST:PORT, not {text!r}")
    return host, int(port)


def _check(args: argparse.Namespace) -> int:
    cfg = _cfg(args)
    print(f"{args.config}: ok ({len(cfg.stations)} stations, {len(cfg.people)} people)")
    return 0


def _init_db(args: argparse.Namespace) -> int:
    from district.db import create_schema

    cfg = _cfg(args)
    create_schema(cfg.database.dsn)
    print("district tables ready")
    return 0


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from district.live import AlarmListener
    from district.screen import create_screen
    from district.service import District

    cfg = _cfg(args)
    district = District(cfg)
    if args.once:
        for r in district.pass_once():
            state = "FORK" if r.forked else (f"failed: {r.error}" if r.error else "ok")
            print(f"{r.station}: size {r.size}, {r.inserted} new entries, {state}")
        district.close()
        return 0
    listener = None
    if args.mqtt:
        host, port = _hostport(args.mqtt, "--mqtt")
        listener = AlarmListener(cfg.database.dsn, cfg.district.name, host, port,
                                 ids={s.id for s in cfg.stations}).start()
    stop = threading.Event()
    follow = threading.Thread(target=district.run, args=(stop,), daemon=True)
    follow.start()
    host, port = _hostport(cfg.district.listen, "[district] listen")
    print(f"district {cfg.district.name}: {len(cfg.stations)} stations; the screen at "
          f"http://{host}:{port}/", flush=True)
    try:
        uvicorn.run(create_screen(cfg), host=host, port=port, log_level="warning",
                    access_log=False)
    finally:
        stop.set()
        follow.join(30)
        district.close()
        if listener is not None:
            listener.stop()
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from district.auth import create_token

    cfg = _cfg(args)
    token_id, secret = create_token(cfg.database.dsn, cfg, args.role, args.person)
    print(secret)
    print(f"district token {token_id}: role {args.role} for {args.person}; shown once",
          file=sys.stderr)
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from district.auth import revoke_token

    revoke_token(_cfg(args).database.dsn, args.token_id)
    print(f"district token {args.token_id} revoked")
    return 0


def _bridge_config(args: argparse.Namespace) -> int:
    from district.live import bridge_config

    cfg = _cfg(args)
    host, port = _hostport(args.district_broker, "--district-broker")
    sys.stdout.write(bridge_config(cfg.station(args.station).id, host, port))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from district.demo import run_demo

    code: int = run_demo(Path(args.dir) if args.dir else None, once=args.once)
    return code


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker district ...`` to the command line."""
    d = sub.add_parser(
        "district",
        help="the district tier: stations mirrored into PostgreSQL, the legal section's screen",
        description="Mirror every station of a district into PostgreSQL, check their "
        "deadlines, witness them and serve the legal section's screen (docs/district.md).",
    )
    dsub = d.add_subparsers(dest="district_command", metavar="COMMAND", required=True)

    def config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", required=True, help="the district config (TOML)")

    p = dsub.add_parser("check", help="validate a district config",
                        description="Validate a district config file.")
    config(p)
    p.set_defaults(func=_check)
    p = dsub.add_parser("init-db", help="create the district tables in PostgreSQL",
                        description="Create the district's tables (idempotent).")
    config(p)
    p.set_defaults(func=_init_db)
    p = dsub.add_parser("run", help="follow the stations and serve the screen",
                        description="Follow every station into the replica, check them and "
                        "serve the legal section's screen.")
    config(p)
    p.add_argument("--once", action="store_true", help="one pass over the stations, then exit")
    p.add_argument("--mqtt", metavar="HOST:PORT",
                   help="the district's Mosquitto, where the stations' alarms are bridged")
    p.set_defaults(func=_run)
    t = dsub.add_parser("token", help="district sign-in tokens",
                        description="Issue and revoke district sign-in tokens.")
    tsub = t.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    p = tsub.add_parser("create", help="a token for a person of [[people]] (printed once)",
                        description="Issue a token for a person of the config's [[people]]; "
                        "a person who does not exist, or holds another role, is refused.")
    config(p)
    p.add_argument("--role", required=True, choices=("legal", "supervisor"), help="the role")
    p.add_argument("--person", required=True, help="the person's id in [[people]]")
    p.set_defaults(func=_token_create)
    p = tsub.add_parser("revoke", help="revoke a district token",
                        description="Revoke a district token by its id.")
    config(p)
    p.add_argument("token_id", help="the token's id (printed by create)")
    p.set_defaults(func=_token_revoke)
    p = dsub.add_parser("bridge-config", help="mosquitto.conf lines for a station's bridge",
                        description="Print the mosquitto.conf lines that bridge a station's "
                        "alarms and legal notices to the district's broker.")
    config(p)
    p.add_argument("--station", required=True, help="the station's id in [[stations]]")
    p.add_argument("--district-broker", required=True, metavar="HOST:PORT",
                   help="the district's Mosquitto")
    p.set_defaults(func=_bridge_config)
    p = dsub.add_parser("demo", help="three simulated stations, PostgreSQL and the screen",
                        description="Three simulated stations (each a real `locker demo` "
                        "data directory behind `locker api`), a PostgreSQL on a free port, the "
                        "district's witness and broker, the bridges and the screen.")
    p.add_argument("--dir", help="keep everything in this folder (default: a temporary one)")
    p.add_argument("--once", action="store_true", help="print the URLs and state, then exit")
    p.set_defaults(func=_demo)
