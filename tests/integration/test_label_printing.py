"""Label printing against the simulated printer (a real TCP peer): 50 labels printed,
rendered and read back by the scanner pipeline in TSPL and in ZPL; printer faults; the
ledger record of every printed label; ``locker label print``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from custody.label_prints import LABEL_PRINTED
from custody.labels import make_label, parse_label
from custody.ledger import Ledger
from custody.ports import PrintedLabel
from custody.projection import Projection
from hw_sim.printer_sim import SimulatedPrinter
from lockerd.cli import main
from lockerd.labels import LabelDesk
from printer.client import NetworkLabelPrinter
from printer.errors import JobRefusedError, PaperOutError, PrinterOfflineError
from scanner.pipeline import LabelReader, check_reads
from tests.integration.report_support import PEOPLE, build_report_station, people_toml

DESCRIPTIONS = ("撬棍", "手机(黑色)", "现金 5000 元", "笔记本电脑", "Case file, fraud", "钱包")


@pytest.fixture()
def sim() -> Iterator[SimulatedPrinter]:
    printer = SimulatedPrinter().start()
    try:
        yield printer
    finally:
        printer.stop()


def _labels(n: int, seed: int) -> list[PrintedLabel]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = "exhibit" if rng.random() < 0.7 else "case_file"
        code = make_label(kind, int(rng.integers(2020, 2031)), int(rng.integers(0, 1_000_000)))
        out.append(PrintedLabel(code.text, f"C-{i}", DESCRIPTIONS[i % len(DESCRIPTIONS)],
                                "2026-03-02", "城关派出所", "王伟"))
    return out


@pytest.mark.parametrize("language", ["tspl", "zpl"])
def test_fifty_labels_round_trip(sim: SimulatedPrinter, language: str) -> None:
    printer = NetworkLabelPrinter(f"tcp://{sim.address}", language)
    labels = _labels(50, seed=16 if language == "tspl" else 61)
    reader = LabelReader()
    for label in labels:
        printer.print_label(label)
    printed = sim.printed
    assert len(printed) == 50 and all(p.language == language for p in printed)
    for label, image in zip(labels, printed, strict=True):
        reads = reader.read(image.png())
        formats = {r.format for r in reads if r.text == label.code}
        assert {"Code128", "QRCode"} <= formats, (label.code, [(r.text, r.format) for r in reads])
        scan = check_reads(reads)
        assert [x.text for x in scan.labels] == [label.code] and not scan.rejected
        # the check character read back is the scheme's
        assert parse_label(label.code).text[-1] == label.code[-1]


def test_tspl_sends_chinese_as_native_gb_text_and_zpl_as_a_bitmap(sim: SimulatedPrinter) -> None:
    label = _labels(1, seed=1)[0]
    tspl = NetworkLabelPrinter(f"tcp://{sim.address}", "tspl").job(label)
    zpl = NetworkLabelPrinter(f"tcp://{sim.address}", "zpl").job(label)
    assert b'"TSS24.BF2"' in tspl and "城关派出所".encode("gb2312") in tspl
    assert b"BITMAP" not in tspl
    assert b"^GFA" in zpl and "城关".encode() not in zpl
    assert f"^FD{label.code}^FS".encode() in zpl  # ASCII in the printer's own font
    # a character outside GB2312 goes to TSPL as a bitmap
    odd = PrintedLabel(label.code, "C-1", "𠀀 specimen", "2026-03-02", "站", "王伟")
    assert b"BITMAP" in NetworkLabelPrinter(f"tcp://{sim.address}", "tspl").job(odd)


@pytest.mark.parametrize("language", ["tspl", "zpl"])
def test_faults_are_reported_and_the_label_prints_again(
    sim: SimulatedPrinter, language: str
) -> None:
    printer = NetworkLabelPrinter(f"tcp://{sim.address}", language, timeout=2)
    label = _labels(1, seed=2)[0]
    sim.paper_out()
    with pytest.raises(PaperOutError, match="out of labels"):
        printer.print_label(label)
    sim.resume()
    sim.refuse_next_job()
    with pytest.raises(JobRefusedError, match="the label was not printed"):
        printer.print_label(label)
    with pytest.raises(JobRefusedError, match="paused"):  # it stays paused until resumed
        printer.print_label(label)
    assert sim.printed == []
    sim.resume()
    sim.go_offline()
    with pytest.raises(PrinterOfflineError, match="does not answer"):
        printer.print_label(label)
    sim.come_online()
    printer.print_label(label)
    assert len(sim.printed) == 1


def test_device_file(tmp_path: Path) -> None:
    device = tmp_path / "lp0"
    device.touch()
    NetworkLabelPrinter(str(device), "tspl").print_label(_labels(1, seed=3)[0])
    assert device.read_bytes().startswith(b"SIZE 70 mm,50 mm")
    with pytest.raises(PrinterOfflineError):
        NetworkLabelPrinter(str(tmp_path / "no" / "lp0"), "zpl").print_label(
            _labels(1, seed=3)[0])


def test_desk_prints_missing_labels_and_records_each(
    sim: SimulatedPrinter, tmp_path: Path
) -> None:
    st = build_report_station(tmp_path)
    ledger = st.ledger
    desk = LabelDesk(
        NetworkLabelPrinter(f"tcp://{sim.address}", "tspl"),
        projection=lambda: Projection.rebuild(ledger.entries()),
        append=lambda kind, body, actor: ledger.append(kind, body, actor=actor),
        station="城关派出所", timezone="Asia/Shanghai", people=PEOPLE,
        printer_name=sim.address, language="tspl",
    )
    first = desk.print_items(["E2026-000009-O"], reason="registration", actor="wang")
    assert first.printed == ("E2026-000009-O",)
    handover = desk.print_missing("C-9", actor="zhou")
    assert handover.printed == ("E2026-000010-1",)  # only the one without a label
    assert desk.print_missing("C-9", actor="zhou").printed == ()
    body = ledger.entry(handover.seqs[0]).body
    assert body["kind"] == LABEL_PRINTED and body["reason"] == "handover"
    assert body["case"] == "C-9" and body["actor"] == "zhou"
    size = ledger.size
    sim.paper_out()
    with pytest.raises(PaperOutError):
        desk.print_items(["E2026-000009-O"], reason="reprint", actor="zhou")
    assert ledger.size == size  # nothing recorded for a label that was not printed
    sim.resume()
    again = desk.print_items(["E2026-000009-O"], reason="reprint", actor="zhou")
    assert ledger.entry(again.seqs[0]).body["reason"] == "reprint"
    assert len(sim.printed) == 3
    st.close()


def test_locker_label_print(sim: SimulatedPrinter, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    st = build_report_station(tmp_path)
    st.close()
    cfg = tmp_path / "station.toml"
    cfg.write_text(people_toml(), encoding="utf-8")
    base = ["label", "print", "--data", str(st.data), "--config", str(cfg), "--language", "zpl"]
    assert main([*base, "--item", "E2026-000010-1", "--printer", f"tcp://{sim.address}",
                 "--by", "zhou"]) == 0
    assert "printed E2026-000010-1" in capsys.readouterr().out
    with Ledger.open(st.data, readonly=True) as ledger:
        last = ledger.entry(ledger.size - 1).body
    assert last["kind"] == LABEL_PRINTED and last["reason"] == "reprint"
    sim.go_offline()
    # a printer that is down: the work could not be done (lockerd.exitcodes.FAILED)
    assert main([*base, "--item", "E2026-000010-1", "--printer", f"tcp://{sim.address}"]) == 5
    assert "does not answer" in capsys.readouterr().err


def test_locker_sim_serves_a_printer(tmp_path: Path) -> None:
    import json
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "lockerd", "sim", "--no-tcp", "--printer", "127.0.0.1:0",
         "--printer-out", str(tmp_path), "--json"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        endpoints = json.loads(proc.stdout.readline())
        NetworkLabelPrinter(endpoints["printer"], "zpl").print_label(_labels(1, seed=4)[0])
        assert [p.name for p in tmp_path.iterdir()] == ["label-0001.png"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


def test_the_daemon_prints_missing_labels_at_a_handover(
    sim: SimulatedPrinter, tmp_path: Path
) -> None:
    import asyncio

    from lockerd.labels import RuntimeLabels
    from tests.integration.daemon_harness import running_station

    async def main() -> None:
        async with running_station(tmp_path) as h:
            labels = RuntimeLabels(h.rt, NetworkLabelPrinter(f"tcp://{sim.address}", "zpl"))
            codes = await h.register_and_hand_over("L-1", "off1", [81, 82])
            first = await labels.print_items(codes[:1], reason="registration", actor="off1")
            assert first.printed == (codes[0],)
            done = await labels.print_missing("L-1", actor="clerk")
            assert done.printed == (codes[1],)
            body = (await h.rt.call(h.rt.ledger.entry, done.seqs[0])).body
            assert body["kind"] == LABEL_PRINTED and body["reason"] == "handover"
            sim.go_offline()
            with pytest.raises(PrinterOfflineError):
                await labels.print_items(codes[:1], reason="reprint", actor="clerk")
            assert (await labels.print_missing("L-1", actor="clerk")).printed == ()

    asyncio.run(main())
    assert len(sim.printed) == 2
