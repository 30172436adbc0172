"""The API shows a photo's thumbnail only after checking it against the verified photo:
a tampered thumbnail file is rebuilt, never served (scanner/derived.py, issue #17)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scanner.photostore import make_thumbnail
from tests.integration.api_support import Station, auth, build_station, serve_station


@pytest.fixture()
def station(tmp_path: Path) -> Iterator[Station]:
    st = build_station(tmp_path)
    try:
        yield st
    finally:
        st.close()


def test_a_tampered_thumbnail_is_rebuilt_before_it_is_served(station: Station) -> None:
    ref = station.photo_refs[0]
    path = station.photos.thumb_path(ref.sha256)
    honest = make_thumbnail(station.photos.get(ref.sha256), [])  # no label in this photo
    forged = make_thumbnail(station.photos.get(station.photo_refs[1].sha256), [])
    path.write_bytes(forged)  # another exhibit's picture under this photo's name
    with serve_station(station) as url:
        r = httpx.get(f"{url}/v1/photos/{ref.sha256}/thumbnail",
                      headers=auth(station.tokens["clerk"]), timeout=30)
    assert r.status_code == 200 and r.headers["x-photo-sha256"] == ref.sha256
    assert r.content == honest != forged
    assert r.headers["x-content-sha256"] == hashlib.sha256(honest).hexdigest()
    assert path.read_bytes() == honest  # rebuilt on disk too


def test_no_thumbnail_for_a_photo_that_no_longer_matches_its_hash(station: Station) -> None:
    ref = station.photo_refs[0]
    station.photos.path(ref.sha256).write_bytes(b"\xff\xd8 another picture")
    with serve_station(station) as url:
        r = httpx.get(f"{url}/v1/photos/{ref.sha256}/thumbnail",
                      headers=auth(station.tokens["clerk"]), timeout=30)
    assert r.status_code == 500 and "damaged" in r.text
