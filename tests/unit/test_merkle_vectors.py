"""Every RFC 6962 proof case from ``../shared/vectors/rfc6962`` (transparency-dev/merkle's
test data): each verifies exactly when its ``wantErr`` is false."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import pytest

from custody.ledger.merkle import (
    ProofError,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)
from tests.conftest import shared_dir

VECTORS = shared_dir() / "vectors" / "rfc6962"


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json")) if VECTORS.is_dir() else []


def _b64(value: str | None) -> bytes:
    try:
        return base64.b64decode(value or "", validate=True)
    except binascii.Error:
        return b"\xff"  # not base64 at all: a hash of the wrong size, which must be refused


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in case.get("proof") or []]


def _run(kind: str, case: dict[str, Any]) -> None:
    if kind == "inclusion":
        verify_inclusion(
            case["leafIdx"],
            case["treeSize"],
            _b64(case["leafHash"]),
            _proof(case),
            _b64(case["root"]),
        )
    elif kind == "consistency":
        verify_consistency(
            case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), _proof(case)
        )
    elif kind == "subtreeinclusion":
        verify_subtree_inclusion(
            case["leafIdx"],
            case["start"],
            case["end"],
            _b64(case["leafHash"]),
            _proof(case),
            _b64(case["root"]),
        )
    else:
        verify_subtree_consistency(
            case["start"],
            case["end"],
            case["size"],
            _proof(case),
            _b64(case["root1"]),
            _b64(case["root2"]),
        )


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (kind, p)
        for kind in ("inclusion", "consistency", "subtreeinclusion", "subtreeconsistency")
        for p in _cases(kind)
    ],
    ids=lambda v: v if isinstance(v, str) else str(v.relative_to(VECTORS)),
)
def test_vector(kind: str, path: Path, shared: Path) -> None:
    case = json.loads(path.read_text())
    if case["wantErr"]:
        with pytest.raises(ProofError):
            _run(kind, case)
    else:
        _run(kind, case)


def test_vectors_present(shared: Path) -> None:
    """The corpus is there and large: a silent empty parametrisation would prove nothing."""
    total = sum(
        len(_cases(k))
        for k in ("inclusion", "consistency", "subtreeinclusion", "subtreeconsistency")
    )
    assert total > 300
