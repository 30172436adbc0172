"""Read-only FastAPI app over the ledger and the derived custody state."""
