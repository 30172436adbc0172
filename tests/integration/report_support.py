"""A station for the report tests: the API tests' station (:mod:`api_support`) plus a case
with a complainant, Chinese names for its people, and a report setup for Asia/Shanghai."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from api.report_issue import append_report_issued
from api.reports import ReportSetup
from custody.domain.people import Complainant
from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.settings import DEFAULT_CHECKLIST, PersonSettings
from custody.testing import SAMPLE_PEOPLE
from tests.integration.api_support import Station, build_station

# Chinese names for the sample people (same ids, roles, phones).
CHINESE = {
    "wang": "王伟", "li": "李娜", "chen": "陈杰", "zhao": "赵磊", "sun": "孙敏",
    "zhou": "周艳", "wu": "吴昊", "legal1": "区法制科", "audit1": "审计员甲",
}
PEOPLE = tuple(
    PersonSettings(p.id, CHINESE[p.id], p.role, supervisor=p.supervisor, phone=p.phone)
    for p in SAMPLE_PEOPLE
)
SETUP = ReportSetup(station="城关派出所", timezone="Asia/Shanghai", people=PEOPLE)
COMPLAINANT_PHONE = "+8613955556666"
E9 = make_label("exhibit", 2026, 9).text
E10 = make_label("exhibit", 2026, 10).text


def build_report_station(root: Path) -> Station:
    """The API tests' station, plus case C-9 (complainant with a phone) moved through
    handover, storage, check-out and return, under a signed checkpoint."""
    st = build_station(root)
    svc, clock = st.service, st.clock
    seized = clock.now() - timedelta(hours=1)
    svc.register_case(
        "C-9",
        title="入室盗窃案",
        officer="wang",
        items=[
            ItemSpec(E9, "exhibit", "撬棍", 1, seized, "嫌疑人甲"),
            ItemSpec(E10, "exhibit", "手机", 2, seized, "嫌疑人乙"),
        ],
        complainant=Complainant("刘芳", COMPLAINANT_PHONE),
    )
    clock.advance(timedelta(minutes=20))
    svc.handover("C-9", clerk="zhou", scanned=[E9, E10],
                 checklist=dict.fromkeys(DEFAULT_CHECKLIST, True),
                 photos=[st.photo("handover C-9")])
    svc.store(E9, compartment="B/3", photos=[st.photo("store E9")], clerk="zhou")
    svc.store(E10, compartment="B/3", photos=[st.photo("store E10")], clerk="zhou")
    clock.advance(timedelta(minutes=20))
    svc.check_out(E9, officer="wang", photos=[st.photo("out E9")])
    clock.advance(timedelta(minutes=20))
    svc.return_item(E9, photos=[st.photo("back E9")], actor="zhou")
    st.ledger.checkpoint()
    return st


class StationRecorder:
    """Records issued reports through the test station's own ledger writer (as the daemon
    records them through its own)."""

    def __init__(self, st: Station) -> None:
        self.st = st

    async def record(self, body: Mapping[str, Any], actor: str) -> int:
        return append_report_issued(self.st.ledger, body, actor)


def people_toml() -> str:
    """A config file's ``[station]`` and ``[[people]]`` for :data:`PEOPLE`."""
    lines = ['[station]', 'name = "城关派出所"', 'timezone = "Asia/Shanghai"', ""]
    for p in PEOPLE:
        lines += ["[[people]]", f'id = "{p.id}"', f'name = "{p.name}"', f'role = "{p.role}"']
        if p.supervisor:
            lines.append(f'supervisor = "{p.supervisor}"')
        if p.phone:
            lines.append(f'phone = "{p.phone}"')
        lines.append("")
    return "\n".join(lines)


def pdf_text(pdf: bytes, tmp: Path) -> str:
    """The PDF's text as Debian's ``pdftotext`` extracts it."""
    path = tmp / "extract.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True, text=True)
    return out.stdout
