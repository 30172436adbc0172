"""The exit codes of every ``locker`` command (documented in docs/reliability.md).

Which error class gets which code is decided in one place, :func:`lockerd.cli.main`; a
command returns :data:`OK` or, for a verdict it printed itself, :data:`NOT_VERIFIED`.
"""

from __future__ import annotations

OK = 0
NOT_VERIFIED = 1  # the ledger (a bundle, a proof) does not verify; nothing else exits 1
USAGE = 2  # bad arguments, missing/wrong-kind/unwritable paths, undecodable files, bad config
BUNDLE_UNREADABLE = 3  # the bundle cannot be read at all (truncated or garbage archive)
LEDGER_DAMAGED = 4  # the ledger file fails its integrity check: verify and restore it
FAILED = 5  # the work could not be done (disk full, ledger in use, device or peer down)
INTERNAL = 70  # a bug: an exception no command expected (BSD sysexits' EX_SOFTWARE)
INTERRUPTED = 130  # Ctrl-C

MEANINGS: dict[int, str] = {
    OK: "done",
    NOT_VERIFIED: "the ledger, bundle or proof does not verify",
    USAGE: "usage or environment error",
    BUNDLE_UNREADABLE: "the audit bundle cannot be read",
    LEDGER_DAMAGED: "the ledger file is damaged",
    FAILED: "the work could not be done; nothing was half-written",
    INTERNAL: "internal error",
    INTERRUPTED: "interrupted",
}
