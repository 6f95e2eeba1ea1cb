"""Webhook: each verdict POSTed as JSON. Delivered means a 2xx answer; anything else is retried
with backoff by the runner (station.outputs.hub), so the receiver should treat `sequence` +
`station` as the key (a 2xx lost on the way back makes a retry).

A header's value may name environment variables, `"Authorization": "Bearer ${MES_TOKEN}"`, so a
token lives in the service's environment, never in the outputs file."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from station.core.redact import from_environment, mask
from station.outputs.config import SinkConfig
from station.outputs.message import VerdictMessage

REFUSED = {401: "not authorised", 403: "forbidden"}


class WebhookSink:
    kind = "webhook"
    tick_s = 0.0

    def __init__(self, cfg: SinkConfig, station: str = "", model: str = "") -> None:
        # `where` is shown and logged: a URL's password never is.
        self.cfg, self.name, self.where = cfg, cfg.name, mask(cfg.url)
        self._headers = {"Content-Type": "application/json", **{k: from_environment(v, f"{cfg.name}: header {k}")
                                                                 for k, v in cfg.headers.items()}}
        # The station's own proxy settings must not send a plant's internal webhook elsewhere.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def connect(self) -> None:
        """HTTP has no session: a TCP connection to the receiver says it is there (nothing is
        sent); a POST alone can say whether it takes verdicts."""
        import socket
        import urllib.parse

        url = urllib.parse.urlsplit(self.cfg.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        with socket.create_connection((url.hostname or "", port), timeout=self.cfg.timeout_s):
            pass

    def send(self, message: VerdictMessage) -> None:
        body = json.dumps(message.to_json()).encode()
        request = urllib.request.Request(self.cfg.url, data=body, method="POST", headers=self._headers)
        try:
            with self._opener.open(request, timeout=self.cfg.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            if exc.code in REFUSED:  # a token or a right missing: no retry changes it, someone must act
                from station.outputs.hub import SinkRefused

                raise SinkRefused(f"{self.where} answered HTTP {exc.code} ({REFUSED[exc.code]})") from None
            raise ConnectionError(f"{self.where} answered HTTP {exc.code}") from None
        if not 200 <= status < 300:
            raise ConnectionError(f"{self.where} answered HTTP {status}")

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass
