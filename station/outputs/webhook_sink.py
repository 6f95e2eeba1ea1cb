"""Webhook: each verdict POSTed as JSON. Delivered means a 2xx answer; anything else is retried
with backoff by the runner (station.outputs.hub), so the receiver should treat `sequence` +
`station` as the key (a 2xx lost on the way back makes a retry)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from station.outputs.config import SinkConfig
from station.outputs.message import VerdictMessage


class WebhookSink:
    kind = "webhook"
    tick_s = 0.0

    def __init__(self, cfg: SinkConfig) -> None:
        self.cfg, self.name, self.where = cfg, cfg.name, cfg.url
        # The station's own proxy settings must not send a plant's internal webhook elsewhere.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def connect(self) -> None:
        pass  # HTTP has no session: the first POST finds out

    def send(self, message: VerdictMessage) -> None:
        body = json.dumps(message.to_json()).encode()
        request = urllib.request.Request(self.cfg.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **self.cfg.headers})
        try:
            with self._opener.open(request, timeout=self.cfg.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise ConnectionError(f"{self.cfg.url} answered HTTP {exc.code}") from None
        if not 200 <= status < 300:
            raise ConnectionError(f"{self.cfg.url} answered HTTP {status}")

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass
