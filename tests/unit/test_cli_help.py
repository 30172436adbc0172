"""Every ``locker`` subcommand, at every depth, answers ``--help`` with a description."""

from __future__ import annotations

import argparse

import pytest

from lockerd.cli import build_parser, main


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.extend(_walk(child, (*path, name)))
    return found


COMMANDS = _walk(build_parser(), ())


def test_there_are_subcommands() -> None:
    assert len(COMMANDS) > 3


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "locker")
def test_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: locker" in out
    # a real description, not just the usage line
    assert len(out.strip().splitlines()) > 2
