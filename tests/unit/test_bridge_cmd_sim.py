"""``locker sim`` refuses bad arguments with exit 2 and a clear message."""

from __future__ import annotations

import socket

import pytest

from lockerd.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sim", "--tcp", "nohost"], "HOST:PORT"),
        (["sim", "--tcp", "127.0.0.1:99999"], "HOST:PORT"),
        (["sim", "--cabinets", "0"], "--cabinets"),
        (["sim", "--cabinets", "248"], "--cabinets"),
        (["sim", "--compartments", "0"], "--compartments"),
        (["sim", "--baud", "10"], "--baud"),
        (["sim", "--no-tcp"], "nothing to serve"),
        (["sim", "--rtu-socket", "x"], "--rtu-socket"),
    ],
)
def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_port_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["sim", "--tcp", f"127.0.0.1:{port}"]) == 2
    assert "cannot start the simulator" in capsys.readouterr().err
