"""custody/textfile.py: a config is read whole as UTF-8, or refused with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.errors import ConfigError, FileDecodeError, PathError
from custody.textfile import read_config_text, read_utf8_text
from lockerd.config import load_config

TEXT = '[station]\nname = "城关派出所"\n'


def test_utf8_with_or_without_a_bom_is_read(tmp_path: Path) -> None:
    plain, bom = tmp_path / "plain.toml", tmp_path / "bom.toml"
    plain.write_text(TEXT, encoding="utf-8")
    bom.write_bytes(b"\xef\xbb\xbf" + TEXT.encode())
    assert read_config_text(plain) == read_config_text(bom) == TEXT
    assert load_config(bom).station.name == "城关派出所"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (TEXT.encode("gbk"), "is not UTF-8 (byte 0xb3 at line 2, column 9; it looks like "
                             "GBK/GB18030 (Chinese) text): save it as UTF-8"),
        (b"[station]\n\x00\x01\x02", "is a binary file, not text (a NUL byte at line 2, column 1)"),
        (b"", "is empty: it holds no settings"),
        (b" \n\t\n", "is empty: it holds no settings"),
    ],
    ids=["gbk", "binary", "empty", "blank"],
)
def test_a_config_that_is_not_utf8_text_is_refused_whole(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    with pytest.raises(FileDecodeError) as caught:
        load_config(path)
    assert isinstance(caught.value, ConfigError)  # what the config's callers catch
    assert str(caught.value) == f"config {path} {says}"


def test_a_missing_or_folder_config_is_a_path_error(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="No such file"):
        read_config_text(tmp_path / "absent.toml")
    with pytest.raises(PathError, match="is a folder, not a file"):
        read_utf8_text(tmp_path, what="config")
