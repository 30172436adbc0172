"""Who and what appear in ``locker demo``, in the language of the demo's screens.

The same scripted day in each language: the same person ids, badges, PINs, case ids and
labels, but names, case titles, item descriptions and complainants as a station speaking
that language would write them. A Chinese screen (the station's default) shows Chinese
people and items; ``locker demo --language en`` an English cast.
"""

from __future__ import annotations

from dataclasses import dataclass

from custody.domain.languages import Language
from lockerd.simpeople import StaffRecord


@dataclass(frozen=True)
class DemoItem:
    """One manifest line of a demo case (its label is made from ``kind`` and ``serial``)."""

    kind: str  # "case_file" or "exhibit"
    serial: int
    description: str
    seized_from: str = ""
    category: str = ""


@dataclass(frozen=True)
class DemoCase:
    """One case the demo's officers register."""

    case_id: str
    title: str
    officer: str
    complainant: str
    complainant_phone: str
    items: tuple[DemoItem, ...]


@dataclass(frozen=True)
class DemoCast:
    """The demo's people and cases in one language."""

    language: Language
    people: tuple[StaffRecord, ...]
    cases: tuple[DemoCase, ...]
    missing_reason: str  # the clerk's reason for the second case's missing exhibit
    #: the case whose stages the evening scene records (accepted, filed, detained, and an
    #: arrest application that comes late: lockerd.demo_stages)
    stage_case: DemoCase | None = None

    def name(self, person_id: str) -> str:
        """A person's name, as the log lines write it."""
        for p in self.people:
            if p.id == person_id:
                return p.name
        raise KeyError(person_id)


def _people(names: dict[str, str]) -> tuple[StaffRecord, ...]:
    return (
        StaffRecord("sup-zhao", names["sup-zhao"], "supervisor"),
        StaffRecord("off-li", names["off-li"], "officer", "B-1001", "2468", "sup-zhao"),
        StaffRecord("off-zhang", names["off-zhang"], "officer", "B-1002", "1357", "sup-zhao"),
        StaffRecord("clerk-wang", names["clerk-wang"], "clerk", "B-2001", "8642"),
        StaffRecord("legal-chen", names["legal-chen"], "legal"),
        StaffRecord("aud-sun", names["aud-sun"], "auditor"),
    )


_ZH = DemoCast(
    Language.ZH_CN,
    _people({
        "sup-zhao": "赵敏", "off-li": "李伟", "off-zhang": "张杰", "clerk-wang": "王芳",
        "legal-chen": "陈露(法制大队)", "aud-sun": "孙浩(审计)",
    }),
    (
        DemoCase("C-2026-0101", "花园路12号入室盗窃案", "off-li", "钱女士", "+86-138-0000-0001", (
            DemoItem("case_file", 101, "卷宗:入室盗窃案侦查卷"),
            DemoItem("case_file", 102, "卷宗:证人证言"),
            DemoItem("exhibit", 103, "撬棍(已密封)", "犯罪嫌疑人何某"),
        )),
        DemoCase("C-2026-0102", "网店诈骗案", "off-zhang", "冯先生", "+86-138-0000-0002", (
            DemoItem("case_file", 201, "卷宗:诈骗案"),
            DemoItem("exhibit", 202, "笔记本电脑(已密封)", "犯罪嫌疑人孔某", "electronics"),
        )),
    ),
    "笔记本电脑仍在电子物证实验室,明日移交",
    DemoCase("C-2026-0103", "建设路电动车盗窃案", "off-li", "孙先生", "+86-138-0000-0003", (
        DemoItem("case_file", 301, "卷宗:电动车盗窃案侦查卷"),
    )),
)

_EN = DemoCast(
    Language.EN,
    _people({
        "sup-zhao": "Zhao Min (supervisor)", "off-li": "Li Wei (officer)",
        "off-zhang": "Zhang Jie (officer)", "clerk-wang": "Wang Fang (clerk)",
        "legal-chen": "Chen Lu (legal section)", "aud-sun": "Sun Hao (auditor)",
    }),
    (
        DemoCase("C-2026-0101", "Burglary, 12 Garden Rd", "off-li", "Ms. Qian",
                 "+86-138-0000-0001", (
                     DemoItem("case_file", 101, "Case file: burglary investigation"),
                     DemoItem("case_file", 102, "Case file: witness statements"),
                     DemoItem("exhibit", 103, "Crowbar, sealed bag", "suspect H."),
                 )),
        DemoCase("C-2026-0102", "Fraud, online shop", "off-zhang", "Mr. Feng",
                 "+86-138-0000-0002", (
                     DemoItem("case_file", 201, "Case file: fraud"),
                     DemoItem("exhibit", 202, "Laptop, sealed", "suspect K.", "electronics"),
                 )),
    ),
    "laptop still at the forensic lab; arrives tomorrow",
    DemoCase("C-2026-0103", "E-bike theft, Jianshe Rd", "off-li", "Mr. Sun",
             "+86-138-0000-0003", (
                 DemoItem("case_file", 301, "Case file: e-bike theft investigation"),
             )),
)

CASTS: dict[Language, DemoCast] = {cast.language: cast for cast in (_ZH, _EN)}


def demo_cast(language: Language | str) -> DemoCast:
    """The cast for a language (any spelling :class:`Language` reads, e.g. ``zh``)."""
    return CASTS[Language(language)]
