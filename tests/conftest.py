"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parent.parent


# Property tests judge what the code returns, never how fast: on a shared, loaded machine a
# per-example deadline or the "too slow" health check would fail a correct run. Tests that
# set their own @settings inherit these and override only what they name.
settings.register_profile(
    "evidence-locker", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("evidence-locker")


def shared_dir() -> Path:
    """Where other projects' data lives (vectors, corpus): ``$EVIDENCE_LOCKER_SHARED`` or
    ``../shared`` beside the repository."""
    env = os.environ.get("EVIDENCE_LOCKER_SHARED")
    return Path(env) if env else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data directory; tests that need it are skipped, saying so, when absent."""
    path = shared_dir()
    if not path.is_dir():
        pytest.skip(
            f"shared test data not found at {path} (set EVIDENCE_LOCKER_SHARED to its path)"
        )
    return path


@pytest.fixture(params=["accelerated", "reference"])
def ledger_code_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with the ledger's C accelerator and once with the pure-Python
    reference alone (``custody/ledger/accel.py``): both must give the same verdicts."""
    from custody.ledger import accel

    if request.param == "reference":
        monkeypatch.setattr(accel, "NATIVE", None)
    elif accel.BUILT is None:
        pytest.fail("the ledger's C accelerator is not built (see test_ledger_speedups.py)")
    else:
        monkeypatch.setattr(accel, "NATIVE", accel.BUILT)
    return str(request.param)
