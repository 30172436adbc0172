"""``locker log publish``, ``locker mirror`` and ``locker restore`` through the command
line's ``main``, against the API served on a free port: what they print, what they
refuse, and a restored station with and without its signing key."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.app import create_app
from api.auth import Role, TokenStore
from api.server import running_server
from custody.ledger import Ledger
from custody.ledger.note import Signer
from custody.ledger.station import init_station
from lockerd.cli import main
from tests.integration.offsite_support import extra_files, proxy_to, tree_files
from tests.ledger_support import make_station, put_photo


def locker(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def station(tmp_path: Path) -> Path:
    data = make_station(tmp_path, 300, every_n=0, every_s=0, photo=True)
    with Ledger.open(data) as ledger:
        ledger.checkpoint()
    return data


def _token(data: Path) -> str:
    store = TokenStore(data)
    try:
        return store.create(Role.MIRROR)[1]
    finally:
        store.close()


def test_log_publish_prints_what_it_wrote(station: Path, tmp_path: Path) -> None:
    code, out, _ = locker("log", "publish", "--data", str(station))
    assert code == 0 and "published size 300 (was 0): 3 tiles, 2 entry bundles" in out
    code, out, _ = locker("log", "publish", "--data", str(station))
    assert code == 0 and "published size 300 (was 300): 0 tiles, 0 entry bundles" in out
    empty = tmp_path / "empty"
    init_station(empty, "test.example/empty")
    code, out, _ = locker("log", "publish", "--data", str(empty))
    assert code == 0 and "no signed checkpoint yet" in out


def test_mirror_restore_with_and_without_the_signing_key(station: Path, tmp_path: Path) -> None:
    locker("log", "publish", "--data", str(station))
    token = _token(station)
    mdir = tmp_path / "mirror"
    other_key = tmp_path / "other"
    init_station(other_key, "test.example/other")
    with running_server(create_app(station)) as url:
        code, _, err = locker("mirror", "--from", url + "/log", "--data", str(mdir),
                              "--key", str(other_key / "station.vkey"), "--token", token)
        assert code == 1 and "no signature by a trusted key" in err
        assert not (mdir / "checkpoint").exists() and not (mdir / "station.vkey").exists()
        code, out, err = locker("mirror", "--from", url + "/log", "--data", str(mdir),
                                "--key", str(station / "station.vkey"), "--token", token)
        assert code == 0, err
        assert "mirrored size 300 (was 0)" in out and "1 photos stored" in out
        code, _, err = locker("mirror", "--from", url + "/log", "--data", str(mdir),
                              "--key", str(other_key / "station.vkey"), "--token", token)
        assert code == 2 and "differs from the key pinned" in err
        code, _, err = locker("mirror", "--from", url, "--data", str(tmp_path / "m2"))
        assert code == 5 and "HTTP 401" in err and "role auditor or mirror" in err  # not done

    # the restore refuses a directory in use and a key that is not the station's
    code, _, err = locker("restore", "--from", str(mdir), "--data", str(station))
    assert code == 2 and "not empty" in err
    code, _, err = locker("restore", "--from", str(mdir), "--data", str(tmp_path / "x"),
                          "--signing-key", str(other_key / "station.key"))
    assert code == 2 and "not this station's signing key" in err and not (tmp_path / "x").exists()

    # without the key: read and verified, signs nothing, and says so
    bare = tmp_path / "bare"
    code, out, _ = locker("restore", "--from", str(mdir), "--data", str(bare))
    assert code == 0 and "restored 300 entries, 1 checkpoints and 1 photos" in out
    assert "NO SIGNING KEY" in out and not (bare / "station.key").exists()
    assert json.loads((bare / "restored.json").read_text())["signing_key"] is False
    code, out, _ = locker("audit", "verify", "--data", str(bare))
    assert code == 0 and out.startswith("OK: 300 entries")
    code, _, _ = locker("audit", "export", "--data", str(bare), "--out", str(tmp_path / "b"))
    assert code == 0
    with Ledger.open(bare, readonly=True) as ledger:
        assert ledger.size == 300
    code, _, err = locker("log", "publish", "--data", str(bare))
    assert code == 0  # publishing reads; it never signs
    code, out, err = locker("audit", "proof", "--data", str(bare), "--seq", "5")
    assert code == 0 and out.startswith("c2sp.org/tlog-proof@v1") and "reading only" in err
    code, _, err = locker("daemon", "--config", str(bare / "config.toml"))
    assert code != 0 and "signs nothing until station.key is put back" in err

    # with the key from the backup: the station signs again, on top of the same history
    keyed = tmp_path / "keyed"
    code, out, _ = locker("restore", "--from", str(mdir), "--data", str(keyed),
                          "--signing-key", str(station / "station.key"))
    assert code == 0 and "NO SIGNING KEY" not in out
    assert stat.S_IMODE(os.stat(keyed / "station.key").st_mode) == 0o600
    with Ledger.open(keyed) as ledger:
        ref = put_photo(keyed, b"\xff\xd8 after the restore \xff\xd9")
        ledger.append("item.note", {"note": "restored", "photos": [ref]}, actor="clerk:wang")
        ledger.checkpoint()
    code, out, _ = locker("audit", "verify", "--data", str(keyed))
    assert code == 0 and out.startswith("OK: 301 entries")


def test_a_photo_the_station_lacks_is_listed_and_retried(station: Path, tmp_path: Path) -> None:
    locker("log", "publish", "--data", str(station))
    [photo] = [p for p in (station / "photos").glob("??/*") if "." not in p.name]
    kept = photo.read_bytes()
    photo.unlink()
    token = _token(station)
    mdir = tmp_path / "mirror"
    with running_server(create_app(station)) as url:
        args = ("mirror", "--from", url + "/log", "--data", str(mdir), "--token", token)
        code, out, err = locker(*args)
        assert code == 0 and "1 photos missing at the station" in out
        assert "photos-missing.txt" in err
        assert (mdir / "photos-missing.txt").read_text().startswith(photo.name)
        photo.write_bytes(kept)
        code, out, _ = locker(*args)
        assert code == 0 and "missing" not in out
    assert (mdir / "photos" / photo.name[:2] / photo.name).read_bytes() == kept
    assert not (mdir / "photos-missing.txt").exists()


def test_a_pull_overtaken_by_a_new_checkpoint_starts_again(station: Path, tmp_path: Path) -> None:
    """The station publishes (and, its tile now full, removes the partial tile the mirror
    was about to fetch) in the middle of a pull: the mirror pulls again from the newer
    checkpoint."""
    locker("log", "publish", "--data", str(station))
    token = _token(station)
    moved: list[str] = []

    def move_on(path: str) -> None:
        if path.endswith("/tile/entries/001.p/44") and not moved:
            moved.append(path)
            # enough to fill tile 1: only then may the station drop its partial tiles
            with Ledger.open(station) as ledger:
                ledger.append_many([("item.note", {"n": i}, "clerk:wang") for i in range(220)])
                ledger.checkpoint()
            locker("log", "publish", "--data", str(station))

    mdir = tmp_path / "mirror"
    with running_server(create_app(station)) as url, proxy_to(url) as proxy:
        proxy.before = move_on
        code, out, err = locker("mirror", "--from", proxy.url + "/log", "--data", str(mdir),
                                "--token", token)
    assert moved and code == 0, err
    assert "superseded by a newer checkpoint" in err and "mirrored size 520" in out
    assert tree_files(mdir) == tree_files(station / "tiles") and not extra_files(mdir)


def test_cosignature_lines_are_carried_to_the_mirror_and_the_restore(
    station: Path, tmp_path: Path
) -> None:
    """Signature lines of keys the mirror does not know (a witness's) are kept verbatim
    and merged, and reach the restored ledger's checkpoints."""
    locker("log", "publish", "--data", str(station))
    published = station / "tiles" / "checkpoint"
    note = published.read_text()
    text = note[: note.index("\n\n") + 1]
    witness = Signer("witness.example/w1", Ed25519PrivateKey.generate())
    line_1 = witness.signature_line(text)
    published.write_text(note + line_1)  # as the witness step publishes it
    token = _token(station)
    mdir = tmp_path / "mirror"
    with running_server(create_app(station)) as url:
        args = ("mirror", "--from", url + "/log", "--data", str(mdir), "--token", token)
        assert locker(*args)[0] == 0
        assert (mdir / "checkpoint").read_text() == note + line_1
        other = Signer("witness.example/w2", Ed25519PrivateKey.generate()).signature_line(text)
        published.write_text(note + other)  # a later fetch shows another witness only
        assert locker(*args)[0] == 0
    merged = note + line_1 + other
    assert (mdir / "checkpoint").read_text() == merged
    new = tmp_path / "restored"
    assert locker("restore", "--from", str(mdir), "--data", str(new))[0] == 0
    with Ledger.open(new, readonly=True) as ledger:
        assert [cp.note for cp in ledger.checkpoints()] == [merged]
    code, out, _ = locker("audit", "verify", "--data", str(new))
    assert code == 0 and out.startswith("OK")
