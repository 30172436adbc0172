"""``locker init``: create a station data directory (ledger, photo store, keys, config)."""

from __future__ import annotations

import argparse

from custody.ledger.station import init_station
from lockerd.paths import new_dir


def _run(args: argparse.Namespace) -> int:
    paths = init_station(new_dir(args.data, "data directory"), args.origin, name=args.name)
    print(f"station created in {paths.root}")
    print(f"origin:       {paths.vkey.read_text().split('+', 1)[0]}")
    print(f"verifier key: {paths.vkey.read_text().strip()}")
    print(f"signing key:  {paths.key} (mode 0600; keep it secret and backed up)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker init`` to the command line."""
    p = sub.add_parser(
        "init",
        help="create a new station data directory",
        description=(
            "Create a new station data directory: an empty custody ledger (ledger.db), the "
            "photo store, an Ed25519 signing key (station.key, mode 0600), its verifier key "
            "(station.vkey) and a default config.toml. Refuses to overwrite an existing "
            "station."
        ),
    )
    p.add_argument("--data", required=True, metavar="DIR", help="the data directory to create")
    p.add_argument(
        "--origin",
        metavar="NAME",
        help="the log's origin, also the key name, e.g. 'locker.example.org/station-7' "
        "(default: evidence-locker/<hostname>)",
    )
    p.add_argument("--name", metavar="NAME", help="the station's display name in config.toml")
    p.set_defaults(func=_run)
