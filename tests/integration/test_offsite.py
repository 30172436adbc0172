"""The ledger leaves the station (issue 13, DESIGN.md §3.6), with real processes on real
sockets: the station served by ``locker api``, ``locker mirror`` and ``locker restore`` as
subprocesses, a proxy in between where a test needs one.

- (e) entry bundles and photos need a token of role auditor or mirror;
- (b) the station's disk is lost: a restore from the mirror verifies, against the station's
  own checkpoints and one an auditor kept;
- (c) a byte flipped in transit in a tile, an entry bundle or a photo: refused, nothing of
  that response stored;
- (d) the mirror killed mid-pull resumes: nothing missing, nothing fetched or stored twice;
- (a, the mirror's half) the operator rewrites an entry and re-signs the history with the
  station's key: the mirror says FORK, keeps both checkpoints and stops following.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from custody.ledger import Ledger
from custody.ledger.errors import StationNotFoundError
from custody.ledger.note import Verifier, open_note
from custody.ledger.publish import TILES_DIR, checkpoint_size, publish_tiles
from tests.integration.api_support import ORIGIN, auth
from tests.integration.conftest import wait_until
from tests.integration.offsite_support import (
    ENV,
    OffsiteStation,
    extra_files,
    locker_api,
    make_offsite_station,
    mirror_args,
    proxy_to,
    rewrite_history,
    run_locker,
    tree_files,
)


@pytest.fixture()
def station(tmp_path: Path) -> OffsiteStation:
    st = make_offsite_station(tmp_path)
    st.st.close()
    return st


def test_bundles_and_photos_need_an_auditor_or_mirror_token(station: OffsiteStation) -> None:
    sha = station.photos[0]
    with locker_api(station.data) as url:
        log = url + "/log"
        cp = httpx.get(log + "/checkpoint", timeout=30)
        assert cp.status_code == 200 and cp.headers["content-type"].startswith("text/plain")
        assert cp.text == (station.data / TILES_DIR / "checkpoint").read_text()
        assert httpx.get(log + "/tile/0/000", timeout=30).content == (
            station.data / TILES_DIR / "tile/0/000"
        ).read_bytes()
        assert httpx.get(log + "/key", timeout=30).text.strip() == (
            station.data / "station.vkey"
        ).read_text().strip()
        for path in ("/tile/entries/000", f"/photos/{sha}"):
            assert httpx.get(log + path, timeout=30).status_code == 401
            clerk = httpx.get(log + path, headers=auth(station.clerk_token), timeout=30)
            assert clerk.status_code == 403
            ok = httpx.get(log + path, headers=auth(station.mirror_token), timeout=30)
            assert ok.status_code == 200 and ok.content
        # a mirror's token reads the log and no custody state
        cases = httpx.get(url + "/v1/cases", headers=auth(station.mirror_token), timeout=30)
        assert cases.status_code == 200 and cases.json()["items"] == []
        for bad in ("/tile/0/0", "/tile/0/000.p/0", "/tile/0/..%2F..%2Fledger.db",
                    "/tile/entries/000.p/999"):
            assert httpx.get(log + bad, headers=auth(station.mirror_token),
                             timeout=30).status_code == 404


def test_restore_after_the_station_disk_is_lost(station: OffsiteStation, tmp_path: Path) -> None:
    data = station.data
    kept = tmp_path / "auditor-checkpoint.txt"  # an auditor's copy from an earlier visit
    kept.write_text(run_locker("audit", "checkpoint", "--data", str(data)).stdout)
    with Ledger.open(data, readonly=True) as ledger:
        entries = [e.raw for e in ledger.entries()]
        size = ledger.size
    vkey = (data / "station.vkey").read_text().strip()
    mdir = tmp_path / "mirror"
    with locker_api(data) as url:
        done = run_locker(*mirror_args(url, mdir, station.mirror_token, "--key", vkey))
    assert done.returncode == 0, done.stderr
    assert f"mirrored size {size}" in done.stdout
    photos = {p.name: p.read_bytes() for p in (data / "photos").glob("??/*") if "." not in p.name}
    shutil.rmtree(data)  # the disk dies
    new = tmp_path / "restored"
    done = run_locker("restore", "--from", str(mdir), "--data", str(new))
    assert done.returncode == 0, done.stderr
    assert "NO SIGNING KEY" in done.stdout
    verified = run_locker("audit", "verify", "--data", str(new), "--checkpoint", str(kept),
                          "--json")
    report = json.loads(verified.stdout)
    assert verified.returncode == 0, verified.stdout
    assert report["size"] == size and report["auditor_checkpoints"] == 1
    assert report["photos_checked"] >= len(photos)
    with Ledger.open(new, readonly=True) as ledger:
        assert [e.raw for e in ledger.entries()] == entries
    assert {p.name: p.read_bytes() for p in (new / "photos").glob("??/*")} == photos
    assert (new / "station.vkey").read_text().strip() == vkey
    with pytest.raises(StationNotFoundError, match="restored from a mirror without its signing"):
        Ledger.open(new)


@pytest.mark.parametrize("victim", ["tile/0/001", "tile/entries/000", "photo"])
def test_a_byte_flipped_in_transit_is_refused(
    station: OffsiteStation, tmp_path: Path, victim: str
) -> None:
    suffix = station.photos[0] if victim == "photo" else victim
    mdir = tmp_path / "mirror"
    with locker_api(station.data) as url, proxy_to(url) as proxy:
        proxy.flip = {suffix}
        done = run_locker(*mirror_args(proxy.url, mdir, station.mirror_token))
        assert done.returncode == 1 and "refused" in done.stderr, done.stderr
        assert any(p.endswith(suffix) for p in proxy.paths)
        if victim == "photo":
            assert not (mdir / "photos" / suffix[:2] / suffix).exists()
            assert not (mdir / "tile/entries/000").exists()  # its bundle waits for it
        else:
            assert not (mdir / victim).exists()
        assert not (mdir / "checkpoint").exists()
        proxy.flip = set()
        again = run_locker(*mirror_args(proxy.url, mdir, station.mirror_token))
        assert again.returncode == 0, again.stderr
    assert tree_files(mdir) == tree_files(station.data / TILES_DIR) and not extra_files(mdir)


def test_a_killed_mirror_resumes_without_gaps_or_doubles(
    tmp_path: Path,
) -> None:
    station = make_offsite_station(tmp_path / "s", extra=256 * 48)
    station.st.close()
    mdir = tmp_path / "mirror"
    with locker_api(station.data) as url, proxy_to(url) as proxy:
        proxy.delay = 0.1
        proc = subprocess.Popen(
            [sys.executable, "-m", "lockerd.cli",
             *mirror_args(proxy.url, mdir, station.mirror_token)],
            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            assert wait_until(lambda: len(list((mdir / "tile/0").glob("0*"))) >= 3, 120)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        held = {p.name for p in (mdir / "tile/entries").glob("0*") if p.is_file()}
        assert held and not (mdir / "checkpoint").exists()
        proxy.delay = 0.0
        first_run = len(proxy.paths)
        done = run_locker(*mirror_args(proxy.url, mdir, station.mirror_token))
        assert done.returncode == 0, done.stderr
        second = proxy.paths[first_run:]
    # nothing held was fetched again; nothing is missing; no leftovers
    assert not [p for p in second if p.rsplit("/", 1)[-1] in held and "entries" in p]
    assert tree_files(mdir) == tree_files(station.data / TILES_DIR) and not extra_files(mdir)
    assert not [p for p in mdir.rglob("*.tmp") if p.is_file()]
    assert sorted(p.name for p in (mdir / "photos").glob("??/*")) == sorted(set(station.photos))


def _rewrite_history(data: Path, tmp: Path) -> None:
    """The operator's attack: entry 5 changed, signed again with the station's own key."""
    rewrite_history(data, ORIGIN, tmp, entry=5, field="note", value="nothing was ever here")


def test_a_rewritten_history_is_a_fork(station: OffsiteStation, tmp_path: Path) -> None:
    mdir = tmp_path / "mirror"
    with locker_api(station.data) as url:
        first = run_locker(*mirror_args(url, mdir, station.mirror_token))
        assert first.returncode == 0, first.stderr
        held_note = (mdir / "checkpoint").read_text()
        _rewrite_history(station.data, tmp_path)
        follow = run_locker(*mirror_args(url, mdir, station.mirror_token, "--follow",
                                         "--interval", "0.2"))
        assert follow.returncode == 1
        assert "FORK" in follow.stderr and "ALARM" in follow.stderr
        again = run_locker(*mirror_args(url, mdir, station.mirror_token))
        assert again.returncode == 1 and "FORK" in again.stderr  # it stopped following
    verifier = Verifier.from_vkey((mdir / "station.vkey").read_text())
    forks = list((mdir / "forks").glob("*.note"))
    assert len(forks) == 1 and (mdir / "FORK").is_file()
    held_size, held_root, _ = checkpoint_size(held_note)
    kept = json.loads((mdir / "checkpoints" / f"{held_size}.json").read_text())["note"]
    new_note = forks[0].read_text()
    # both are validly signed by the station's key, and they disagree
    open_note(kept, [verifier])
    open_note(new_note, [verifier])
    new_size, new_root, _ = checkpoint_size(new_note)
    assert new_size == held_size + 1 and new_root != held_root
    # what the mirror holds is untouched: still the station's honest history
    assert (mdir / "checkpoint").read_text() == held_note


def test_a_following_mirror_keeps_up_and_stops_on_sigterm(
    station: OffsiteStation, tmp_path: Path
) -> None:
    mdir = tmp_path / "mirror"
    held = mdir / "checkpoint"

    def at(size: int) -> bool:
        return held.is_file() and checkpoint_size(held.read_text())[0] == size

    with Ledger.open(station.data, readonly=True) as ledger:
        size = ledger.size
    with locker_api(station.data) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lockerd.cli",
             *mirror_args(url, mdir, station.mirror_token, "--follow", "--interval", "0.2")],
            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert wait_until(lambda: at(size), 60)
            with Ledger.open(station.data) as ledger:
                ledger.append_many(
                    [("item.note", {"note": f"later {i}"}, "clerk:zhou") for i in range(300)]
                )
                ledger.checkpoint()
            publish_tiles(station.data)
            assert wait_until(lambda: at(size + 300), 60)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"mirrored size {size + 300} (was {size})" in out
    assert tree_files(mdir) == tree_files(station.data / TILES_DIR) and not extra_files(mdir)
