"""The SMS texts: one template per notice kind and language, from a TOML file.

The shipped texts (``notify/texts/default.toml``) are Simplified Chinese and English; a
station may override any of them with its own file of the same layout. A file is checked
when it is loaded: unknown languages, kinds or placeholders are refused (a placeholder is
only allowed where its kind allows it: a complainant's text can carry the case number, its
stage and the station's phone, and no officer's name, item or remark can be put in one), and
every text must fit in :data:`MAX_PARTS` SMS with the longest values it can be given
(:data:`WIDEST`).
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from custody.domain.languages import LANGUAGES, Language, normalise_language
from custody.errors import ConfigError
from notify.pdu import count_parts

DEFAULT_PATH = Path(__file__).resolve().parent / "texts" / "default.toml"
MAX_PARTS = 3

_STAFF = ("station",)
#: the placeholders each kind may use
ALLOWED: dict[str, frozenset[str]] = {
    **{f"ladder.{role}": frozenset({*_STAFF, "item", "case", "rule", "deadline", "step"})
       for role in ("officer", "supervisor", "legal", "clerk")},
    **{f"progress.{stage}": frozenset({*_STAFF, "case", "stage", "station_phone"})
       for stage in ("received", "handed_over", "disposed", "released")},
    "discrepancy": frozenset({*_STAFF, "case"}),
    "reconciliation": frozenset({*_STAFF, "day"}),
    "other": frozenset({*_STAFF, "subject"}),
}
KINDS = tuple(ALLOWED)

#: the widest value each placeholder is checked with (Chinese where a value may be Chinese)
WIDEST: dict[str, str] = {
    "station": "某某市公安局某某分局某某派出所",  # 15
    "station_phone": "+861012345678901",
    "item": "CF-2026-000123-01",
    "case": "A" * 32,
    "rule": "扣押后24小时内移交保管中心并办理登记入库手续",  # 24
    "deadline": "2026-12-31 23:59",
    "step": "3",
    "stage": "涉案财物已移交保管中心",
    "day": "2026-12-31",
    "subject": "S" * 100,
}

# keyed by the one list of language codes (custody.domain.languages); a texts file's
# tables may spell them as that module reads them ([zh] is zh_CN)
BUILTIN_RULES = {
    Language.ZH_CN: {"handover": "应在扣押后24小时内移交", "return": "应在当日规定时间前归还"},
    Language.EN: {"handover": "to be handed over within 24 h of seizure",
           "return": "to be returned by today's return time"},
}
STAGES = {
    Language.ZH_CN: {
        "received": "已受理", "handed_over": "财物移交保管", "disposed": "财物依法处置",
        "released": "财物发还",
    },
    Language.EN: {
        "received": "registered", "handed_over": "items in custody",
        "disposed": "items disposed of", "released": "items released to the owner",
    },
}


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a template (a bad brace is a ConfigError)."""
    try:
        return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise ConfigError(f"bad braces in {template!r}: {exc}") from exc


@dataclass(frozen=True)
class Texts:
    """Checked templates: ``templates[language][kind]``."""

    templates: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, override: Path | None = None) -> Texts:
        """The shipped texts, with a station's file (if any) laid over them."""
        merged = {lang: dict(kinds) for lang, kinds in _read(DEFAULT_PATH).items()}
        if override is not None:
            for lang, kinds in _read(override).items():
                merged.setdefault(lang, {}).update(kinds)
        for lang in LANGUAGES:
            missing = [k for k in KINDS if k not in merged.get(lang, {})]
            if missing:
                raise ConfigError(f"SMS texts: [{lang}] lacks {', '.join(missing)}")
        return cls(merged)

    def render(self, kind: str, language: str, values: Mapping[str, str]) -> str:
        """The text of one notice."""
        lang = normalise_language(language)
        template = self.templates[lang][kind]
        return template.format_map({k: values.get(k, "") for k in ALLOWED[kind]})


def _read(path: Path) -> dict[str, dict[str, str]]:
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"SMS texts {path}: {exc}") from exc
    if raw.pop("version", 1) != 1:
        raise ConfigError(f"SMS texts {path}: version must be 1")
    out: dict[str, dict[str, str]] = {}
    for name, kinds in raw.items():
        try:
            lang = Language(name)
        except ValueError:
            lang = None
        if lang is None or not isinstance(kinds, dict):
            raise ConfigError(f"SMS texts {path}: unknown language table [{name}]")
        for kind, template in kinds.items():
            where = f"SMS texts {path}: [{lang}] {kind!r}"
            if kind not in ALLOWED:
                raise ConfigError(f"{where}: unknown notice kind (known: {', '.join(KINDS)})")
            if not isinstance(template, str) or not template.strip():
                raise ConfigError(f"{where}: must be a non-empty string")
            unknown = placeholders(template) - ALLOWED[kind]
            if unknown:
                raise ConfigError(
                    f"{where}: placeholder(s) {', '.join(sorted(unknown))} not allowed here"
                    f" (allowed: {', '.join(sorted(ALLOWED[kind]))})"
                )
            widest = template.format_map({k: WIDEST[k] for k in ALLOWED[kind]})
            parts = count_parts(widest)
            if parts > MAX_PARTS:
                raise ConfigError(
                    f"{where}: takes {parts} SMS with the longest values; at most {MAX_PARTS}"
                )
        out[lang] = {str(k): str(v) for k, v in kinds.items()}
    return out


# --------------------------------------------------------------------------- notices


def kind_of(role: str, refs: Mapping[str, str]) -> str:
    """A notice's kind from what its ``notice.sent`` entry records."""
    if "step" in refs and "rule" in refs:
        return f"ladder.{role}" if f"ladder.{role}" in ALLOWED else "other"
    if role == "complainant" and refs.get("stage") in STAGES[Language.EN]:
        return f"progress.{refs['stage']}"
    if "handover_seq" in refs:
        return "discrepancy"
    if "reconciliation_seq" in refs:
        return "reconciliation"
    return "other"


def values_of(
    body: Mapping[str, Any], language: str, zone: ZoneInfo, station: str, station_phone: str
) -> dict[str, str]:
    """The placeholder values of a ``notice.sent`` body, in ``language``."""
    refs: Mapping[str, str] = body.get("refs", {})
    lang = normalise_language(language)
    deadline = refs.get("deadline", "")
    if deadline:
        moment = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
        deadline = f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"
    rule_id = refs.get("rule", "")
    subject = str(body.get("subject", ""))
    rule = BUILTIN_RULES[lang].get(rule_id) or subject.rsplit(": ", 1)[0] or rule_id
    return {
        "station": station,
        "station_phone": station_phone,
        "item": refs.get("item", ""),
        "case": refs.get("case", ""),
        "rule": rule,
        "deadline": deadline,
        "step": refs.get("step", ""),
        "stage": STAGES[lang].get(refs.get("stage", ""), ""),
        "day": refs.get("day", ""),
        "subject": subject,
    }
