"""The district with real parts: PostgreSQL, stations' ``/log/`` over HTTP, the screen.

- a station's new custody entry reaches the replica and the screen (headless Chromium);
- a case whose stage deadline is over shows on the case ladder beside the custody ladder;
- a station's disk is wiped: the district still has every mirrored entry and photo;
- a fork at one station is flagged and stops that follower; the others carry on;
- a station whose rules tick never ran while a file went overdue: "escalation missing";
- a supervisor of station A cannot read station B.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from playwright.sync_api import Page

from api.server import running_server
from custody.domain.values import ItemSpec
from custody.labels import make_label
from district.auth import create_token
from district.follower import photo_path
from district.screen import create_screen
from district.service import District
from tests.integration.district_support import (
    district_config,
    rewrite_history,
    served_stations,
)
from tests.integration.test_terminal_support import SCREENS

NEW = make_label("exhibit", 2026, 900).text


def shot(page: Page, name: str, width: int, height: int) -> None:
    """A screenshot for docs/district.md (`make screens` writes them into docs/screens)."""
    page.set_viewport_size({"width": width, "height": height})
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _count(dsn: str, sql: str, *args: object) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_new_entry_reaches_the_replica_and_the_screen(
    tmp_path: Path, district_dsn: str, page: Page
) -> None:
    with served_stations(tmp_path, ["s1", "s2"]) as stations:
        s1 = stations[0].st  # a case whose 3-day filing review is over: on the case ladder
        s1.service.record_stage("C-1", "accepted", actor="wang", role="officer",
                                document="受案登记表",
                                effective_at=s1.clock.now() - timedelta(days=4))
        stations[0].publish()
        cfg = district_config(tmp_path, district_dsn, stations)
        district = District(cfg, clock=stations[0].st.clock.now)
        try:
            district.pass_once()
            _, token = create_token(district_dsn, cfg, "legal", "li")
            with running_server(create_screen(cfg)) as url:
                page.goto(url + "/")
                page.fill("#token", token)
                page.click("#signin")
                page.wait_for_selector("#stations tr[data-station='s2']")
                page.wait_for_selector("#case-deadlines tr.overdue[data-key^='s1/']")
                assert "区法制部门" in page.content()  # Chinese by default
                shot(page, "district-dashboard-zh_CN-1280x800", 1280, 800)
                page.goto(url + "/?lang=en")
                shot(page, "district-dashboard-en-1920x1080", 1920, 1080)
                st = stations[0].st
                st.service.register_case(
                    "C-NEW-9", title="Stolen scooter", officer="wang",
                    items=[ItemSpec(NEW, "exhibit", "Scooter key", 1,
                                    st.clock.now() - timedelta(hours=1), "Suspect C")],
                )
                stations[0].publish()
                district.pass_once()
                assert _count(district_dsn, "SELECT count(*) FROM entries WHERE origin = %s "
                              "AND kind = 'case.registered' AND body->>'case' = 'C-NEW-9'",
                              "test.example/s1") == 1
                page.goto(url + "/search?q=C-NEW-9&lang=en")
                page.wait_for_selector(f"#results a:has-text('{NEW}')")
                page.click(f"#results a:has-text('{NEW}')")
                page.wait_for_selector("#item tr.entry")
                assert "case.registered" in page.inner_text("#item")
                # an item with photos: each is served from the district's own copy
                page.goto(url + "/search?q=C-1&lang=en")
                page.click("#results tr:has-text('s1') a >> nth=0")
                page.wait_for_selector("#item img.photo")
                page.wait_for_function(
                    "() => [...document.querySelectorAll('#item img.photo')].every(e => e.complete)"
                )
                loaded = page.eval_on_selector_all(
                    "#item img.photo", "els => els.map(e => e.naturalWidth > 0)")
                assert loaded and all(loaded)
                shot(page, "district-item-en-1280x800", 1280, 800)
        finally:
            district.close()


def test_wiped_station_everything_is_at_the_district(tmp_path: Path, district_dsn: str) -> None:
    with served_stations(tmp_path, ["s1"]) as stations:
        cfg = district_config(tmp_path, district_dsn, stations)
        district = District(cfg)
        try:
            district.pass_once()
        finally:
            district.close()
        st = stations[0].st
        size = st.ledger.size
        photos = {p.sha256: p.bytes for p in st.photo_refs}
        shutil.rmtree(st.data)  # the station's disk is gone
    assert not st.data.exists()
    assert _count(district_dsn, "SELECT count(DISTINCT seq) FROM entries WHERE origin = %s",
                  "test.example/s1") == size
    for sha, n in photos.items():
        data = photo_path(cfg, cfg.stations[0], sha).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha and len(data) == n


def test_fork_at_one_station_is_flagged_and_the_others_carry_on(
    tmp_path: Path, district_dsn: str
) -> None:
    with served_stations(tmp_path, ["s1", "s2"]) as stations:
        cfg = district_config(tmp_path, district_dsn, stations)
        district = District(cfg)
        try:
            district.pass_once()
            held = _count(district_dsn, "SELECT max(size) FROM checkpoints WHERE origin = %s",
                          "test.example/s1")
            rewrite_history(stations[0].st.data, "test.example/s1", tmp_path)
            st2 = stations[1].st
            st2.ledger.append("item.note", {"note": "s2 goes on"}, actor="clerk:zhou")
            stations[1].publish()
            with psycopg.connect(district_dsn) as conn:
                conn.execute("UPDATE stations SET next_try = NULL")
            results = {r.station: r for r in district.pass_once()}
            assert results["s1"].forked and "FORK" in results["s1"].error
            assert not results["s2"].forked and results["s2"].inserted == 1
            assert _count(district_dsn, "SELECT count(*) FROM district_alarms WHERE kind = "
                          "'fork' AND station = 's1' AND cleared IS NULL") == 1
            # both checkpoints kept: the held one in the replica, the new one in the mirror
            assert _count(district_dsn, "SELECT max(size) FROM checkpoints WHERE origin = %s",
                          "test.example/s1") == held
            assert len(list((cfg.district.data / "stations" / "s1" / "forks").glob("*"))) == 1
            # the forked station is not followed any more; the other one is
            stations[1].st.ledger.append("item.note", {"note": "and on"}, actor="clerk:zhou")
            stations[1].publish()
            with psycopg.connect(district_dsn) as conn:
                conn.execute("UPDATE stations SET next_try = NULL")
            again = {r.station for r in district.pass_once()}
            assert again == {"s2"}
        finally:
            district.close()


def test_escalation_missing_when_the_station_stayed_silent(
    tmp_path: Path, district_dsn: str
) -> None:
    with served_stations(tmp_path, ["quiet"], tick=False) as quiet, \
            served_stations(tmp_path, ["honest"]) as honest:
        cfg = district_config(tmp_path, district_dsn, [*quiet, *honest])
        # the district checks at the stations' (simulated) hour
        district = District(cfg, clock=honest[0].st.clock.now)
        try:
            district.pass_once()
        finally:
            district.close()
    _, legal = create_token(district_dsn, cfg, "legal", "li")
    with running_server(create_screen(cfg)) as url:
        page = httpx.get(url + "/?lang=en", headers={"Authorization": f"Bearer {legal}"},
                         timeout=30).text
    # on the screen: the quiet station's overdue file, its missing step, the alarm
    assert page.count("escalation missing: step 1 (officer)") == 1
    assert 'data-kind="escalation_missing"' in page
    alarms = _count(district_dsn, "SELECT count(*) FROM district_alarms WHERE kind = "
                    "'escalation_missing' AND station = 'quiet'")
    assert alarms >= 1
    assert _count(district_dsn, "SELECT count(*) FROM matters WHERE station = 'quiet' "
                  "AND rule = 'return' AND missing LIKE 'step 1 (officer)%%'") == 1
    assert _count(district_dsn, "SELECT count(*) FROM district_alarms WHERE kind = "
                  "'escalation_missing' AND station = 'honest'") == 0
    assert _count(district_dsn, "SELECT count(*) FROM matters WHERE station = 'honest' "
                  "AND rule = 'return'") == 1


def test_supervisor_of_a_cannot_read_b(tmp_path: Path, district_dsn: str) -> None:
    with served_stations(tmp_path, ["a", "b"]) as stations:
        cfg = district_config(tmp_path, district_dsn, stations)
        district = District(cfg)
        try:
            district.pass_once()
        finally:
            district.close()
        _, sup = create_token(district_dsn, cfg, "supervisor", "sup-a")
        _, legal = create_token(district_dsn, cfg, "legal", "li")
        with running_server(create_screen(cfg)) as url, httpx.Client(base_url=url) as http:
            h = {"Authorization": f"Bearer {sup}"}
            got = http.get("/api/stations", headers=h).json()
            assert [s["id"] for s in got["stations"]] == ["a"]
            page = http.get("/search?q=C-1&lang=en", headers=h).text
            assert "/item/a/" in page and "/item/b/" not in page
            label = stations[1].st.service.projection.cases["C-1"].items[0]
            assert http.get(f"/item/b/{label}", headers=h).status_code == 403
            assert http.get(f"/item/a/{label}", headers=h).status_code == 200
            sha = stations[1].st.photo_refs[0].sha256
            assert http.get(f"/photo/b/{sha}", headers=h).status_code == 403
            assert http.get(f"/photo/a/{stations[0].st.photo_refs[0].sha256}",
                            headers=h).status_code == 200
            dash = http.get("/?lang=en", headers=h).text
            assert "data-station=\"b\"" not in dash and "data-station=\"a\"" in dash
            lh = {"Authorization": f"Bearer {legal}"}
            assert http.get(f"/item/b/{label}", headers=lh).status_code == 200
            assert http.get("/", headers={"Authorization": "Bearer nope"},
                            follow_redirects=False).status_code == 303


def test_case_stage_deadlines_beside_the_custody_ladder(tmp_path: Path, district_dsn: str) -> None:
    with served_stations(tmp_path, ["a", "b"]) as stations:
        for s in stations:  # case C-1 accepted four days ago: its 3-day filing review is over
            s.st.service.record_stage("C-1", "accepted", actor="wang", role="officer",
                                      document="受案登记表",
                                      effective_at=s.st.clock.now() - timedelta(days=4))
        stations[0].st.service.record_stage("C-2", "accepted", actor="chen", role="officer",
                                            document="受案登记表")  # due in three days
        stations[0].st.service.tick()  # station a notifies its case ladder, b never ticks
        for s in stations:
            s.publish()
        cfg = district_config(tmp_path, district_dsn, stations)
        district = District(cfg, clock=stations[0].st.clock.now)
        try:
            district.pass_once()
        finally:
            district.close()
        _, legal = create_token(district_dsn, cfg, "legal", "li")
        _, sup = create_token(district_dsn, cfg, "supervisor", "sup-a")
        with running_server(create_screen(cfg)) as url, httpx.Client(base_url=url) as http:
            page = http.get("/?lang=en", headers={"Authorization": f"Bearer {legal}"}).text
            zh = http.get("/", headers={"Authorization": f"Bearer {sup}"}).text
    cases = page[page.index('id="case-deadlines"'):page.index('id="district-alarms"')]
    assert "Case-stage deadlines" in cases and 'id="escalations"' in page
    for sid in ("a", "b"):
        assert f'class="overdue" data-key="{sid}/' in cases and "审查受案材料" in cases
    assert cases.count("escalation missing: step 1") == 1  # b's ladder step has no notice
    assert cases.count('class="overdue"') == 2 and cases.count("<td>C-2<br>") == 1
    assert cases.rindex('class="overdue"') < cases.index("<td>C-2<br>")  # the overdue first
    assert _count(district_dsn, "SELECT count(*) FROM case_deadlines WHERE station = 'b' "
                  "AND case_id = 'C-1' AND ladder_step = 0 AND missing LIKE 'step 1 %%'") == 1
    assert _count(district_dsn, "SELECT count(*) FROM case_deadlines WHERE station = 'a' "
                  "AND case_id = 'C-1' AND ladder_step >= 1 AND missing = ''") == 1
    assert _count(district_dsn, "SELECT count(*) FROM district_alarms WHERE kind = "
                  "'escalation_missing' AND key LIKE 'escalation_missing:b:%%C-1%%'") == 1
    # the supervisor of a: a's case deadlines only, in Chinese
    assert "案件办理期限" in zh and "已逾期" in zh
    assert 'data-key="a/' in zh and 'data-key="b/' not in zh
