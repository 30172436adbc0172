"""The demo's people and items speak the language of its screens."""

from __future__ import annotations

import re

import pytest

from custody.domain.languages import DEFAULT_LANGUAGE, Language
from lockerd.config import parse_config
from lockerd.demo import demo_config
from lockerd.democast import CASTS, demo_cast

_HAN = re.compile(r"[\u4e00-\u9fff]")


def _texts(language: Language) -> list[str]:
    cast = demo_cast(language)
    texts = [p.name for p in cast.people] + [cast.missing_reason]
    for case in cast.cases:
        texts += [case.title, case.complainant] + [i.description for i in case.items]
    return texts


def test_every_language_has_a_cast_with_the_same_day() -> None:
    assert set(CASTS) == set(Language)
    zh, en = demo_cast("zh"), demo_cast("en")  # any spelling the config reads
    assert zh.language is Language.ZH_CN and DEFAULT_LANGUAGE is Language.ZH_CN
    strip = [(p.id, p.role, p.badge, p.pin, p.supervisor) for p in zh.people]
    assert strip == [(p.id, p.role, p.badge, p.pin, p.supervisor) for p in en.people]
    assert [(c.case_id, c.officer, [(i.kind, i.serial) for i in c.items]) for c in zh.cases] == [
        (c.case_id, c.officer, [(i.kind, i.serial) for i in c.items]) for c in en.cases]


def test_chinese_cast_has_chinese_names_and_items() -> None:
    texts = _texts(Language.ZH_CN)
    assert all(_HAN.search(t) for t in texts), [t for t in texts if not _HAN.search(t)]
    assert not any(_HAN.search(t) for t in _texts(Language.EN))


@pytest.mark.parametrize("language", list(Language))
def test_demo_config_names_its_people_in_the_screens_language(language: Language) -> None:
    cast = demo_cast(language)
    cfg = parse_config(demo_config(tcp_port=5020, rtu_url="socket://127.0.0.1:5021",
                                   mqtt_port=None, api_port=0, origin="demo.example/s",
                                   cast=cast))
    assert cfg.terminal.language is language
    assert [p.name for p in cfg.people] == [p.name for p in cast.people]
    assert bool(_HAN.search(cfg.person("off-li").name)) == (language is Language.ZH_CN)
