"""Webhook delivery over HTTP: the Brightpearl simulator calls the registered URLs like the real
system (the rules and their sources: `backend/integration.py`).

A daemon thread picks up the deliveries the backend raised (every
`FidelityOptions.webhook_id_set_window_seconds`: events raised within one pick-up share one ID set) and sends each: 2xx delivers; otherwise QoS 1 retries
everything but a 4xx and QoS 0 only a 503 (webhook POST doc), after the waits of
`FidelityOptions.webhook_retry_delays_seconds`, then gives up. Each attempt is logged on the
delivery (`IntegrationService.deliveries`, `GET /__sandbox__/webhook-deliveries`). The account
is looked up at each pick-up, so a reset (a new account) is followed; deliveries of the old one
still due are sent.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time

import requests


def retried(status: int | None, quality_of_service: int) -> bool:
    """Whether a failed attempt is retried: QoS 0 only after a 503; QoS 1 unless a 4xx (a
    connection error or timeout has no status: retried under QoS 1 only)."""
    if quality_of_service == 0:
        return status == 503
    return status is None or not 400 <= status < 500


class WebhookDeliverer:
    """Sends the world's Brightpearl webhook deliveries until `stop()`."""

    def __init__(self, world) -> None:
        self.world = world
        self._stop = threading.Event()
        self._due: list[tuple[float, int, dict]] = []
        self._order = itertools.count()
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="bp-sandbox-webhooks", daemon=True)

    def start(self) -> WebhookDeliverer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._session.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            account = self.world.brightpearl
            for delivery in account.integration_service.take_deliveries():
                heapq.heappush(self._due, (time.monotonic(), next(self._order), delivery))
            while self._due and self._due[0][0] <= time.monotonic() and not self._stop.is_set():
                _, _, delivery = heapq.heappop(self._due)
                self._attempt(delivery, account.options)
            self._stop.wait(account.options.webhook_id_set_window_seconds)

    def _attempt(self, delivery: dict, options) -> None:
        status: int | None = None
        try:
            headers = {"Content-Type": delivery["content_type"]} if delivery["content_type"] else {}
            response = self._session.request(delivery["method"], delivery["url"], data=delivery["body"],
                                             headers=headers, timeout=options.webhook_timeout_seconds)
            status = response.status_code
            outcome = f"{status}"
        except requests.RequestException as error:
            outcome = type(error).__name__
        delivery["attempts"].append({"at": time.time(), "result": outcome})
        if status is not None and 200 <= status < 300:
            delivery["outcome"] = "delivered"
            return
        retries_done = len(delivery["attempts"]) - 1
        delays = options.webhook_retry_delays_seconds
        if retried(status, delivery["quality_of_service"]) and retries_done < len(delays):
            heapq.heappush(self._due, (time.monotonic() + delays[retries_done], next(self._order), delivery))
        else:
            delivery["outcome"] = "gave_up"
