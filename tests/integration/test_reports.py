"""Chain-of-custody reports as issued PDFs: text, fonts, PDF/A, roles, the ledger entry.

Over real HTTP (uvicorn on a free port) on a real station, and through ``locker report``;
the PDF is read back with Debian's poppler tools (pdftotext, pdffonts, pdfinfo).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from api.app import create_app
from api.server import running_server
from custody.ledger import Ledger
from tests.integration.api_support import Station, auth
from tests.integration.report_support import (
    COMPLAINANT_PHONE,
    E9,
    SETUP,
    StationRecorder,
    build_report_station,
    pdf_text,
)


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    st = build_report_station(tmp_path_factory.mktemp("reports"))
    try:
        yield st
    finally:
        st.close()


@pytest.fixture(scope="module")
def url(station: Station) -> Iterator[str]:
    app = create_app(station.data, clock=station.clock, report_setup=SETUP,
                     report_recorder=StationRecorder(station))
    with running_server(app) as base:
        yield base


def fetch(url: str, path: str, token: str, **params: str) -> httpx.Response:
    return httpx.get(url + path, headers=auth(token), params=params, timeout=120)


def attachments(pdf: bytes) -> dict[str, bytes]:
    return {name: data[0] for name, data in pypdf.PdfReader(io.BytesIO(pdf)).attachments.items()}


def test_case_pdf_has_names_transfers_hash_fonts_and_pdfa(
    url: str, station: Station, tmp_path: Path
) -> None:
    r = fetch(url, "/v1/reports/cases/C-9/report.pdf", station.tokens["auditor"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    pdf = r.content
    text = pdf_text(pdf, tmp_path)
    flat = "".join(text.split())
    for name in ("王伟", "周艳", "刘芳", "城关派出所"):  # people by name, and the station
        assert name in text
    # transfer rows: the storage of both exhibits in B/3, the check-out, the return
    for row in ("存入格口", "调取出库", "归还", "移交入库", "扣押登记", "B/3", E9):
        assert row in text
    assert "(UTC+08:00)" in text and "+08:00 (UTC)" not in text
    assert "第1页/共" in flat  # page x of y
    digest = r.headers["X-Report-SHA256"]
    assert digest in flat  # the report hash, printed on the last page
    pages = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode().splitlines()
        if line.startswith("Pages:")))
    last = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), "-enc", "UTF-8",
                           "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert digest in "".join(last.split())
    # the hash is the SHA-256 of the report.json attachment
    files = attachments(pdf)
    assert hashlib.sha256(files["report.json"]).hexdigest() == digest
    assert files["station.vkey"].decode().strip() == (station.data / "station.vkey").read_text(
    ).strip()
    proofs = [n for n in files if n.endswith(".tlog-proof")]
    assert len(proofs) >= 8 and "checkpoint.note" in files
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True)
    rows = fonts.stdout.decode().splitlines()[2:]
    assert rows and all(row.split()[-5] == "yes" for row in rows)  # every font embedded
    meta = subprocess.run(["pdfinfo", "-meta", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    assert 'pdfaid:part="3"' in meta and 'pdfaid:conformance="B"' in meta
    root: Any = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert "/OutputIntents" in root and "/AF" in root  # sRGB intent, associated files


def test_issuing_a_pdf_records_report_issued(url: str, station: Station) -> None:
    r = fetch(url, f"/v1/reports/items/{E9}/report.pdf", station.tokens["supervisor"])
    assert r.status_code == 200
    entry = station.ledger.entry(int(r.headers["X-Report-Entry"]))
    body = entry.body
    assert body["kind"] == "report.issued" and body["actor"] == "zhao"
    assert body["item"] == E9 and body["subject"] == "item"
    assert body["report_sha256"] == r.headers["X-Report-SHA256"]
    assert body["pdf_sha256"] == hashlib.sha256(r.content).hexdigest()
    assert body["role"] == "supervisor" and body["lang"] == "zh"


def test_a_clerks_report_withholds_the_complainants_phone_an_auditors_shows_it(
    url: str, station: Station, tmp_path: Path
) -> None:
    clerk = fetch(url, "/v1/reports/cases/C-9/report.pdf", station.tokens["clerk"]).content
    auditor = fetch(url, "/v1/reports/cases/C-9/report.pdf", station.tokens["auditor"]).content
    assert COMPLAINANT_PHONE not in pdf_text(clerk, tmp_path)
    assert "+8613800000001" not in pdf_text(clerk, tmp_path)  # wang's phone
    assert COMPLAINANT_PHONE in pdf_text(auditor, tmp_path)
    assert "+8613800000001" in pdf_text(auditor, tmp_path)
    # nor in anything attached (a proof carrying it is withheld, not edited)
    for name, data in attachments(clerk).items():
        if name.endswith(".tlog-proof"):
            assert COMPLAINANT_PHONE.encode() not in _entry_of(data), name
        else:
            assert COMPLAINANT_PHONE.encode() not in data, name
    assert len(attachments(auditor)) > len(attachments(clerk))
    # the screen's HTML follows the same rule
    html = fetch(url, "/v1/reports/cases/C-9", station.tokens["clerk"]).text
    assert COMPLAINANT_PHONE not in html and "刘芳" in html
    assert COMPLAINANT_PHONE in fetch(url, "/v1/reports/cases/C-9", station.tokens["auditor"]).text


def _entry_of(proof: bytes) -> bytes:
    import base64

    line = next(x for x in proof.decode().splitlines() if x.startswith("extra "))
    return base64.b64decode(line[6:])


def test_english_on_request(url: str, station: Station, tmp_path: Path) -> None:
    r = fetch(url, "/v1/reports/cases/C-9/report.pdf", station.tokens["auditor"], lang="en")
    text = pdf_text(r.content, tmp_path)
    assert "Chain of custody: case C-9" in text and "page 1 of" in text
    flat = " ".join(text.split())
    assert "Custody transfers" in flat and "Manifest" in flat and "(officer)" in flat
    assert "保管交接记录" not in flat  # no Chinese headings in an English report
    assert fetch(url, "/v1/reports/cases/C-9/report.pdf", station.tokens["auditor"],
                 lang="fr").status_code == 422


def test_pdf_refused_when_the_ledger_cannot_record_it(station: Station) -> None:
    # the default recorder opens the writer, which the station's own writer holds: 503
    app = create_app(station.data, clock=station.clock, report_setup=SETUP)
    size = station.ledger.size
    with running_server(app) as base:
        r = fetch(base, f"/v1/reports/items/{E9}/report.pdf", station.tokens["auditor"])
    assert r.status_code == 503 and "daemon" in r.json()["detail"]
    assert station.ledger.size == size


def test_locker_report_cli(tmp_path: Path) -> None:
    from lockerd.cli import main
    from tests.integration.report_support import people_toml

    st = build_report_station(tmp_path)
    st.close()
    cfg = tmp_path / "station.toml"
    cfg.write_text(people_toml(), encoding="utf-8")
    out = tmp_path / "c9.pdf"
    code = main(["report", "--data", str(st.data), "--case", "C-9", "--out", str(out),
                 "--config", str(cfg), "--role", "auditor", "--by", "audit1"])
    assert code == 0
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "刘芳" in text and COMPLAINANT_PHONE in text
    with Ledger.open(st.data, readonly=True) as ledger:
        last = ledger.entry(ledger.size - 1).body
    assert last["kind"] == "report.issued" and last["actor"] == "audit1"
    assert last["pdf_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    bad = main(["report", "--data", str(st.data), "--case", "NOPE", "--out", str(out)])
    assert bad == 2
    # `locker api` on its own: the report's issue is recorded through the ledger's writer
    from api.auth import Role, TokenStore

    store = TokenStore(st.data)
    token = store.create(Role.CLERK, "zhou")[1]
    store.close()
    with running_server(create_app(st.data, report_setup=SETUP)) as base:
        r = fetch(base, f"/v1/reports/items/{E9}/report.pdf", token)
    assert r.status_code == 200, r.text
    with Ledger.open(st.data, readonly=True) as ledger:
        last = ledger.entry(int(r.headers["X-Report-Entry"])).body
    assert last["kind"] == "report.issued" and last["actor"] == "zhou"
    assert last["role"] == "clerk"


def test_the_daemon_records_reports_through_its_own_writer(tmp_path: Path) -> None:
    import asyncio

    from api.auth import Role, TokenStore
    from tests.integration.daemon_harness import running_station

    async def main() -> None:
        async with running_station(tmp_path, api=True) as h:
            labels = await h.register_and_hand_over("D-1", "off1", [71])
            await h.rt.call(h.rt.ledger.checkpoint)
            store = TokenStore(h.data)
            token = store.create(Role.AUDITOR, None)[1]
            store.close()
            assert h.daemon.api_url is not None
            async with httpx.AsyncClient(base_url=h.daemon.api_url, timeout=120) as client:
                r = await client.get("/v1/reports/cases/D-1/report.pdf",
                                     headers=auth(token), params={"lang": "en"})
            assert r.status_code == 200, r.text
            entry = await h.rt.call(h.rt.ledger.entry, int(r.headers["X-Report-Entry"]))
            assert entry.body["kind"] == "report.issued" and entry.body["case"] == "D-1"
            assert entry.body["report_sha256"] == r.headers["X-Report-SHA256"]
            assert labels[0] in pdf_text(r.content, tmp_path)

    asyncio.run(main())
