"""Reading a text file the user wrote (a config): whole, as UTF-8, or not at all.

A station in China will save its config in GBK from a Windows editor; a config pasted over
a binary by mistake, or truncated to nothing, must not be half-read either. The file is
read in one piece and decoded before anything parses it, so a bad byte on line 40 never
leaves the first 39 lines in effect. The one failure, :class:`FileDecodeError`, names the
file, what it looks like, and the fix.
"""

from __future__ import annotations

from pathlib import Path

from custody.errors import ConfigError, FileDecodeError, PathError

_UTF8_BOM = b"\xef\xbb\xbf"


class ConfigPathError(ConfigError, PathError):
    """A config file is missing, a folder, or cannot be read (exit code 2)."""


class ConfigDecodeError(ConfigError, FileDecodeError):
    """A config file is empty, binary, or not UTF-8 (exit code 2): save it as UTF-8."""


def _where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _looks_like(data: bytes) -> str:
    """A guess at the encoding of bytes that are not UTF-8, for the message only."""
    for name, label in (("gb18030", "GBK/GB18030 (Chinese)"), ("big5", "Big5"),
                        ("shift_jis", "Shift-JIS")):
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        return f"; it looks like {label} text"
    return ""


def decode_utf8_text(
    data: bytes, source: str, *, what: str = "file", fix: str = "save it as UTF-8"
) -> str:
    """``data`` decoded as UTF-8 (a leading BOM, as Windows Notepad writes, is dropped);
    raises :class:`FileDecodeError` for empty, binary or otherwise non-UTF-8 bytes, whose
    message ends with ``fix``."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    if not data.strip():
        raise FileDecodeError(f"{what} {source} is empty: it holds no settings")
    if b"\x00" in data:
        at = data.index(b"\x00")
        raise FileDecodeError(
            f"{what} {source} is a binary file, not text (a NUL byte at {_where(data, at)})"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileDecodeError(
            f"{what} {source} is not UTF-8 (byte 0x{data[exc.start]:02x} at "
            f"{_where(data, exc.start)}{_looks_like(data)}): {fix}"
        ) from None


def read_utf8_text(
    path: Path | str, *, what: str = "file", fix: str = "save it as UTF-8"
) -> str:
    """The whole text of a UTF-8 file; raises :class:`PathError` when it cannot be read
    (missing, a folder, no permission) and :class:`FileDecodeError` when it is not text."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise PathError(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise PathError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    return decode_utf8_text(data, str(path), what=what, fix=fix)


def read_config_text(path: Path | str) -> str:
    """:func:`read_utf8_text` for a config file: the same checks and messages, raised as
    :class:`ConfigError` subclasses (what a config loader's callers catch)."""
    try:
        return read_utf8_text(path, what="config")
    except FileDecodeError as exc:
        raise ConfigDecodeError(str(exc)) from None
    except PathError as exc:
        raise ConfigPathError(str(exc)) from None


def read_key_text(path: Path | str, what: str) -> str:
    """:func:`read_utf8_text` for a station's key file, whose fix is not re-saving it."""
    return read_utf8_text(path, what=what, fix="it is damaged: restore it from the key backup")
