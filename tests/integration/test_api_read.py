"""The read API over real HTTP (httpx against uvicorn on a free port): every endpoint, every
role, and the refusals, on a real station written through the real custody services."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from custody.ledger.note import Verifier, open_note
from custody.ledger.tlogproof import HEADER, parse_tlog_proof, verify_tlog_proof
from tests.integration.api_support import (
    E1,
    E2,
    F1,
    ORIGIN,
    Station,
    auth,
    build_station,
    serve_station,
)

ROLES = ("auditor", "clerk", "supervisor", "officer")


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    st = build_station(tmp_path_factory.mktemp("api"))
    try:
        yield st
    finally:
        st.close()


@pytest.fixture(scope="module")
def url(station: Station) -> Iterator[str]:
    with serve_station(station) as base:
        yield base


def get(url: str, path: str, token: str | None = None, **params: object) -> httpx.Response:
    headers = auth(token) if token else {}
    return httpx.get(url + path, headers=headers, params=params, timeout=30)  # type: ignore[arg-type]


# ---------------------------------------------------------------- authentication


DATA_PATHS = [
    "/v1/whoami",
    "/v1/cases",
    "/v1/cases/C-1",
    "/v1/cases/C-1/history",
    "/v1/items",
    f"/v1/items/{F1}",
    f"/v1/items/{F1}/history",
    "/v1/deadlines",
    "/v1/overdue",
    "/v1/cabinets",
    "/v1/cabinets/A",
    "/v1/alarms",
    "/v1/ledger",
    "/v1/ledger/entries",
    "/v1/ledger/entries/0",
    "/v1/ledger/checkpoint",
    "/v1/ledger/key",
    "/v1/ledger/proofs/0",
    "/v1/ledger/consistency?old=1",
    "/v1/ledger/verification",
    "/v1/photos/" + "0" * 64,
    "/v1/photos/" + "0" * 64 + "/thumbnail",
    f"/v1/reports/items/{F1}",
    "/v1/reports/cases/C-1",
    "/v1/refusals",
]


@pytest.mark.parametrize("path", DATA_PATHS)
def test_no_token_no_data(url: str, station: Station, path: str) -> None:
    r = httpx.get(url + path, timeout=30)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "no API token" in r.json()["detail"]
    bad = httpx.get(url + path, headers=auth("lkr_nonsense"), timeout=30)
    assert bad.status_code == 401
    assert bad.json()["detail"] == "unknown API token"


def test_revoked_token_is_refused(url: str, station: Station) -> None:
    r = get(url, "/v1/cases", station.tokens["revoked"])
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


def test_health_needs_no_token_and_gives_no_data(url: str, station: Station) -> None:
    # a data request waits for the derived state; after it, health says ready
    assert get(url, "/v1/cases", station.tokens["clerk"]).status_code == 200
    r = httpx.get(url + "/v1/health", timeout=30)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "ready": True}


@pytest.mark.parametrize("role", ROLES)
def test_whoami(url: str, station: Station, role: str) -> None:
    body = get(url, "/v1/whoami", station.tokens[role]).json()
    assert body["role"] == role
    assert body["person"] == {"auditor": "audit1", "clerk": "zhou", "supervisor": "zhao",
                              "officer": "wang"}[role]


def test_refusals_are_kept_and_shown_to_auditors(
    url: str, station: Station, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="api.auth"):
        r = get(url, "/v1/cases/C-2", station.tokens["officer"])
    assert r.status_code == 403
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "api.auth"]
    assert any("refused GET /v1/cases/C-2" in m and "officer, wang" in m for m in logged)
    httpx.get(url + "/v1/items", timeout=30)
    log = get(url, "/v1/refusals", station.tokens["auditor"], limit=500).json()
    reasons = [(x["path"], x["status"], x["person"]) for x in log["items"]]
    assert ("/v1/cases/C-2", 403, "wang") in reasons
    assert ("/v1/items", 401, None) in reasons
    assert get(url, "/v1/refusals", station.tokens["clerk"]).status_code == 403


def test_the_api_cannot_change_anything(url: str, station: Station) -> None:
    token = station.tokens["auditor"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/v1/cases", f"/v1/items/{F1}", "/v1/ledger/entries"):
            r = httpx.request(method, url + path, headers=auth(token), timeout=30)
            assert r.status_code == 405, (method, path)
    schema = httpx.get(url + "/openapi.json", timeout=30).json()
    methods = {m for ops in schema["paths"].values() for m in ops}
    assert methods == {"get"}


# ---------------------------------------------------------------- cases and items


@pytest.mark.parametrize("role", ["auditor", "clerk", "supervisor"])
def test_station_roles_see_every_case(url: str, station: Station, role: str) -> None:
    page = get(url, "/v1/cases", station.tokens[role]).json()
    assert [c["case_id"] for c in page["items"]] == ["C-1", "C-2"]
    assert page["total"] == 2 and page["next_offset"] is None


def test_officers_see_only_their_own_cases(url: str, station: Station) -> None:
    wang, chen = station.tokens["officer"], station.tokens["officer_chen"]
    assert [c["case_id"] for c in get(url, "/v1/cases", wang).json()["items"]] == ["C-1"]
    assert [c["case_id"] for c in get(url, "/v1/cases", chen).json()["items"]] == ["C-2"]
    assert get(url, "/v1/cases/C-1", wang).status_code == 200
    for path in ("/v1/cases/C-2", "/v1/cases/C-2/history", f"/v1/items/{E2}",
                 f"/v1/items/{E2}/history", f"/v1/reports/items/{E2}",
                 "/v1/reports/cases/C-2"):
        r = get(url, path, wang)
        assert r.status_code == 403, path
        assert "wang" in r.json()["detail"]
    labels = [i["label"] for i in get(url, "/v1/items", wang).json()["items"]]
    assert sorted(labels) == sorted([F1, E1])
    assert [d["label"] for d in get(url, "/v1/deadlines", chen).json()["items"]] == [E2]


def test_case_detail(url: str, station: Station) -> None:
    body = get(url, "/v1/cases/C-1", station.tokens["clerk"]).json()
    assert body["title"] == "Burglary at 12 Garden Road"
    assert body["items"] == [F1, E1]
    states = {i["label"]: (i["state"], i["compartment"], i["holder"]) for i in body["item_states"]}
    assert states == {F1: ("checked_out", None, "wang"), E1: ("stored", "A/2", None)}
    (handover,) = body["handovers"]
    assert handover["clerk"] == "zhou" and handover["missing"] == [] and handover["photos"]
    assert get(url, "/v1/cases/NOPE", station.tokens["clerk"]).status_code == 404


def test_items_pagination_and_filters(url: str, station: Station) -> None:
    token = station.tokens["supervisor"]
    first = get(url, "/v1/items", token, limit=2).json()
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_offset"] == 2
    rest = get(url, "/v1/items", token, limit=2, offset=2).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    every = [i["label"] for i in first["items"] + rest["items"]]
    assert sorted(every) == every and set(every) == {F1, E1, E2}
    stored = get(url, "/v1/items", token, state="stored").json()["items"]
    assert [i["label"] for i in stored] == [E1]
    assert get(url, "/v1/items", token, limit=0).status_code == 422
    assert get(url, "/v1/items", token, state="lost").status_code == 422
    assert get(url, "/v1/items/E2026-999999-0", token).status_code == 404


def test_item_history_is_the_whole_chain(url: str, station: Station) -> None:
    page = get(url, f"/v1/items/{F1}/history", station.tokens["officer"]).json()
    kinds = [e["kind"] for e in page["items"]]
    assert kinds[:4] == ["case.registered", "case.handed_over", "item.stored",
                         "item.checked_out"]
    assert kinds[4:] == ["notice.sent", "notice.sent"]  # the ladder: officer, supervisor
    seqs = [e["seq"] for e in page["items"]]
    assert seqs == sorted(seqs) and page["total"] == len(seqs)
    stored = page["items"][2]
    assert stored["actor"] == "zhou" and stored["compartment"] == "A/1"
    raw = base64.b64decode(stored["raw"])
    assert base64.b64decode(stored["leaf_hash"]) == leaf_hash(raw)
    assert station.ledger.entry(stored["seq"]).raw == raw
    (photo,) = stored["photos"]
    assert photo["url"] == f"/v1/photos/{photo['sha256']}"
    second = get(url, f"/v1/items/{F1}/history", station.tokens["auditor"], offset=2, limit=2)
    assert [e["seq"] for e in second.json()["items"]] == seqs[2:4]


def test_case_history_covers_its_items(url: str, station: Station) -> None:
    page = get(url, "/v1/cases/C-1/history", station.tokens["auditor"], limit=500).json()
    kinds = [e["kind"] for e in page["items"]]
    assert kinds.count("item.stored") == 2 and "case.registered" in kinds
    assert all(e["fields"].get("case", "C-1") == "C-1" for e in page["items"])


def test_deadlines_and_overdue_with_escalation(url: str, station: Station) -> None:
    token = station.tokens["supervisor"]
    deadlines = get(url, "/v1/deadlines", token).json()["items"]
    by_label = {d["label"]: d for d in deadlines}
    assert {F1, E2} <= set(by_label)
    # anything else comes from the starter catalogue's risk points, never the built-in rules
    others = [d for d in deadlines if d["label"] not in (F1, E2)]
    assert all(d["rule"] not in ("handover", "return") for d in others)
    assert [d["due"] for d in deadlines] == sorted(d["due"] for d in deadlines)
    late = by_label[F1]
    assert late["rule"] == "return" and late["overdue"] is True
    assert late["escalation_step"] == 2 and late["ladder_steps"] == 3
    assert late["last_notice_role"] == "supervisor" and late["acknowledged"] is False
    assert by_label[E2]["rule"] == "handover" and by_label[E2]["overdue"] is False
    overdue = get(url, "/v1/overdue", token).json()
    assert [d["label"] for d in overdue["items"]] == [F1]


# ---------------------------------------------------------------- cabinets


def test_cabinets_from_the_ledger_without_a_daemon(url: str, station: Station) -> None:
    cabs = get(url, "/v1/cabinets", station.tokens["clerk"]).json()
    assert (cabs["total"], cabs["offset"], cabs["limit"], cabs["next_offset"]) == (1, 0, 50, None)
    (a,) = cabs["items"]
    assert a["cabinet_id"] == "A" and a["source"] == "ledger" and a["online"] is None
    assert a["compartments"] == [
        {"compartment": "A/2", "index": 2, "door_closed": None, "occupied": None,
         "locked": None, "items": [E1], "consistent": None, "alarms": []}
    ]
    assert a["alarms"] == []
    assert get(url, "/v1/cabinets/A", station.tokens["auditor"]).json() == a
    assert get(url, "/v1/cabinets/Z", station.tokens["auditor"]).status_code == 404
    assert get(url, "/v1/cabinets", station.tokens["officer"]).status_code == 403


def test_open_alarms_where_they_are_and_their_items(url: str, station: Station) -> None:
    svc = station.service
    forced = svc.raise_alarm("door_forced", compartment="A/2", items=[E1], event="tamper",
                             detail="opened without a release")
    offline = svc.raise_alarm("cabinet_offline", cabinet="A", event="offline",
                              detail="no answer")
    lockout = svc.raise_alarm("pin_lockout", actor="terminal", badge="B-9", person="li",
                              attempts=5)
    svc.acknowledge_alarm(lockout.seq, clerk="zhou")  # acknowledged: no longer listed
    station.ledger.checkpoint()
    page = get(url, "/v1/alarms", station.tokens["clerk"]).json()
    assert (page["total"], page["next_offset"]) == (2, None)
    assert page["items"][0] == {
        "seq": forced.seq, "kind": "door_forced", "entry_kind": "alarm.door_forced",
        "at": forced.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "actor": "lockerd", "where": "A/2", "cabinet": "A", "compartment": "A/2",
        "items": [E1], "event": "tamper", "detail": "opened without a release",
        "badge": None, "person": None, "what_to_do": forced.what_to_do,
    }
    assert [(a["seq"], a["where"], a["compartment"]) for a in page["items"]] == [
        (forced.seq, "A/2", "A/2"), (offline.seq, "A", None)]
    assert get(url, "/v1/alarms", station.tokens["auditor"], cabinet="B").json()["total"] == 0
    assert get(url, "/v1/alarms", station.tokens["supervisor"], limit=1).json()[
        "next_offset"] == 1
    assert get(url, "/v1/alarms", station.tokens["officer"]).status_code == 403
    assert httpx.get(url + "/v1/alarms", timeout=30).status_code == 401
    # the cabinet screen shows which place is alarmed
    cab = get(url, "/v1/cabinets/A", station.tokens["clerk"]).json()
    assert cab["alarms"] == [offline.seq]
    assert {c["compartment"]: c["alarms"] for c in cab["compartments"]} == {
        "A/2": [forced.seq]}
    # an alarm's items are a list, each indexed: the alarm is in the item's history
    history = get(url, f"/v1/items/{E1}/history", station.tokens["auditor"]).json()["items"]
    assert forced.seq in [e["seq"] for e in history]
    for alarm in (forced, offline):
        svc.acknowledge_alarm(alarm.seq, clerk="zhou")
    station.ledger.checkpoint()
    assert get(url, "/v1/alarms", station.tokens["clerk"]).json()["items"] == []


# ---------------------------------------------------------------- ledger and proofs


def test_ledger_entries_by_range_for_auditors(url: str, station: Station) -> None:
    page = get(url, "/v1/ledger/entries", station.tokens["auditor"], start=2, limit=3).json()
    assert [e["seq"] for e in page["items"]] == [2, 3, 4]
    assert page["total"] == station.ledger.size and page["next_offset"] == 5
    for e in page["items"]:
        assert base64.b64decode(e["raw"]) == station.ledger.entry(e["seq"]).raw
    beyond = get(url, "/v1/ledger/entries", station.tokens["auditor"], start=10_000).json()
    assert beyond["items"] == [] and beyond["next_offset"] is None
    for role in ("clerk", "supervisor", "officer"):
        assert get(url, "/v1/ledger/entries", station.tokens[role]).status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_checkpoint_and_key_are_public_material(url: str, station: Station, role: str) -> None:
    note = get(url, "/v1/ledger/checkpoint", station.tokens[role]).text
    vkey = get(url, "/v1/ledger/key", station.tokens[role]).text.strip()
    assert vkey == (station.data / "station.vkey").read_text().strip()
    cp = Checkpoint.parse(open_note(note, [Verifier.from_vkey(vkey)]))
    assert cp.origin == ORIGIN and cp.size == station.ledger.size
    assert cp.root == station.ledger.root(cp.size)


def test_inclusion_proof_verifies_and_is_tlog_proof_v1(url: str, station: Station) -> None:
    vkey = get(url, "/v1/ledger/key", station.tokens["auditor"]).text.strip()
    for seq in range(station.ledger.size):
        text = get(url, f"/v1/ledger/proofs/{seq}", station.tokens["auditor"]).text
        parsed = parse_tlog_proof(text)
        assert text.startswith("c2sp.org/tlog-proof@v1\n")
        assert parsed.index == seq and parsed.extra == station.ledger.entry(seq).raw
        proof, cp = verify_tlog_proof(text, [Verifier.from_vkey(vkey)], origin=ORIGIN)
        verify_inclusion(seq, cp.size, leaf_hash(parsed.extra), proof.proof, cp.root)
    assert get(url, "/v1/ledger/proofs/99999", station.tokens["auditor"]).status_code == 404


def test_officer_gets_proofs_of_own_entries_only(url: str, station: Station) -> None:
    wang = station.tokens["officer"]
    assert get(url, "/v1/ledger/proofs/0", wang).status_code == 200  # C-1 registered
    r = get(url, "/v1/ledger/proofs/1", wang)  # C-2 registered
    assert r.status_code == 403
    assert get(url, "/v1/ledger/entries/1", wang).status_code == 403
    assert get(url, "/v1/ledger/entries/0", wang).json()["kind"] == "case.registered"


def test_consistency_proof_verifies(url: str, station: Station) -> None:
    size = station.ledger.size
    body = get(url, "/v1/ledger/consistency", station.tokens["auditor"], old=3).json()
    assert body["old_size"] == 3 and body["new_size"] == size
    verify_consistency(
        3,
        size,
        base64.b64decode(body["old_root"]),
        base64.b64decode(body["new_root"]),
        [base64.b64decode(h) for h in body["proof"]],
    )
    assert base64.b64decode(body["new_root"]) == station.ledger.root()
    # old above new: both sizes valid, no such proof (404, documented; never a 400)
    assert get(url, "/v1/ledger/consistency", station.tokens["auditor"], old=5, new=4
               ).status_code == 404
    assert get(url, "/v1/ledger/consistency", station.tokens["auditor"], old=1, new=10**6
               ).status_code == 404
    assert get(url, "/v1/ledger/consistency", station.tokens["clerk"], old=3).status_code == 403


def test_verification_run(url: str, station: Station) -> None:
    first = get(url, "/v1/ledger/verification", station.tokens["auditor"]).json()
    assert first["ok"] is True and first["failures"] == []
    assert first["size"] == station.ledger.size and first["photos_checked"] >= 4
    again = get(url, "/v1/ledger/verification", station.tokens["auditor"]).json()
    assert again["cached"] is True and again["root"] == first["root"]
    for role in ("clerk", "supervisor", "officer"):
        assert get(url, "/v1/ledger/verification", station.tokens[role]).status_code == 403


# ---------------------------------------------------------------- photos


def test_photos_served_with_their_hash(url: str, station: Station) -> None:
    ref = station.photo_refs[0]
    r = get(url, f"/v1/photos/{ref.sha256}", station.tokens["clerk"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(r.content).hexdigest() == ref.sha256 == r.headers["x-content-sha256"]
    digest = base64.b64encode(hashlib.sha256(r.content).digest()).decode()
    assert r.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert len(r.content) == ref.bytes
    t = get(url, f"/v1/photos/{ref.sha256}/thumbnail", station.tokens["clerk"])
    assert t.status_code == 200 and t.content.startswith(b"\xff\xd8")
    assert t.headers["x-photo-sha256"] == ref.sha256
    assert t.headers["x-content-sha256"] == hashlib.sha256(t.content).hexdigest()


def test_photo_access_and_errors(url: str, station: Station) -> None:
    ref = station.photo_refs[0]  # the handover photo of case C-1
    assert get(url, f"/v1/photos/{ref.sha256}", station.tokens["officer"]).status_code == 200
    chen = get(url, f"/v1/photos/{ref.sha256}", station.tokens["officer_chen"])
    assert chen.status_code == 403
    missing = "ab" * 32
    assert get(url, f"/v1/photos/{missing}", station.tokens["auditor"]).status_code == 404
    assert get(url, "/v1/photos/NOTAHASH", station.tokens["auditor"]).status_code == 422


# ---------------------------------------------------------------- reports


def test_item_report_has_steps_photos_and_proofs(url: str, station: Station) -> None:
    r = get(url, f"/v1/reports/items/{F1}", station.tokens["officer"], lang="en")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert f"Chain of custody: item {F1}" in html
    history = get(url, f"/v1/items/{F1}/history", station.tokens["auditor"]).json()["items"]
    for e in history:
        assert f"<td>#{e['seq']}</td><td class=\"mono\">{e['kind']}</td>" in html
    assert html.count("c2sp.org/tlog-proof@v1") == len(history)
    assert (station.data / "station.vkey").read_text().strip() in html
    note = get(url, "/v1/ledger/checkpoint", station.tokens["auditor"]).text
    assert note.splitlines()[2] in html  # the root line of the signed checkpoint
    assert "data:image/jpeg;base64," in html
    for ref in station.photo_refs[:2]:  # handover and storage of F1
        assert ref.sha256 in html


def test_report_proofs_check_offline_with_the_key_in_the_report(
    url: str, station: Station
) -> None:
    html = get(url, f"/v1/reports/items/{F1}", station.tokens["auditor"]).text
    blocks = [unescape(b) for b in re.findall(r"<pre[^>]*>(.*?)</pre>", html, re.S)]
    vkey, note, *proofs = blocks
    verifier = Verifier.from_vkey(vkey.strip())
    cp = Checkpoint.parse(open_note(note, [verifier]))
    history = get(url, f"/v1/items/{F1}/history", station.tokens["auditor"]).json()["items"]
    assert len(proofs) == len(history) and all(p.startswith(HEADER) for p in proofs)
    for text, step in zip(proofs, history, strict=True):
        parsed, checkpoint = verify_tlog_proof(text, [verifier], origin=ORIGIN)
        assert checkpoint == cp  # every proof against the one checkpoint the report prints
        assert parsed.index == step["seq"]
        assert parsed.extra == base64.b64decode(step["raw"])


def test_case_report(url: str, station: Station) -> None:
    html = get(url, "/v1/reports/cases/C-1", station.tokens["supervisor"], lang="en").text
    assert "Chain of custody: case C-1" in html
    assert F1 in html and E1 in html and E2 not in html
    assert html.count("data:image/jpeg;base64,") >= 4  # handover, two storages, check-out
    assert get(url, "/v1/reports/cases/NOPE", station.tokens["auditor"]).status_code == 404


# ---------------------------------------------------------------- the ledger moves on


def test_new_entries_show_up_without_a_restart(url: str, station: Station) -> None:
    before = get(url, f"/v1/items/{F1}/history", station.tokens["auditor"]).json()["total"]
    station.clock.advance(timedelta(minutes=5))
    station.service.return_item(F1, photos=[station.photo("return F1")], actor="wang")
    after = get(url, f"/v1/items/{F1}/history", station.tokens["auditor"]).json()
    assert after["total"] == before + 1
    assert after["items"][-1]["kind"] == "item.returned"
    item = get(url, f"/v1/items/{F1}", station.tokens["auditor"]).json()
    assert item["state"] == "returned"
    assert item["compartment"] is None and item["last_compartment"] == "A/1"  # came from
    # not yet in a signed checkpoint: the read-only API refuses to invent a proof
    seq = after["items"][-1]["seq"]
    r = get(url, f"/v1/ledger/proofs/{seq}", station.tokens["auditor"])
    assert r.status_code == 409 and "checkpoint" in r.json()["detail"]
    station.ledger.checkpoint()
    assert get(url, f"/v1/ledger/proofs/{seq}", station.tokens["auditor"]).status_code == 200


def test_index_is_derived_and_persisted(station: Station, url: str) -> None:
    index = Path(station.data / "api-index.db")
    assert index.is_file()


# ---------------------------------------------------------------- the whole role matrix

A, C, S, W, CH = "auditor", "clerk", "supervisor", "officer", "officer_chen"
OK_ALL = {A: 200, C: 200, S: 200, W: 200, CH: 200}
C1_ONLY = {A: 200, C: 200, S: 200, W: 200, CH: 403}  # case C-1 is wang's, not chen's
STATION = {A: 200, C: 200, S: 200, W: 403, CH: 403}
AUDITOR = {A: 200, C: 403, S: 403, W: 403, CH: 403}

MATRIX: list[tuple[str, dict[str, int]]] = [
    ("/v1/whoami", OK_ALL),
    ("/v1/cases", OK_ALL),
    ("/v1/cases/C-1", C1_ONLY),
    ("/v1/cases/C-1/history", C1_ONLY),
    ("/v1/items", OK_ALL),
    (f"/v1/items/{E1}", C1_ONLY),
    (f"/v1/items/{E1}/history", C1_ONLY),
    ("/v1/deadlines", OK_ALL),
    ("/v1/overdue", OK_ALL),
    ("/v1/cabinets", STATION),
    ("/v1/cabinets/A", STATION),
    ("/v1/alarms", STATION),
    ("/v1/ledger", OK_ALL),
    ("/v1/ledger/entries", AUDITOR),
    ("/v1/ledger/entries/0", C1_ONLY),
    ("/v1/ledger/checkpoint", OK_ALL),
    ("/v1/ledger/key", OK_ALL),
    ("/v1/ledger/proofs/0", C1_ONLY),
    ("/v1/ledger/consistency?old=2", AUDITOR),
    ("/v1/ledger/verification", AUDITOR),
    (f"/v1/reports/items/{E1}", C1_ONLY),
    ("/v1/reports/cases/C-1", C1_ONLY),
    ("/v1/refusals", AUDITOR),
]


@pytest.mark.parametrize(("path", "expected"), MATRIX, ids=[p for p, _ in MATRIX])
def test_role_matrix(url: str, station: Station, path: str, expected: dict[str, int]) -> None:
    for role, status in expected.items():
        r = httpx.get(url + path, headers=auth(station.tokens[role]), timeout=30)
        assert r.status_code == status, (role, r.text[:200])
        if status == 403:
            assert r.json()["detail"]  # says why; the refusal is logged (see above)


def test_every_refusal_of_the_matrix_is_logged(url: str, station: Station) -> None:
    token = station.tokens["auditor"]
    before = get(url, "/v1/refusals", token).json()["total"]
    httpx.get(url + "/v1/cabinets", headers=auth(station.tokens["officer"]), timeout=30)
    httpx.get(url + "/v1/ledger/entries", headers=auth(station.tokens["clerk"]), timeout=30)
    after = get(url, "/v1/refusals", token, limit=2).json()
    assert after["total"] == before + 2
    newest = after["items"]
    assert [(x["path"], x["role"]) for x in newest] == [
        ("/v1/ledger/entries", "clerk"), ("/v1/cabinets", "officer")]
    assert all(x["status"] == 403 and "may not read" in x["reason"] for x in newest)
