"""One ``add-checkpoint`` request to a witness (C2SP tlog-witness v1.0.0), client side."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from witness.core import SIZE_TYPE


@dataclass(frozen=True)
class Reply:
    """A witness's answer: its status, the cosignature lines (200) or its size hint (409
    ``text/x.tlog.size``), and its text otherwise."""

    status: int
    lines: list[str]
    size_hint: int | None
    text: str


def request_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """``old N``, the proof lines, an empty line, the checkpoint note."""
    lines = [f"old {old_size}"] + [base64.b64encode(h).decode() for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode()


def add_checkpoint(
    http: httpx.Client, url: str, old_size: int, proof: Sequence[bytes], note: str
) -> Reply:
    """POST one checkpoint; raises :class:`httpx.HTTPError` when the witness is unreachable."""
    r = http.post(
        url.rstrip("/") + "/add-checkpoint",
        content=request_body(old_size, proof, note),
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    text = r.text
    if r.status_code == 200:
        lines = [line + "\n" for line in text.splitlines() if line]
        return Reply(200, lines, None, text)
    hint = None
    ctype = r.headers.get("content-type", "").split(";")[0].strip()
    if r.status_code == 409 and ctype == SIZE_TYPE:
        first = text.split("\n", 1)[0]
        if first.isdigit():
            hint = int(first)
    return Reply(r.status_code, [], hint, text.strip())
