"""Shipped risk-point catalogues (data files; see ``starter.toml`` and ``docs/custody.md``)."""
