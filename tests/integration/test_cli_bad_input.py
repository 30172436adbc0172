"""Every ``locker`` subcommand against every class of bad input (issue #17).

Each case runs ``lockerd.cli.main`` in this process (in a watchdog thread: a command that
hangs on bad input fails its case instead of the suite) and asserts ONE line on stderr
that names the problem, the documented exit code (docs/reliability.md), no traceback,
and the station's files unchanged (every file of the data directory hashed before and
after). A few cases also run as the real console script.

The subcommands are enumerated from the parser. :data:`TABLE` says, for the commands we
know, a valid command line and what kind each path or number argument is; a command not
in the table (one added later) is still run with an unknown option and with a path under
a regular file for each of its DIR/FILE/PATH arguments, a file for each DIR, and bad
numbers for each integer option. To cover a new command fully, add a line to TABLE.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from custody.errors import ConfigError, LockerError, UsageError
from custody.ledger.errors import BundleUnreadableError, LedgerDamagedError, NoSuchEntryError
from lockerd import exitcodes
from lockerd.cli import LockerArgumentParser, build_parser, exit_code_for, main
from tests.conftest import REPO_ROOT
from tests.ledger_support import make_station

HANG_AFTER_S = 60.0  # a bound on a wedged command, not a timing assertion


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Arg:
    """One argument of a command and what kind of path or value it takes. ``base``, when
    set, replaces the command's valid line while this argument is tested."""

    option: str  # "--data", or "" for the (single) positional argument
    kind: str  # a key of BAD_VALUES
    base: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Spec:
    """A valid command line (placeholders ``{station}``, ``{config}``, ``{new}``) and the
    arguments to try bad values on."""

    base: tuple[str, ...] = ()
    args: tuple[Arg, ...] = ()


TABLE: dict[str, Spec] = {
    "init": Spec(("--data", "{new}"), (Arg("--data", "out_dir"),)),
    "audit verify": Spec(
        ("--data", "{station}"),
        (
            Arg("--data", "station"),
            Arg("--bundle", "bundle", base=()),
            Arg("--checkpoint", "in_text_file"),
            Arg("--key", "in_text_file"),
        ),
    ),
    "audit export": Spec(
        ("--data", "{station}", "--out", "{new}.tar.gz"),
        (Arg("--data", "station"), Arg("--out", "out_file")),
    ),
    "audit checkpoint": Spec(("--data", "{station}"), (Arg("--data", "station"),)),
    "audit key": Spec(("--data", "{station}"), (Arg("--data", "station"),)),
    "audit proof": Spec(
        ("--data", "{station}", "--seq", "1"),
        (Arg("--data", "station"), Arg("--seq", "number"), Arg("--seq", "past_the_end")),
    ),
    "audit consistency": Spec(
        ("--data", "{station}", "--old", "1"),
        (Arg("--data", "station"), Arg("--old", "number"), Arg("--new", "number")),
    ),
    "config check": Spec(("{config}",), (Arg("", "config"),)),
    "config hash-pin": Spec(),
    "daemon": Spec(("--config", "{config}"), (Arg("--config", "config"),
                                              Arg("--config", "config_data_dir"))),
    "terminal": Spec(("--config", "{config}"), (Arg("--config", "config"),
                                                Arg("--config", "config_data_dir"))),
    "demo": Spec(("--once",), (Arg("--data", "new_empty_dir"),)),
    "api": Spec(
        ("--data", "{station}", "--port", "0"),
        (Arg("--data", "station"), Arg("--port", "number")),
    ),
    "token create": Spec(
        ("--data", "{station}", "--role", "clerk"), (Arg("--data", "station"),)
    ),
    "token list": Spec(("--data", "{station}"), (Arg("--data", "station"),)),
    "token revoke": Spec(("--data", "{station}", "t-1"), (Arg("--data", "station"),)),
    "sim": Spec(
        ("--no-tcp", "--lockboard-pty"),
        (Arg("--cabinets", "number"), Arg("--compartments", "number"), Arg("--baud", "number"),
         Arg("--unlock-pulse-ms", "number")),
    ),
    "report": Spec(
        ("--data", "{station}", "--case", "C-1", "--out", "{new}.pdf"),
        (Arg("--data", "station"), Arg("--out", "out_file"), Arg("--config", "config")),
    ),
    "label print": Spec(
        ("--data", "{station}", "--item", "E2026-000001-0", "--printer", "/dev/null"),
        (Arg("--data", "station"), Arg("--config", "config"), Arg("--copies", "number")),
    ),
    "audit verify-proof": Spec(
        ("{config}", "--key", "{station}/station.vkey"),
        (Arg("", "in_text_file"), Arg("--key", "in_text_file"), Arg("--quorum", "number"),
         Arg("--pdf", "in_file", base=())),
    ),
    "district token create": Spec(
        ("--config", "{config}", "--role", "legal", "--person", "x"),
        (Arg("--config", "config"),),
    ),
    "scan": Spec(
        ("--camera", "sim"),
        (Arg("--image", "in_image", base=()), Arg("--data", "out_dir")),
    ),
}


@dataclass(frozen=True)
class Bad:
    """A bad value: its name, the value (placeholders as in Spec), the exit code, and a
    piece of text the one-line message must hold."""

    name: str
    value: str
    code: int
    says: str


USAGE, BUNDLE = exitcodes.USAGE, exitcodes.BUNDLE_UNREADABLE
BAD_VALUES: dict[str, tuple[Bad, ...]] = {
    "station": (
        Bad("missing", "{missing}", USAGE, "does not exist"),
        Bad("file-for-folder", "{a_file}", USAGE, "is a file, not a folder"),
        Bad("not-a-station", "{empty_dir}", USAGE, "not a station data directory"),
    ),
    "in_text_file": (
        Bad("missing", "{missing}", USAGE, "{missing}"),
        Bad("folder-for-file", "{empty_dir}", USAGE, "is a folder"),
        Bad("binary", "{binary}", USAGE, "binary"),
        Bad("gbk", "{gbk_config}", USAGE, "not UTF-8"),
    ),
    "in_file": (  # a file of any content (a PDF)
        Bad("missing", "{missing}", USAGE, "does not exist"),
        Bad("folder-for-file", "{empty_dir}", USAGE, "is a folder"),
    ),
    "in_image": (
        Bad("missing", "{missing}", USAGE, "does not exist"),
        Bad("folder-for-file", "{empty_dir}", USAGE, "is a folder"),
        Bad("not-an-image", "{binary}", USAGE, "image"),
    ),
    "config": (
        Bad("missing", "{missing}", USAGE, "does not exist"),
        Bad("folder-for-file", "{empty_dir}", USAGE, "is a folder"),
        Bad("gbk", "{gbk_config}", USAGE, "save it as UTF-8"),
        Bad("binary", "{binary}", USAGE, "binary file"),
        Bad("empty", "{empty_file}", USAGE, "is empty"),
    ),
    "config_data_dir": (
        Bad("data-dir-missing", "{config_missing_data}", USAGE, "does not exist"),
        Bad("data-dir-is-a-file", "{config_file_data}", USAGE, "is a file, not a folder"),
    ),
    "out_file": (
        Bad("missing-folder", "{missing}/b.tar.gz", USAGE, "does not exist"),
        Bad("under-a-file", "{a_file}/b.tar.gz", USAGE, "is a file, not a folder"),
        Bad("unwritable", "/proc/locker-test.tar.gz", USAGE, "not writable"),
        Bad("exists", "{a_file}", USAGE, "already exists"),
    ),
    "out_dir": (
        Bad("file-for-folder", "{a_file}", USAGE, "is a file, not a folder"),
        Bad("under-a-file", "{a_file}/sub", USAGE, "is a file, not a folder"),
        Bad("unwritable", "/proc/locker-test", USAGE, "not writable"),
    ),
    "new_empty_dir": (
        Bad("file-for-folder", "{a_file}", USAGE, "is a file, not a folder"),
        Bad("not-empty", "{station}", USAGE, "not empty"),
        Bad("unwritable", "/proc/locker-test", USAGE, "not writable"),
    ),
    "bundle": (
        Bad("missing", "{missing}", USAGE, "does not exist"),
        Bad("truncated", "{truncated_bundle}", BUNDLE, "truncated"),
        Bad("garbage", "{garbage_bundle}", BUNDLE, "truncated or not a .tar.gz"),
        Bad("folder-without-bundle", "{empty_dir}", BUNDLE, "no bundle.json"),
    ),
    "number": (
        Bad("negative", "-1", USAGE, "-1 is negative"),
        Bad("huge", "99999999999999999999999", USAGE, "too large"),
        Bad("non-numeric", "twelve", USAGE, "'twelve' is not a whole number"),
    ),
    "past_the_end": (Bad("past-the-end", "1000000", USAGE, "no entry 1000000"),),
}


# --------------------------------------------------------------------------- the cases


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[
    tuple[tuple[str, ...], argparse.ArgumentParser]
]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs and path:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _walk(child, (*path, name))


COMMANDS = dict(_walk(build_parser(), ()))
_PATHISH = ("DIR", "FILE", "PATH")


def _generic(parser: argparse.ArgumentParser) -> Spec:
    """What can be tried on a command the table does not know yet: its required arguments
    filled in, and each path-looking (metavar DIR/FILE/PATH...) or integer argument."""
    base: list[str] = []
    args: list[Arg] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.dest == argparse.SUPPRESS:
            continue
        metavar = str(action.metavar or action.dest).upper()
        option = action.option_strings[-1] if action.option_strings else ""
        if action.required and action.nargs not in (0, "?", "*"):
            value = (
                "{station}" if metavar.endswith("DIR")
                else "http://127.0.0.1:9/" if "URL" in metavar  # the discard port: refused
                else "x"
            )
            base += [option, value] if option else [value]
        if any(metavar.endswith(p) for p in _PATHISH) and option:
            args.append(Arg(option, "generic_dir" if metavar.endswith("DIR") else "generic"))
        if action.type is int and option:
            args.append(Arg(option, "number"))
    return Spec(tuple(base), tuple(args))


# A command the table does not know is held to the exit code, the one line, no traceback
# and an unchanged station; which words its message uses is checked once it is in TABLE
# (the generic filler for its other arguments may be what it complains about first).
BAD_VALUES["generic"] = (Bad("under-a-file", "{a_file}/sub", USAGE, ""),)
BAD_VALUES["generic_dir"] = (
    *BAD_VALUES["generic"],
    Bad("file-for-folder", "{a_file}", USAGE, ""),
)


@dataclass(frozen=True)
class Case:
    command: tuple[str, ...]
    argv: tuple[str, ...]
    bad: Bad
    id: str = field(default="")


def _with(base: tuple[str, ...], option: str, value: str) -> tuple[str, ...]:
    """``base`` with ``option`` set to ``value`` (replaced when present, else added)."""
    out = list(base)
    if not option:
        return (value,)
    if option in out:
        out[out.index(option) + 1] = value
        return tuple(out)
    return (*out, option, value)


def _cases() -> list[Case]:
    cases: list[Case] = []
    for command, parser in COMMANDS.items():
        name = " ".join(command)
        spec = TABLE.get(name) or _generic(parser)
        unknown = Bad("unknown-option", "--no-such-option", USAGE, "unrecognized arguments")
        cases.append(Case(command, (*spec.base, "--no-such-option"), unknown,
                          f"{name}: {unknown.name}"))
        for arg in spec.args:
            base = spec.base if arg.base is None else arg.base
            for bad in BAD_VALUES[arg.kind]:
                cases.append(Case(command, _with(base, arg.option, bad.value), bad,
                                  f"{name} {arg.option or 'ARG'}: {bad.name}"))
    return cases


CASES = _cases()


def test_the_table_names_only_real_commands() -> None:
    """A command renamed or removed must leave the table too (its cases would test a
    usage error of the top parser, not the command)."""
    assert set(TABLE) <= {" ".join(c) for c in COMMANDS}


# --------------------------------------------------------------------------- fixtures


def _digest(root: Path) -> str:
    """Every file's relative path and bytes under ``root``, except SQLite's shared-memory
    index (``*-shm``) and an empty ``*-wal``: any reader of a WAL database makes those
    (a read-only one cannot remove them) and neither holds data."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.name.endswith("-shm") or (path.name.endswith("-wal") and not path.stat().st_size):
            continue
        h.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def _config(data_dir: Path) -> str:
    return f'[station]\nname = "城关派出所"\ndata_dir = "{data_dir}"\n\n[api]\nport = 0\n'


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The paths the placeholders stand for: one real station and one of each bad file."""
    root = tmp_path_factory.mktemp("bad-input")
    station = make_station(root, 20, photo=True)
    a_file = root / "a-file.txt"
    a_file.write_text("just a file\n")
    empty_dir = root / "empty-dir"
    empty_dir.mkdir()
    configs = root / "configs"
    configs.mkdir()
    (configs / "good.toml").write_text(_config(station), encoding="utf-8")
    (configs / "gbk.toml").write_bytes(_config(station).encode("gbk"))
    (configs / "binary.toml").write_bytes(bytes(range(256)) * 4)
    (configs / "empty.toml").write_bytes(b"")
    (configs / "missing-data.toml").write_text(_config(root / "nowhere"), encoding="utf-8")
    (configs / "file-data.toml").write_text(_config(a_file), encoding="utf-8")
    whole = io.BytesIO()
    with tarfile.open(fileobj=whole, mode="w:gz") as tar:
        info = tarfile.TarInfo("bundle/bundle.json")
        payload = b'{"format": "evidence-locker-audit-bundle/1"}\n' * 200
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    (root / "truncated.tar.gz").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    (root / "garbage.tar.gz").write_bytes(os.urandom(4096))
    return {
        "station": str(station),
        "config": str(configs / "good.toml"),
        "gbk_config": str(configs / "gbk.toml"),
        "binary": str(configs / "binary.toml"),
        "empty_file": str(configs / "empty.toml"),
        "config_missing_data": str(configs / "missing-data.toml"),
        "config_file_data": str(configs / "file-data.toml"),
        "a_file": str(a_file),
        "empty_dir": str(empty_dir),
        "missing": str(root / "no-such-folder" / "nothing"),
        "new": str(root / "new-place"),
        "truncated_bundle": str(root / "truncated.tar.gz"),
        "garbage_bundle": str(root / "garbage.tar.gz"),
    }


def run_locker(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(argv)`` in a watchdog thread: (exit code, stdout, stderr). Fails on a hang."""
    result: list[int] = []

    def target() -> None:
        try:
            result.append(main(argv))
        except SystemExit as exc:  # argparse's usage errors
            result.append(exc.code if isinstance(exc.code, int) else 2)

    worker = threading.Thread(target=target, daemon=True, name="locker-main")
    worker.start()
    worker.join(HANG_AFTER_S)
    assert not worker.is_alive(), f"locker {' '.join(argv)} hung on bad input"
    out, err = capsys.readouterr()
    assert result, f"locker {' '.join(argv)} raised instead of exiting:\n{err}"
    return result[0], out, err


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_line_and_its_exit_code(
    case: Case, places: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*case.command, *(a.format(**places) for a in case.argv)]
    before = _digest(Path(places["station"]))
    code, out, err = run_locker(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err + out, err
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert code == case.bad.code, lines[0]
    assert case.bad.says.format(**places) in lines[0]
    assert _digest(Path(places["station"])) == before, "the station's files changed"


def test_every_command_is_covered() -> None:
    """Each subcommand has at least its usage case, and those in the table all their
    argument cases."""
    covered = {c.command for c in CASES}
    assert covered == set(COMMANDS)
    for name, spec in TABLE.items():
        assert sum(1 for c in CASES if " ".join(c.command) == name) > len(spec.args)


def test_verbose_adds_the_traceback(
    places: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_locker(
        ["-v", "audit", "verify", "--bundle", places["truncated_bundle"]], capsys
    )
    assert code == exitcodes.BUNDLE_UNREADABLE
    assert "Traceback" in err and "BundleUnreadableError" in err
    assert err.strip().splitlines()[-1].startswith("locker: error: cannot read bundle")


def test_a_bug_is_one_line_too(
    places: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception no command expected: one line saying it is a bug, exit 70."""
    import lockerd.cmd_audit

    def broken(args: argparse.Namespace) -> int:
        raise KeyError("oops")

    monkeypatch.setattr(lockerd.cmd_audit, "_key", broken)
    code, _, err = run_locker(["audit", "key", "--data", places["station"]], capsys)
    assert code == exitcodes.INTERNAL
    assert err.strip().splitlines() == [
        "locker: error: internal error KeyError: 'oops' (a bug; 'locker -v ...' shows the "
        "traceback)"
    ]


def test_error_classes_added_later_map_without_change() -> None:
    """A command another engineer adds raises its own LockerError subclasses: their codes
    follow from the base class alone."""

    class WitnessDownError(LockerError):
        pass

    class BadListenError(UsageError):
        pass

    class BadSectionError(ConfigError):
        pass

    class ProofDoesNotVerify(LedgerDamagedError):
        pass

    assert exit_code_for(WitnessDownError("x")) == exitcodes.FAILED
    assert exit_code_for(BadListenError("x")) == exitcodes.USAGE
    assert exit_code_for(BadSectionError("x")) == exitcodes.USAGE
    assert exit_code_for(ProofDoesNotVerify("x")) == exitcodes.LEDGER_DAMAGED
    assert exit_code_for(BundleUnreadableError("x")) == exitcodes.BUNDLE_UNREADABLE
    assert exit_code_for(NoSuchEntryError("x")) == exitcodes.USAGE
    assert exit_code_for(OSError(28, "No space left on device")) == exitcodes.FAILED
    assert exit_code_for(PermissionError(13, "Permission denied")) == exitcodes.USAGE


def _console_script() -> list[str]:
    """The installed ``locker`` console script beside this Python (what a user runs)."""
    script = Path(sys.executable).with_name("locker")
    assert script.is_file(), f"the console script {script} is not installed (make venv)"
    return [str(script)]


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["audit", "verify", "--bundle", "{truncated_bundle}"], BUNDLE, "truncated"),
        (["config", "check", "{gbk_config}"], USAGE, "save it as UTF-8"),
        (["init", "--data", "{a_file}"], USAGE, "is a file, not a folder"),
        (["demo", "--once", "--data", "{a_file}"], USAGE, "is a file, not a folder"),
        (["audit", "export", "--data", "{station}", "--out", "{missing}/b.tar.gz"], USAGE,
         "does not exist"),
        (["daemon", "--config", "{binary}"], USAGE, "binary file"),
    ],
    ids=["truncated-bundle", "gbk-config", "init-on-a-file", "demo-on-a-file",
         "export-to-a-missing-folder", "daemon-binary-config"],
)
def test_the_console_script(
    argv: list[str], code: int, says: str, places: dict[str, str]
) -> None:
    before = _digest(Path(places["station"]))
    done = subprocess.run(
        [*_console_script(), *(a.format(**places) for a in argv)],
        capture_output=True, text=True, timeout=HANG_AFTER_S * 2, check=False, cwd=REPO_ROOT,
    )
    assert done.returncode == code, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert says.format(**places) in done.stderr and "Traceback" not in done.stderr
    assert _digest(Path(places["station"])) == before


def test_a_command_added_later_is_covered_generically() -> None:
    """What the test would try on a command it does not know (say a mirror command)."""
    parser = LockerArgumentParser(prog="locker mirror")
    parser.add_argument("--from", dest="source", required=True, metavar="URL")
    parser.add_argument("--data", required=True, metavar="MDIR")
    parser.add_argument("--every", type=int, metavar="N")
    spec = _generic(parser)
    assert spec.base == ("--from", "http://127.0.0.1:9/", "--data", "{station}")
    assert spec.args == (Arg("--data", "generic_dir"), Arg("--every", "number"))


def test_a_malformed_checkpoint_is_reported_without_a_seq(
    places: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to print 'bad_checkpoint at seq None'."""
    note = tmp_path / "checkpoint.txt"
    note.write_text("not a checkpoint\n")
    code, out, _ = run_locker(
        ["audit", "verify", "--data", places["station"], "--checkpoint", str(note)], capsys
    )
    assert code == exitcodes.NOT_VERIFIED
    assert out.startswith(f"TAMPERED: bad_checkpoint: auditor checkpoint {note} is malformed")
    assert "None" not in out
