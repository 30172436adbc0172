"""C2SP signed notes: the spec's known-answer example, and our own keys round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.ledger.checkpoint import Checkpoint, CheckpointError
from custody.ledger.note import NoteError, Signer, Verifier, generate_signer, open_note


def test_spec_example_verifies(shared: Path) -> None:
    note = (shared / "vectors" / "signed-note" / "example.note").read_text()
    vkey = (shared / "vectors" / "signed-note" / "example.vkey").read_text().strip()
    verifier = Verifier.from_vkey(vkey)
    assert verifier.name == "example.com/foo"
    assert open_note(note, [verifier]) == "This is an example message.\n"


def test_spec_example_any_text_change_fails(shared: Path) -> None:
    note = (shared / "vectors" / "signed-note" / "example.note").read_text()
    verifier = Verifier.from_vkey((shared / "vectors" / "signed-note" / "example.vkey").read_text())
    text_end = note.index("\n\n")
    for i in range(text_end):
        if note[i] == "\n":
            continue
        changed = note[:i] + ("X" if note[i] != "X" else "Y") + note[i + 1 :]
        with pytest.raises(NoteError):
            open_note(changed, [verifier])


def test_round_trip_and_key_formats() -> None:
    skey, vkey = generate_signer("station.example/locker")
    assert skey.startswith("PRIVATE+KEY+station.example/locker+")
    signer = Signer.from_skey(skey)
    assert signer.vkey == vkey
    note = signer.sign("hello\nworld\n")
    assert open_note(note, [Verifier.from_vkey(vkey)]) == "hello\nworld\n"


def test_wrong_key_and_unknown_key() -> None:
    _, vkey_a = generate_signer("a.example")
    skey_b, _ = generate_signer("a.example")
    note = Signer.from_skey(skey_b).sign("text\n")
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        open_note(note, [Verifier.from_vkey(vkey_a)])


def test_forged_signature_by_trusted_key() -> None:
    skey, vkey = generate_signer("a.example")
    note = Signer.from_skey(skey).sign("amount 1\n")
    forged = note.replace("amount 1", "amount 9")
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(forged, [Verifier.from_vkey(vkey)])


@pytest.mark.parametrize(
    "vkey",
    ["", "name", "a+b+c", "na me+00000000+AQ==", "x+zzzzzzzz+AQ==", "x+00000000+!!!"],
)
def test_malformed_vkey(vkey: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


def test_checkpoint_round_trip() -> None:
    cp = Checkpoint("station.example/locker", 42, bytes(range(32)))
    assert Checkpoint.parse(cp.body()) == cp
    with pytest.raises(CheckpointError):
        Checkpoint.parse("origin\n042\nAAAA\n")
