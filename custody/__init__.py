"""The custody core: domain, rules and the hash-chained, signed ledger.

This package imports nothing else of ours and no hardware, camera, network or web
library. What it needs from the outside world is described by the Protocols in
:mod:`custody.ports`.
"""
