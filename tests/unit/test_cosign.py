"""C2SP tlog-cosignature v1: keys, lines, checks; and the witness's add-checkpoint rules
judged in process (the HTTP test runs them against a real server)."""

from __future__ import annotations

import base64
import hashlib
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody.ledger import merkle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosign import (
    CosignatureError,
    Cosigner,
    WitnessKey,
    add_signature_lines,
    check_cosignatures,
    cosigned_message,
    load_witness_keys,
)
from custody.ledger.note import NoteError, Signer, Verifier, generate_signer, open_note
from custody.testing import FakeClock
from witness.client import request_body
from witness.core import BadRequest, Witness, parse_request
from witness.store import WitnessStore, init_witness

BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_key_formats_and_the_spec_message() -> None:
    # a fixed seed: the key id and the signature are deterministic (Ed25519)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = bytes(range(32))
    c = Cosigner("witness.example.com/w1", Ed25519PrivateKey.from_private_bytes(seed))
    name, hex_id, b64 = c.vkey.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 0x04 and raw[1:] == c.key.public_key
    want_id = hashlib.sha256(name.encode() + b"\n\x04" + raw[1:]).digest()[:4]
    assert hex_id == want_id.hex()
    assert Cosigner.from_skey(c.skey).vkey == c.vkey
    assert WitnessKey.from_vkey(c.vkey) == c.key
    # the message is exactly the spec's example shape
    assert cosigned_message(BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + BODY.encode()
    )
    line = c.cosign(BODY, 1679315147)
    blob = base64.b64decode(line.split(" ")[2])
    assert blob[:4] == want_id and struct.unpack(">Q", blob[4:12])[0] == 1679315147
    assert line == c.cosign(BODY, 1679315147)  # deterministic


def test_a_station_key_is_not_a_witness_key_and_vice_versa() -> None:
    _skey, vkey = generate_signer("station.example/s1")
    with pytest.raises(CosignatureError, match="0x04"):
        WitnessKey.from_vkey(vkey)
    with pytest.raises(NoteError):
        Verifier.from_vkey(Cosigner.generate("w.example/w").vkey)
    c = Cosigner.generate("w.example/w")
    with pytest.raises(CosignatureError, match="twice"):
        load_witness_keys([c.vkey, c.vkey])


def test_check_cosignatures_counts_valid_and_names_bad(shared: Path) -> None:
    # the signed-note spec's own example note, cosigned by two witnesses
    note = (shared / "vectors" / "signed-note" / "example.note").read_text()
    station = Verifier.from_vkey((shared / "vectors" / "signed-note" / "example.vkey").read_text())
    text = open_note(note, [station])
    a, b, stranger = (Cosigner.generate(f"w{i}.example/w") for i in range(3))
    cosigned = add_signature_lines(note, [a.cosign(text, 100), b.cosign(text, 200),
                                          stranger.cosign(text, 300)])
    assert open_note(cosigned, [station]) == text  # the station's signature still verifies
    check = check_cosignatures(cosigned, [a.key, b.key])
    assert check.cosigned == {a.vkey: 100, b.vkey: 200} and check.quorum(2)
    # a cosignature of another text at the same place does not verify, and is named
    other = a.cosign(text.replace("example", "exemple"), 100)
    check = check_cosignatures(add_signature_lines(note, [other]), [a.key, b.key])
    assert check.cosigned == {} and "does not verify" in check.invalid[a.vkey]
    assert not check.quorum(1)
    # appending never duplicates a line
    assert add_signature_lines(cosigned, [a.cosign(text, 100)]) == cosigned


# --------------------------------------------------------------------------- witness core


def test_parse_request_refuses_malformed_bodies() -> None:
    note = "o\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\n— o AAAAAAA=\n"
    assert parse_request(request_body(0, [], note)).old_size == 0
    for bad in (
        b"old -1\n\n" + note.encode(),
        b"old 1\nnot base64!\n\n" + note.encode(),
        b"old 1\n" + base64.b64encode(b"short") + b"\n\n" + note.encode(),
        request_body(1, [bytes(32)] * 64, note),
        b"old 1\n" + note.encode(),  # no empty line of its own: "o" taken as a proof line
        b"\xff\xfe",
    ):
        with pytest.raises(BadRequest):
            parse_request(bad)


def _witness(tmp: Path) -> tuple[Witness, Signer]:
    init_witness(tmp / "w", "w.example/w1")
    skey, vkey = generate_signer("o.example/log")
    store = WitnessStore(tmp / "w")
    store.add_log("o.example/log", vkey, "now")
    clock = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    return Witness(store, clock=clock), Signer.from_skey(skey)


def test_size_zero_rules_and_a_rollback(tmp_path: Path) -> None:
    w, signer = _witness(tmp_path)
    empty = signer.sign(Checkpoint("o.example/log", 0, merkle.EMPTY_ROOT).body())
    wrong_empty = signer.sign(Checkpoint("o.example/log", 0, bytes(32)).body())
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(8)]
    cp8 = signer.sign(Checkpoint("o.example/log", 8, merkle.root_from_leaves(leaves)).body())
    cp4 = signer.sign(Checkpoint("o.example/log", 4, merkle.root_from_leaves(leaves[:4])).body())
    assert w.add_checkpoint(request_body(0, [], wrong_empty)).status == 422
    ok = w.add_checkpoint(request_body(0, [], empty))
    assert ok.status == 200
    assert ok.body.startswith("— w.example/w1 ".encode())
    # from size 0 the proof must be empty
    assert w.add_checkpoint(request_body(0, [bytes(32)], cp8)).status == 422
    assert w.add_checkpoint(request_body(0, [], cp8)).status == 200
    # a smaller checkpoint later (a rollback) is refused: its old size is stale
    answer = w.add_checkpoint(request_body(0, [], cp4))
    assert answer.status == 409 and answer.body == b"8\n"
    assert w.add_checkpoint(request_body(8, [], cp4)).status == 400
    assert [r.status for r in w.store.refused()] == [422, 422, 409, 400]
    assert w.store.latest("o.example/log") is not None
    w.store.close()


def test_witness_init_key_mode_and_last_line(tmp_path: Path) -> None:
    import contextlib
    import io

    from lockerd.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["witness", "init", "--data", str(tmp_path / "w"), "--name", "d.ex/w"]) == 0
    last = out.getvalue().strip().splitlines()[-1]
    assert WitnessKey.from_vkey(last).name == "d.ex/w"
    assert (tmp_path / "w" / "witness.vkey").read_text().strip() == last
    assert (tmp_path / "w" / "witness.key").stat().st_mode & 0o777 == 0o600
    assert Cosigner.from_skey((tmp_path / "w" / "witness.key").read_text()).vkey == last
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["witness", "init", "--data", str(tmp_path / "w"), "--name", "x"]) == 2
    assert "already holds a witness" in err.getvalue()
