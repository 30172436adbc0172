"""The witness over HTTP, as a real ``locker witness serve`` process: every status code of
C2SP tlog-witness v1.0.0, cosignatures that verify with the published key, refused but
validly signed checkpoints kept, and state that survives a restart."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custody.ledger import Ledger
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosign import WitnessKey, check_cosignatures
from custody.ledger.note import Signer, generate_signer, split_note
from custody.ledger.station import init_station
from tests.witness_support import WitnessProcess, init_witness_dir, locker_cli
from witness.client import request_body

ORIGIN = "test.example/station-w"


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.data = tmp / "station"
        init_station(self.data, ORIGIN)
        self.vkey = (self.data / "station.vkey").read_text().strip()
        self.signer = Signer.from_skey((self.data / "station.key").read_text())
        self.wdir = tmp / "witness"
        self.wkey = init_witness_dir(self.wdir, "district.example/w1", ORIGIN, self.vkey)
        self.notes: dict[int, str] = {}
        with Ledger.open(self.data) as ledger:
            for i in range(1, 31):
                ledger.append("test.event", {"n": i}, actor="test")
                if i in (5, 10, 20, 25, 30):
                    self.notes[i] = ledger.checkpoint()
        self.witness = WitnessProcess(self.wdir).start()
        self.http = httpx.Client(timeout=30)

    def post(self, body: bytes) -> httpx.Response:
        return self.http.post(self.witness.url + "/add-checkpoint", content=body)

    def proof(self, old: int, new: int) -> list[bytes]:
        with Ledger.open(self.data, readonly=True) as ledger:
            return ledger.consistency_proof(old, new)


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[Setup]:
    s = Setup(tmp_path)
    try:
        yield s
    finally:
        s.http.close()
        s.witness.stop()


def _verify_independently(wkey: str, note: str, line: str) -> int:
    """Check a cosignature line straight from the tlog-cosignature v1 text, without our
    cosign module: key id, 8-byte big-endian time, Ed25519 over the spec's message."""
    name, kid, b64 = wkey.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 0x04 and len(raw) == 33
    import hashlib

    assert hashlib.sha256(name.encode() + b"\n\x04" + raw[1:]).digest()[:4].hex() == kid
    assert line.startswith(f"\u2014 {name} ") and line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2])
    assert blob[:4].hex() == kid and len(blob) == 4 + 8 + 64
    ts = struct.unpack(">Q", blob[4:12])[0]
    body = note[: note.index("\n\n") + 1]
    message = f"cosignature/v1\ntime {ts}\n{body}".encode()
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(blob[12:], message)  # raises if bad
    return int(ts)


def test_every_status_code_and_a_restart(setup: Setup) -> None:
    s = setup
    n5, n10, n20 = s.notes[5], s.notes[10], s.notes[20]

    # 400: malformed bodies, and an old size above the checkpoint's
    assert s.post(b"garbage").status_code == 400
    assert s.post(b"old 01\n\n" + n5.encode()).status_code == 400
    assert s.post(request_body(6, [], n5)).status_code == 400

    # 404: a log this witness does not follow
    other_skey, _ = generate_signer("test.example/elsewhere")
    other = Signer.from_skey(other_skey).sign(Checkpoint("test.example/elsewhere", 1,
                                                         bytes(32)).body())
    assert s.post(request_body(0, [], other)).status_code == 404

    # 403: our origin, but signed by a key the witness does not trust
    mallory_skey, _ = generate_signer(ORIGIN)
    forged = Signer.from_skey(mallory_skey).sign(split_note(n5)[0])
    assert s.post(request_body(0, [], forged)).status_code == 403

    # 200: first contact (old 0), the cosignature verifies with the published key
    r = s.post(request_body(0, [], n5))
    assert r.status_code == 200, r.text
    line = r.text
    ts = _verify_independently(s.wkey, n5, line)
    assert ts > 1_700_000_000
    check = check_cosignatures(n5 + line, [WitnessKey.from_vkey(s.wkey)])
    assert list(check.cosigned) == [s.wkey] and not check.invalid

    # 409 text/x.tlog.size: a stale old size; the body is the size the witness holds
    r = s.post(request_body(0, [], n10))
    assert r.status_code == 409
    assert r.headers["content-type"].split(";")[0] == "text/x.tlog.size"
    assert r.text == "5\n"

    # 422: a consistency proof that does not verify
    bad = s.proof(5, 10)
    bad[0] = bytes(32)
    assert s.post(request_body(5, bad, n10)).status_code == 422

    # 200: the right proof from the size it last cosigned
    r = s.post(request_body(5, s.proof(5, 10), n10))
    assert r.status_code == 200, r.text
    _verify_independently(s.wkey, n10, r.text)

    # 409: the same size with another root, validly signed by the station (a fork)
    forked = s.signer.sign(Checkpoint(ORIGIN, 10, b"\x07" * 32).body())
    r = s.post(request_body(10, [], forked))
    assert r.status_code == 409
    assert r.headers["content-type"].split(";")[0] != "text/x.tlog.size"

    # the same checkpoint again: cosigned again (same size, same root, empty proof)
    assert s.post(request_body(10, [], n10)).status_code == 200

    # other paths and methods
    assert s.http.get(s.witness.url + "/add-checkpoint").status_code == 405
    assert s.http.post(s.witness.url + "/nothing", content=b"x").status_code == 404

    # restart: the state survived (it still holds size 10, and says so)
    s.witness.stop()
    s.witness.start()
    r = s.post(request_body(0, [], n20))
    assert r.status_code == 409 and r.text == "10\n"
    r = s.post(request_body(10, s.proof(10, 20), n20))
    assert r.status_code == 200, r.text

    status = json.loads(locker_cli("witness", "status", "--data", str(s.wdir), "--json"))
    assert status["witness"] == s.wkey
    [log] = status["logs"]
    assert log["origin"] == ORIGIN and log["cosigned_size"] == 20
    assert log["checkpoint"].startswith(n20)  # the note it cosigned, with its own line
    refused = status["refused"]
    # every validly signed refusal kept (not the 404/403 ones: not validly signed for a log)
    assert [r["status"] for r in refused] == [400, 409, 422, 409, 409]
    assert refused[3]["note"] == forked  # the fork's evidence, verbatim
    assert refused[2]["proof"].count("\n") == len(bad)

    # two submissions from the same old size at once: the check and the update are one
    # transaction, so exactly one is cosigned and the other is told the new size
    from concurrent.futures import ThreadPoolExecutor

    bodies = [request_body(20, s.proof(20, n), s.notes[n]) for n in (25, 30)]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(s.post, bodies))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    won = 25 if answers[0].status_code == 200 else 30
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.text == f"{won}\n"
    status = json.loads(locker_cli("witness", "status", "--data", str(s.wdir), "--json"))
    assert status["logs"][0]["cosigned_size"] == won
