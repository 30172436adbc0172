"""tlog-proof@v1 texts: format, round trip, and verification against a signed checkpoint."""

from __future__ import annotations

import base64

import pytest

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.merkle import CompactRange, ProofError, inclusion_proof, leaf_hash
from custody.ledger.note import NoteError, Signer, Verifier, generate_signer
from custody.ledger.tlogproof import (
    HEADER,
    TlogProofError,
    format_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
)

ORIGIN = "station.example/locker"


def _log(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], CompactRange]:
    entries = [f'{{"seq":{i}}}'.encode() for i in range(n)]
    nodes: dict[tuple[int, int], bytes] = {}
    cr = CompactRange()
    for e in entries:
        for lv, ix, h in cr.append(leaf_hash(e)):
            nodes[(lv, ix)] = h
    return entries, nodes, cr


def _proof_text(n: int, index: int) -> tuple[str, Verifier]:
    entries, nodes, cr = _log(n)
    skey, vkey = generate_signer(ORIGIN)
    note = Signer.from_skey(skey).sign(Checkpoint(ORIGIN, n, cr.root()).body())
    proof = inclusion_proof(index, n, lambda lv, ix: nodes[(lv, ix)])
    return format_tlog_proof(index, proof, note, entries[index]), Verifier.from_vkey(vkey)


def test_format_and_verify() -> None:
    text, verifier = _proof_text(11, 6)
    assert text.startswith(HEADER + "\nextra ")
    parsed = parse_tlog_proof(text)
    assert parsed.index == 6 and parsed.extra == b'{"seq":6}'
    proof, cp = verify_tlog_proof(text, [verifier], origin=ORIGIN)
    assert cp.size == 11 and proof.index == 6


def test_changed_extra_fails() -> None:
    text, verifier = _proof_text(11, 6)
    forged = text.replace(
        base64.b64encode(b'{"seq":6}').decode(), base64.b64encode(b'{"seq":7}').decode()
    )
    with pytest.raises(ProofError):
        verify_tlog_proof(forged, [verifier])


def test_wrong_index_fails() -> None:
    text, verifier = _proof_text(11, 6)
    with pytest.raises(ProofError):
        verify_tlog_proof(text.replace("index 6", "index 7"), [verifier])


def test_untrusted_key_fails() -> None:
    text, _ = _proof_text(5, 0)
    _, other = generate_signer(ORIGIN)
    with pytest.raises(NoteError):
        verify_tlog_proof(text, [Verifier.from_vkey(other)])


@pytest.mark.parametrize(
    "text",
    ["", "c2sp.org/tlog-proof@v2\nindex 0\n\nx", "c2sp.org/tlog-proof@v1\nindex 01\n\nx"],
)
def test_malformed(text: str) -> None:
    with pytest.raises(TlogProofError):
        parse_tlog_proof(text)
