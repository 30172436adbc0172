"""Translations for the terminal's screens and the daemon's notices.

Text lives in JSON files next to this module, one per language (``zh_CN.json``, the
default, and ``en.json``): a flat object of ``key -> text`` where ``{name}`` marks a
parameter. :func:`translate` is what the terminal's templates and the daemon's notices call::

    translate("signin.locked", "en", minutes=5)

A key missing from a language falls back to the default language (so a half-translated file
still shows every screen); a key missing everywhere is a :class:`TranslationError`, because
showing a raw key to a clerk is a bug the tests should catch. The language codes, and how
other spellings are normalised (``zh``, ``zh-CN``, ``zh_cn`` all mean ``zh_CN``; ``en-US``
means ``en``), are :mod:`custody.domain.languages`'.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from custody.domain.languages import DEFAULT_LANGUAGE, LANGUAGES, normalise_language
from custody.errors import LockerError

_DIR = Path(__file__).resolve().parent


class TranslationError(LockerError):
    """A key has no text in any language, or a text needs a parameter that was not given."""


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """Every text of one language (read once from its JSON file)."""
    path = _DIR / f"{lang}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TranslationError(f"cannot read translation file {path.name}: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise TranslationError(f"translation file {path.name} must map keys to texts")
    return data


def has_key(key: str, lang: str | None = None) -> bool:
    """Whether ``key`` has a text in ``lang`` or the default language."""
    code = normalise_language(lang)
    return key in catalogue(code) or key in catalogue(DEFAULT_LANGUAGE)


def translate(key: str, lang: str | None = None, /, **params: object) -> str:
    """The text of ``key`` in ``lang`` with ``{name}`` parameters filled in."""
    code = normalise_language(lang)
    text = catalogue(code).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key)
    if text is None:
        raise TranslationError(f"no text for {key!r} in any language")
    try:
        return text.format(**params)
    except (KeyError, IndexError) as exc:
        raise TranslationError(f"text {key!r} needs the parameter {exc}") from None


def parameters(text: str) -> set[str]:
    """The ``{name}`` parameters a text uses (the tests check both languages agree)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "TranslationError",
    "catalogue",
    "has_key",
    "normalise_language",
    "parameters",
    "translate",
]
