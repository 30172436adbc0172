"""The kiosk package is handed its parts: nothing in ``terminal/`` imports ``lockerd``
(DESIGN §2: ``lockerd`` builds every part; ``terminal`` never imports it)."""

from __future__ import annotations

import ast
from pathlib import Path

import terminal


def _imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_terminal_never_imports_lockerd() -> None:
    root = Path(terminal.__file__).resolve().parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 10  # the whole package, sub-packages too
    offenders = [(str(path.relative_to(root)), name) for path in files
                 for name in _imported(path) if name.split(".")[0] == "lockerd"]
    assert offenders == []


def test_the_walk_would_see_an_import_of_lockerd(tmp_path: Path) -> None:
    # the check itself: plain, dotted and from-imports, also inside functions
    probe = tmp_path / "probe.py"
    probe.write_text("import lockerd.config\n\ndef f():\n    from lockerd.steps import X\n")
    assert [n.split(".")[0] for n in _imported(probe)] == ["lockerd", "lockerd"]
