"""The custody ledger: RFC 8785 entries in an RFC 6962 Merkle tree, signed C2SP
checkpoints, tlog-proof inclusion proofs, and full verification (DESIGN.md §3.1-3.3)."""

from custody.ledger.ledger import Entry, Ledger

__all__ = ["Entry", "Ledger"]
