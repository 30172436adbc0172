"""``locker audit verify-proof``: one tlog-proof offline, with witnesses, and every proof of
an issued report (fresh, and with an attached proof altered)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest

from custody.ledger import Ledger
from custody.ledger.cosign import Cosigner, add_signature_lines
from custody.ledger.note import split_note
from custody.ledger.tlogproof import format_tlog_proof
from lockerd.cli import main
from tests.integration.api_support import Station
from tests.integration.report_support import build_report_station, people_toml


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    st = build_report_station(tmp_path_factory.mktemp("verify"))
    st.close()  # `locker report` takes the writer
    yield st


@pytest.fixture(scope="module")
def report_pdf(station: Station, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pdf")
    cfg = root / "station.toml"
    cfg.write_text(people_toml(), encoding="utf-8")
    out = root / "c9.pdf"
    assert main(["report", "--data", str(station.data), "--case", "C-9", "--out", str(out),
                 "--config", str(cfg), "--role", "auditor"]) == 0
    return out


def _proof(station: Station, seq: int) -> str:
    with Ledger.open(station.data, readonly=True) as ledger:
        note = ledger.latest_checkpoint()
        assert note is not None
        size = int(split_note(note)[0].splitlines()[1])
        return format_tlog_proof(seq, ledger.inclusion_proof(seq, size), note,
                                 ledger.entry(seq).raw)


def test_one_proof_holds_and_is_decoded(
    station: Station, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e12.proof"
    path.write_text(_proof(station, 12))
    vkey = str(station.data / "station.vkey")
    assert main(["audit", "verify-proof", str(path), "--key", vkey]) == 0
    out = capsys.readouterr().out
    assert "proof OK: entry #12" in out
    assert "item.stored" in out and "zhou" in out and "E2026-000009-O" in out
    # one proof hash changed: the entry is no longer proved
    lines = path.read_text().split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("index ")) + 1
    lines[index] = ("B" if lines[index][0] != "B" else "C") + lines[index][1:]
    path.write_text("\n".join(lines))
    assert main(["audit", "verify-proof", str(path), "--key", vkey]) == 1
    assert "proof FAILED" in capsys.readouterr().out
    assert main(["audit", "verify-proof", str(path)]) == 2  # no key


def test_witness_cosignatures(station: Station, tmp_path: Path) -> None:
    text = _proof(station, 13)
    head, _, note = text.partition("\n\n")
    body = split_note(note)[0]
    w1, w2 = Cosigner.generate("witness.example/w1"), Cosigner.generate("witness.example/w2")
    cosigned = add_signature_lines(note, [w1.cosign(body, int(time.time()))])
    path = tmp_path / "e13.proof"
    path.write_text(head + "\n\n" + cosigned)
    base = ["audit", "verify-proof", str(path), "--key", str(station.data / "station.vkey")]
    assert main([*base, "--witness", w1.vkey]) == 0
    assert main([*base, "--witness", w1.vkey, "--witness", w2.vkey]) == 1  # w2 never signed
    assert main([*base, "--witness", w1.vkey, "--witness", w2.vkey, "--quorum", "1"]) == 0


def test_verify_a_fresh_report(
    station: Station, report_pdf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vkey = str(station.data / "station.vkey")
    assert main(["audit", "verify-proof", "--pdf", str(report_pdf), "--key", vkey]) == 0
    out = capsys.readouterr().out
    assert "report OK: 8 proofs hold" in out and "ok #15 kind=item.returned" in out


def _replace_attachment(pdf: Path, name: str, change: bytes, out: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf.read_bytes())))
    root: Any = writer.root_object
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    for i in range(0, len(names), 2):
        if names[i] == name:
            stream = names[i + 1].get_object()["/EF"]["/F"].get_object()
            stream.set_data(change)
    with out.open("wb") as f:
        writer.write(f)


def test_an_altered_attached_proof_fails(
    station: Station, report_pdf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    altered = tmp_path / "altered.pdf"
    name = "proof-000000012.tlog-proof"
    proof = _proof(station, 12)
    # the proof of another entry (valid in itself) put in place of #12's
    _replace_attachment(report_pdf, name, _proof(station, 13).encode(), altered)
    vkey = str(station.data / "station.vkey")
    assert main(["audit", "verify-proof", "--pdf", str(altered), "--key", vkey]) == 1
    assert "step #12" in capsys.readouterr().out
    # #12's own proof with one hash flipped
    lines = proof.split("\n")
    lines[3] = ("A" if lines[3][0] != "A" else "B") + lines[3][1:]
    _replace_attachment(report_pdf, name, "\n".join(lines).encode(), altered)
    assert main(["audit", "verify-proof", "--pdf", str(altered), "--key", vkey]) == 1
    assert "FAILED: step #12" in capsys.readouterr().out


def test_a_report_carries_the_witness_cosignatures(tmp_path: Path) -> None:
    from custody.ledger.checkpoint import Checkpoint
    from custody.ledger.cosigstore import CosignatureStore

    st = build_report_station(tmp_path)
    note = st.ledger.latest_checkpoint()
    st.close()
    assert note is not None
    body = split_note(note)[0]
    cp = Checkpoint.parse(body)
    witness = Cosigner.generate("witness.example/district")
    stamp = int(time.time())
    store = CosignatureStore(st.data)
    store.add(cp.size, cp.root, witness.vkey, witness.cosign(body, stamp), stamp, "now")
    store.close()
    out = tmp_path / "c9.pdf"
    cfg = tmp_path / "station.toml"
    cfg.write_text(people_toml(), encoding="utf-8")
    assert main(["report", "--data", str(st.data), "--case", "C-9", "--out", str(out),
                 "--config", str(cfg), "--role", "auditor"]) == 0
    vkey = str(st.data / "station.vkey")
    base = ["audit", "verify-proof", "--pdf", str(out), "--key", vkey]
    assert main([*base, "--witness", witness.vkey]) == 0
    other = Cosigner.generate("witness.example/other")
    assert main([*base, "--witness", other.vkey]) == 1
