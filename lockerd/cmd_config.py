"""``locker config``: check a station config file, hash a PIN for it."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from lockerd.config import hash_pin, load_config
from lockerd.paths import existing_file


def register(sub: Any) -> None:
    """Add ``locker config check`` and ``locker config hash-pin``."""
    parser = sub.add_parser(
        "config",
        help="check a station config file, hash a PIN",
        description=(
            "Work with the station configuration (TOML). See docs/config.md for every key."
        ),
    )
    inner = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)

    check = inner.add_parser(
        "check",
        help="validate a config file",
        description=(
            "Parse and validate a station config file. Unknown keys are refused; every "
            "error names the key and its line. Exit 0 when valid, 2 when not."
        ),
    )
    check.add_argument("file", type=Path, metavar="FILE", help="the config file (TOML)")
    check.add_argument("--json", action="store_true", help="print the effective config as JSON")
    check.set_defaults(func=_check)

    pin = inner.add_parser(
        "hash-pin",
        help="hash a PIN for a [[people]] entry's pin_hash",
        description=(
            "Read a PIN (4 to 12 digits) from the terminal, or from stdin when it is not a "
            "terminal, and print its scrypt hash for the `pin_hash` key of a [[people]] entry."
        ),
    )
    pin.set_defaults(func=_hash_pin)


def _check(args: argparse.Namespace) -> int:
    cfg = load_config(existing_file(args.file, "config"))
    if args.json:
        data = cfg.model_dump(mode="json")
        data["rules"].pop("timezone", None)  # the file names it once, in [station]
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(
            f"{args.file}: ok (station {cfg.station.station_id}, {len(cfg.people)} people, "
            f"{len(cfg.cabinets)} cabinets, mqtt {'on' if cfg.mqtt.enabled else 'off'})"
        )
    return 0


def _hash_pin(args: argparse.Namespace) -> int:
    pin = getpass.getpass("PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    print(hash_pin(pin))
    return 0
