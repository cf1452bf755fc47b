-- The dispatcher's outbox gauge counts deliveries not yet sent or given up on; sent ones are kept for ever, and
-- counting every status read the whole table every 20 passes (tests/integration/test_reads_at_scale.py).
CREATE INDEX notification_deliveries_outbox ON notification_deliveries (channel, status)
    WHERE status IN ('pending', 'sending', 'retry', 'failed');
