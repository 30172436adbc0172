"""Notices to phones: SMS through a GSM modem (PDU codec, AT dialogue) or an HTTP gateway.

An adapter at the edge (DESIGN.md §3.8, docs/notify.md): :mod:`notify.service` takes the
ledger's ``notice.sent`` entries through a durable queue (:mod:`notify.queue`) to a channel
(:mod:`notify.channel`, :mod:`notify.gateway`) and records each attempt and outcome back
through the custody core (:mod:`custody.delivery`).
"""
