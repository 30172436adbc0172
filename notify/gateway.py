"""An HTTP SMS gateway (a provider, or the force's own SMS platform) as a channel.

Request (POST, JSON, the configured auth header)::

    {"to": "+86139...", "template": "<template id of the notice kind>",
     "params": {"case": ..., ...}, "text": "<the rendered text>", "reference": "<notice key>"}

Answers: a 2xx with ``{"id": "<gateway reference>"}`` is success. Failures, and whether they
are retried: a timeout or a connection error (transient); 408, 429 and 5xx (transient);
other 4xx (permanent); a provider's own error body, ``{"error": {"code", "message"}}`` or
``{"code": <not 0/"OK">, "message"}`` on any status (permanent, unless its code is in
``transient_codes``). Delivery callbacks (:mod:`notify.callback`) carry the reference back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from notify.channel import Outgoing, ReportSink
from notify.errors import SendError

_OK_CODES = (0, "0", "OK", "ok", "success", None)


def _provider_error(body: Any) -> tuple[str, str] | None:
    """(code, message) of a provider's error body, or None when the body is not one."""
    if not isinstance(body, Mapping):
        return None
    err = body.get("error")
    if isinstance(err, Mapping):
        return str(err.get("code", "")), str(err.get("message", ""))
    if isinstance(err, str) and err:
        return err, str(body.get("message", ""))
    if "code" in body and body.get("code") not in _OK_CODES:
        return str(body["code"]), str(body.get("message", ""))
    return None


class GatewayChannel:
    """POST each notice to the gateway; its ``id`` is the reference."""

    name = "gateway"

    def __init__(
        self,
        url: str,
        *,
        templates: Mapping[str, str],
        auth_header: str = "",
        timeout_s: float = 10.0,
        transient_codes: Sequence[str] = (),
        callbacks: bool = False,
    ) -> None:
        self.url = url
        self.templates = dict(templates)
        self.timeout_s = timeout_s
        self.transient_codes = {str(c) for c in transient_codes}
        self.reports = callbacks
        self._headers: dict[str, str] = {}
        if auth_header:
            name, _, value = auth_header.partition(":")
            self._headers[name.strip()] = value.strip()
        self._client: httpx.AsyncClient | None = None
        self.last_error = ""
        self.sent = 0

    async def start(self, on_report: ReportSink) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout_s, headers=self._headers)

    async def send(self, msg: Outgoing) -> list[str]:
        if self._client is None:
            await self.start(lambda r: None)
        assert self._client is not None
        payload = {
            "to": msg.number,
            "template": self.templates.get(msg.kind, self.templates.get("other", "")),
            "params": dict(msg.params),
            "text": msg.text,
            "reference": msg.key,
        }
        try:
            resp = await self._client.post(self.url, json=payload)
        except httpx.TimeoutException as exc:
            raise self._fail(f"gateway timed out after {self.timeout_s:g} s", True) from exc
        except httpx.HTTPError as exc:
            raise self._fail(f"gateway unreachable: {exc}", True) from exc
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        error = _provider_error(body)
        if error is not None:
            code, message = error
            raise self._fail(f"gateway error {code}: {message} (HTTP {resp.status_code})",
                             code in self.transient_codes)
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise self._fail(f"gateway answered HTTP {resp.status_code}", True)
        if resp.status_code >= 400:
            raise self._fail(f"gateway refused the message: HTTP {resp.status_code}", False)
        reference = body.get("id") if isinstance(body, Mapping) else None
        if not reference:
            raise self._fail(f"gateway answered HTTP {resp.status_code} without an id", True)
        self.last_error = ""
        self.sent += 1
        return [str(reference)]

    def _fail(self, reason: str, transient: bool) -> SendError:
        self.last_error = reason
        return SendError(reason, transient=transient)

    async def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"channel": self.name, "url": self.url, "sent": self.sent}
        if self.last_error:
            out["last_error"] = self.last_error
        return out

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
