"""Prometheus metrics for notifications and letters (exposed by whichever process runs them)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

NOTIFICATIONS_RECORDED = Counter("lentur_notifications_recorded_total", "Notifications recorded", ["kind"])
DELIVERY_ATTEMPTS = Counter(
    "lentur_notification_delivery_attempts_total",
    "Delivery attempts by channel and outcome (sent, retry, failed, skipped)",
    ["channel", "outcome"],
)
OUTBOX = Gauge(
    "lentur_notification_outbox",
    "Deliveries still to send (pending, sending, retry) or given up on (failed), by channel and status",
    ["channel", "status"],
)
LETTERS = Counter("lentur_letters_total", "Letter jobs finished, by action and outcome", ["action", "outcome"])
