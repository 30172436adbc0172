"""Language codes: the one list of the languages the station's screens and notices speak.

The kiosk's translation files are named by these codes (``terminal/i18n/<code>.json``), the
config's ``[terminal] language`` takes them, and the demo picks its people's names by them.
``zh_CN`` (Simplified Chinese) is the default. Other spellings of a known language are
accepted wherever a code is read (``zh``, ``zh-CN``, ``ZH_cn`` mean ``zh_CN``; ``en-US``
means ``en``): :class:`Language` itself accepts them, strictly (an unknown code is a
:class:`ValueError`); :func:`normalise_language` falls back to the default instead, for
what a browser sends.
"""

from __future__ import annotations

import enum


class Language(enum.StrEnum):
    """A language of the screens and notices (``Language("zh")`` is ``ZH_CN``)."""

    ZH_CN = "zh_CN"
    EN = "en"

    @classmethod
    def _missing_(cls, value: object) -> Language | None:
        # other spellings of a known language: same code ignoring case and - vs _, or the
        # same primary language ("zh" for zh_CN, "en_US" for en)
        if not isinstance(value, str):
            return None
        low = value.strip().replace("-", "_").lower()
        for lang in cls:
            if low == lang.value.lower():
                return lang
        primary = low.split("_", 1)[0]
        for lang in cls:
            if primary and lang.value.lower().split("_", 1)[0] == primary:
                return lang
        return None


DEFAULT_LANGUAGE = Language.ZH_CN
LANGUAGES: tuple[Language, ...] = tuple(Language)


def normalise_language(text: str | None) -> Language:
    """The supported language closest to ``text``; ``None`` or unknown: the default."""
    if not text:
        return DEFAULT_LANGUAGE
    try:
        return Language(text)
    except ValueError:
        return DEFAULT_LANGUAGE
