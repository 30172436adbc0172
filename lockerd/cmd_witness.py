"""``locker witness``: run a C2SP tlog-witness for stations (DESIGN.md §3.6, docs/witness.md).

- ``init --data WDIR --name NAME``: a new witness key (mode 0600); the LAST line printed is
  the witness verifier key ``name+keyid+base64(0x04||key)`` that stations put in their
  ``[[witness]]`` tables;
- ``add-log --data WDIR --origin ORIGIN --key VKEY``: follow a station's log, trusting its
  signed-note verifier key (repeat to trust a second key of the same log);
- ``serve --data WDIR --listen HOST:PORT``: the ``POST /add-checkpoint`` API;
- ``status --data WDIR [--json]``: the logs, the latest cosigned size of each, and every
  refused checkpoint (evidence of a fork).
"""

from __future__ import annotations

import argparse
import json
import sys

from custody.errors import UsageError
from custody.ledger.ledger import format_ts
from custody.ports import SystemClock
from witness.store import WitnessStore, init_witness


def _init(args: argparse.Namespace) -> int:
    cosigner = init_witness(args.data, args.name)
    print(f"witness {args.name} created in {args.data}; its verifier key:")
    print(cosigner.vkey)
    return 0


def _add_log(args: argparse.Namespace) -> int:
    store = WitnessStore(args.data)
    try:
        verifier = store.add_log(args.origin, args.key, format_ts(SystemClock().now()))
    finally:
        store.close()
    print(f"following {args.origin} with key {verifier.vkey}")
    return 0


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen must be HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from witness.app import WitnessApp
    from witness.core import Witness

    host, port = _listen(args.listen)
    store = WitnessStore(args.data)
    app = WitnessApp(Witness(store))
    try:
        name = app.witness.cosigner.name
        print(f"witness {name} serving {len(store.origins())} log(s) on http://{host}:{port}",
              flush=True)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        app.close()
        store.close()
    return 0


def _status(args: argparse.Namespace) -> int:
    store = WitnessStore(args.data)
    try:
        logs = []
        for origin in store.origins():
            latest = store.latest(origin)
            logs.append(
                {
                    "origin": origin,
                    "keys": [v.vkey for v in store.log_keys(origin)],
                    "cosigned_size": latest.size if latest else None,
                    "cosigned_at": latest.updated_at if latest else None,
                    "checkpoint": latest.note if latest else None,
                }
            )
        refused = [
            {"id": r.id, "origin": r.origin, "old_size": r.old_size, "proof": r.proof,
             "status": r.status,
             "reason": r.reason, "received_at": r.received_at, "note": r.note}
            for r in store.refused()
        ]
        vkey = store.cosigner().vkey
    finally:
        store.close()
    if args.json:
        print(json.dumps({"witness": vkey, "logs": logs, "refused": refused}, indent=2))
        return 0
    print(f"witness {vkey}")
    for log in logs:
        print(f"  {log['origin']}: cosigned size {log['cosigned_size']} at {log['cosigned_at']}")
    for r in refused:
        size = str(r["note"]).split("\n", 2)[1] if str(r["note"]).count("\n") >= 2 else "?"
        print(f"  REFUSED #{r['id']} {r['origin']} size {size} (old {r['old_size']}): "
              f"{r['status']} {r['reason']} at {r['received_at']}")
    sys.stdout.flush()
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker witness ...`` to the command line."""
    w = sub.add_parser(
        "witness",
        help="run a C2SP tlog-witness that cosigns stations' checkpoints",
        description=(
            "A transparency-log witness (C2SP tlog-witness v1.0.0, tlog-cosignature v1): it "
            "cosigns a station's checkpoint only when it is consistent with every checkpoint "
            "it cosigned before, so a station cannot rewrite its history unnoticed."
        ),
    )
    wsub = w.add_subparsers(dest="witness_command", metavar="COMMAND", required=True)

    def data(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", required=True, metavar="WDIR", help="the witness's directory")

    i = wsub.add_parser(
        "init",
        help="create a witness directory and key",
        description=(
            "Create WDIR with a new Ed25519 witness key (witness.key, mode 0600). The last "
            "line printed is the witness verifier key name+keyid+base64(0x04||key)."
        ),
    )
    data(i)
    i.add_argument("--name", required=True, help="the witness name, e.g. district.example/w1")
    i.set_defaults(func=_init)

    a = wsub.add_parser(
        "add-log",
        help="follow a station's log",
        description="Cosign checkpoints of ORIGIN signed by VKEY (the station's verifier key).",
    )
    data(a)
    a.add_argument("--origin", required=True, help="the log's origin line")
    a.add_argument("--key", required=True, metavar="VKEY",
                   help="the station's signed-note verifier key (locker audit key)")
    a.set_defaults(func=_add_log)

    s = wsub.add_parser(
        "serve",
        help="serve POST /add-checkpoint",
        description="Serve the tlog-witness API (POST /add-checkpoint) on HOST:PORT.",
    )
    data(s)
    s.add_argument("--listen", required=True, metavar="HOST:PORT", help="where to listen")
    s.set_defaults(func=_serve)

    st = wsub.add_parser(
        "status",
        help="show the followed logs and refused checkpoints",
        description=(
            "Print each followed log with the latest size this witness cosigned, and every "
            "validly signed checkpoint it refused (evidence of a fork)."
        ),
    )
    data(st)
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(func=_status)
