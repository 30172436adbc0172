"""``python -m bench``: run every benchmark area in turn and print its report."""

from __future__ import annotations

import importlib
import sys

AREAS: tuple[str, ...] = (
    "ledger", "api", "scanner", "bridge", "custody", "daemon", "tiles", "witness", "sms",
    "reports", "district", "soak",
)


def main() -> int:
    for area in AREAS:
        print(f"== {area}", flush=True)
        importlib.import_module(f"bench.{area}").main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
