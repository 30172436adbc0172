"""The daemon as a process: SIGKILL in the middle of the day loses and doubles nothing;
``locker daemon`` shuts down cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from custody.ledger.ledger import Ledger
from custody.ledger.station import init_station
from custody.ledger.verify import verify_data_dir
from lockerd.broker import MosquittoBroker
from lockerd.mqtt import LEDGER_CURSOR
from lockerd.outbox import OutboxStore
from tests.conftest import REPO_ROOT
from tests.integration.conftest import Subscriber

N_ITEMS = 4


def _child(data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.daemon_child", str(data), str(N_ITEMS)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_sigkill_in_the_middle_of_the_day_loses_and_doubles_nothing(tmp_path: Path) -> None:
    data = tmp_path / "station"
    first = _child(data)
    assert first.stdout is not None
    guard = threading.Timer(120, first.kill)  # a hung child must not hang the suite
    guard.start()
    acked: list[tuple[str, int]] = []
    for line in first.stdout:
        if line.startswith("ACK"):
            _, label, seq_text = line.split()
            acked.append((label, int(seq_text)))
            if len(acked) == 2:
                os.kill(first.pid, signal.SIGKILL)  # in the middle of the next check-in
                break
    first.wait(30)
    guard.cancel()
    assert first.returncode == -signal.SIGKILL
    assert len(acked) == 2

    second = _child(data)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err[-2000:]
    assert out.splitlines()[-1] == "DONE"

    report = verify_data_dir(data, workers=1)
    assert report.ok, report.summary()
    with Ledger.open(data, readonly=True) as ledger:
        entries = list(ledger.entries())
        for label, seq in acked:  # every acknowledged write is still there, unchanged
            body = ledger.entry(seq).body
            assert body["kind"] == "item.stored" and body["item"] == label
        stored = Counter(e.body["item"] for e in entries if e.kind == "item.stored")
        assert len(stored) == N_ITEMS and set(stored.values()) == {1}  # none lost, none doubled
        assert Counter(e.kind for e in entries)["case.registered"] == N_ITEMS
        size = ledger.size
    store = OutboxStore(data / "outbox.db")
    try:
        assert store.cursor(LEDGER_CURSOR) == size - 1
        custody_rows = [r for r in store.pending(limit=10_000) if r.topic.endswith("/custody")]
        assert len(custody_rows) == size  # each entry enqueued exactly once, across the crash
    finally:
        store.close()


def test_locker_daemon_stops_cleanly_on_sigterm(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    paths = init_station(tmp_path / "st", "test.example/sig")
    text = paths.config.read_text().replace("[station]\n", '[station]\nid = "sig"\n', 1)
    text += f"\n[mqtt]\nenabled = true\nport = {mosquitto.port}\n\n[api]\nport = 0\n"
    paths.config.write_text(text)  # the config `locker init` wrote, plus MQTT and the API
    sub = mqtt_subscriber(mosquitto.port, ["locker/sig/status"], persistent=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockerd", "daemon", "--config", str(paths.config)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert sub.wait_for(lambda: b"online" in sub.payloads("locker/sig/status"), 60)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-2000:]
        assert "lockerd stopped" in err
        assert sub.wait_for(lambda: sub.payloads("locker/sig/status")[-1:] == [b"offline"])
    finally:
        proc.kill()
        proc.wait()


def _return_child(data: Path, phase: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.return_child", str(data), phase],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_sigkill_in_the_middle_of_a_return_resumes_at_the_compartment_the_ledger_names(
    tmp_path: Path,
) -> None:
    data = tmp_path / "station"
    first = _return_child(data, "first")
    assert first.stdout is not None
    guard = threading.Timer(120, first.kill)
    guard.start()
    said: dict[str, str] = {}
    for line in first.stdout:
        word, _, rest = line.strip().partition(" ")
        said[word] = rest
        if word == "OPENED":
            os.kill(first.pid, signal.SIGKILL)  # the store step released, the door untouched
            break
    first.wait(30)
    guard.cancel()
    assert first.returncode == -signal.SIGKILL, first.stderr.read() if first.stderr else ""
    assert said["RETURNED"] == said["OPENED"] == "A/2"  # where the file was, A/0 being free

    second = _return_child(data, "again")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err[-2000:]
    lines = dict(line.partition(" ")[::2] for line in out.splitlines())
    assert lines["FREE"] == "A/0"  # what a fresh choice would have taken
    assert lines["STORED"] == "A/2"  # the compartment the ledger names
    assert "DONE" in lines

    assert verify_data_dir(data, workers=1).ok
    with Ledger.open(data, readonly=True) as ledger:
        bodies = [e.body for e in ledger.entries()]
    returned = [b for b in bodies if b["kind"] == "item.returned"]
    assert [(b["item"], b["compartment"]) for b in returned] == [
        (returned[0]["item"], "A/2")]
    last = [b for b in bodies if b["kind"] == "item.stored"][-1]
    assert (last["item"], last["compartment"]) == (returned[0]["item"], "A/2")
    assert not [b for b in bodies if b["kind"].startswith("alarm.")]
