"""``locker scan``: image files, folders, the simulated camera, JSON, storing the photo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hw_sim.camera_sim import SceneLabel, Trouble, render_scene
from lockerd.cli import main
from scanner.camera import encode_frame

LABEL = "E2026-000123-K"


def _label_png(path: Path, text: str = LABEL, fmt: str = "QRCode") -> Path:
    frame, _ = render_scene(
        [SceneLabel(text, fmt)], np.random.default_rng(2), width=1280, height=720,
        trouble=Trouble.clean(),
    )
    path.write_bytes(encode_frame(frame, "image/png"))
    return path


def test_scan_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "installation" in out and "--camera" in out and "--json" in out


def test_scan_an_image_prints_the_label_and_its_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _label_png(tmp_path / "label.png")
    assert main(["scan", "--image", str(image)]) == 0
    out = capsys.readouterr().out
    assert f"{LABEL}\tQRCode\tbox " in out and "valid label" in out
    assert not (tmp_path / "photos").exists()


def test_scan_json_and_data_store_the_exact_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _label_png(tmp_path / "label.png")
    data = tmp_path / "station"
    assert main(["scan", "--image", str(image), "--data", str(data), "--json"]) == 0
    captured = capsys.readouterr()
    (read,) = json.loads(captured.out)
    assert read["text"] == LABEL and read["format"] == "QRCode" and len(read["box"]) == 4
    assert "photo: " in captured.err
    stored = [p for p in (data / "photos").rglob("*") if p.is_file() and p.suffix == ""]
    assert len(stored) == 1 and stored[0].read_bytes() == image.read_bytes()


def test_scan_a_corrupt_image_fails_clearly_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this was cut off")
    data = tmp_path / "station"
    assert main(["scan", "--image", str(bad), "--data", str(data)]) == 2
    assert "cannot decode image" in capsys.readouterr().err
    assert not data.exists()


def test_scan_a_wrong_check_character_is_shown_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _label_png(tmp_path / "label.png", text="E2026-000123-A", fmt="Code128")
    assert main(["scan", "--image", str(image)]) == 0
    assert "wrong check character" in capsys.readouterr().out


def test_scan_a_folder_camera_and_the_simulated_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "cam"
    folder.mkdir()
    _label_png(folder / "0.png")
    assert main(["scan", "--camera", str(folder)]) == 0
    assert LABEL in capsys.readouterr().out
    assert main(["scan", "--camera", "sim", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["text"] == LABEL


def test_scan_with_nothing_in_view_exits_5(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = tmp_path / "blank.png"
    blank.write_bytes(encode_frame(np.full((240, 320, 3), 180, np.uint8), "image/png"))
    assert main(["scan", "--image", str(blank), "--json"]) == 5
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "no barcode" in captured.err


def test_scan_without_a_source_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan"]) == 2
    assert main(["scan", "--data", str(tmp_path)]) == 2
    assert "config.toml" in capsys.readouterr().err
