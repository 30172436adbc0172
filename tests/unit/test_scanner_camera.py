"""Cameras: OpenCV over a real video file, a folder of images, and the simulated camera."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from custody.ports import Camera
from custody.testing import FakeClock
from hw_sim.camera_sim import SceneLabel, SimulatedCamera, Trouble
from scanner.camera import FolderCamera, OpenCVCamera, encode_frame, open_camera
from scanner.errors import CameraError, EmptyFrameError
from scanner.pipeline import LabelReader, decode_image

LABEL = "E2026-000123-K"


SHOT_AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)  # the cameras' clock stands still here


def _video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (320, 240))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((240, 320, 3), 20 + 40 * i, np.uint8))
    writer.release()
    return path


def test_opencv_camera_reads_a_stream_then_reports_it_gone(tmp_path: Path) -> None:
    video = _video(tmp_path / "feed.avi", 5)
    slept: list[float] = []
    cam = OpenCVCamera(
        str(video), camera_id="door-cam", settle_s=0.0, flush_frames=0, retries=1,
        retry_delay_s=0.25, clock=FakeClock(SHOT_AT), sleep=slept.append,
    )
    shots = [cam.capture() for _ in range(5)]
    assert [s.camera_id for s in shots] == ["door-cam"] * 5
    assert (shots[0].width, shots[0].height, shots[0].media_type) == (320, 240, "image/jpeg")
    assert shots[0].taken_at == SHOT_AT
    levels = [int(decode_image(s.data).mean()) for s in shots]
    assert levels == sorted(levels) and levels[-1] - levels[0] > 120  # frames in order
    # The file ends: the camera retries, reopens it (after one retry delay) and goes on.
    again = [cam.capture() for _ in range(5)]
    assert len(again) == 5 and slept == [0.25]
    cam.close()


def test_a_camera_that_vanishes_mid_sequence_raises_camera_error(tmp_path: Path) -> None:
    video = _video(tmp_path / "feed.avi", 3)
    slept: list[float] = []
    cam = OpenCVCamera(str(video), settle_s=0.0, flush_frames=0, retries=2,
                       retry_delay_s=0.1, sleep=slept.append)
    cam.capture()
    video.unlink()  # unplugged: reopening fails
    cam.capture()
    cam.capture()
    with pytest.raises(CameraError, match="gone or disconnected"):
        cam.capture()
    assert slept == [0.1, 0.1]


def test_a_missing_device_is_a_clear_camera_error() -> None:
    cam = OpenCVCamera("/dev/video97", settle_s=0.0, retries=0)
    with pytest.raises(CameraError, match="cannot open /dev/video97"):
        cam.capture()


def test_folder_camera_cycles_keeps_bytes_and_can_run_out(tmp_path: Path) -> None:
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((60, 80, 3), 50 * i, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    cam = FolderCamera(tmp_path, loop=False, clock=FakeClock(SHOT_AT))
    a, b = cam.capture(), cam.capture()
    assert a.data == (tmp_path / "0.png").read_bytes() and a.media_type == "image/png"
    assert b.data == (tmp_path / "1.png").read_bytes()
    with pytest.raises(CameraError, match="no more images"):
        cam.capture()
    looping = open_camera(str(tmp_path), camera_id="desk")
    assert isinstance(looping, FolderCamera)
    assert [looping.capture().data for _ in range(3)][2] == a.data
    shutil.rmtree(tmp_path)
    with pytest.raises(CameraError, match="is gone"):
        looping.capture()


def test_folder_camera_refuses_a_corrupt_image(tmp_path: Path) -> None:
    (tmp_path / "0.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(CameraError, match="not a readable image"):
        FolderCamera(tmp_path).capture()


def test_encode_frame_refuses_an_empty_frame() -> None:
    with pytest.raises(EmptyFrameError):
        encode_frame(np.zeros((0, 0, 3), np.uint8))


def test_simulated_camera_is_deterministic_and_shows_what_it_is_told() -> None:
    def shoot() -> list[bytes]:
        cam = SimulatedCamera(seed=9, width=640, height=360, trouble=Trouble.clean())
        cam.show(SceneLabel(LABEL, "QRCode"))
        return [cam.capture().data for _ in range(2)]

    first, second = shoot(), shoot()
    assert first == second and first[0] != first[1]
    cam: Camera = SimulatedCamera(seed=9, width=1280, height=720, trouble=Trouble.clean())
    assert isinstance(cam, SimulatedCamera)
    cam.show(SceneLabel(LABEL, "DataMatrix"))
    shot = cam.capture()
    assert [r.text for r in LabelReader().read(shot.data)] == [LABEL]
    assert cam.last_truth[0].text == LABEL
    cam.clear()
    assert LabelReader().read(cam.capture().data) == []


def test_simulated_camera_vanishes_after_n_captures_and_comes_back() -> None:
    cam = SimulatedCamera(width=320, height=180)
    cam.show(LABEL)
    cam.vanish(after=2)
    cam.capture()
    cam.capture()
    with pytest.raises(CameraError, match="is gone"):
        cam.capture()
    cam.restore()
    assert cam.capture().width == 320


def test_scene_refuses_an_unknown_symbology() -> None:
    with pytest.raises(ValueError, match="unknown symbology"):
        SceneLabel(LABEL, "Aztec")
