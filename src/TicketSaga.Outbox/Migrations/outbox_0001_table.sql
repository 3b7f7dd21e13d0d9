-- The transactional outbox of every service that publishes (TicketSaga.Outbox): OutboxWriter adds rows
-- in the transaction of the change they announce, OutboxRelay publishes them in seq order per order.
CREATE TABLE IF NOT EXISTS outbox (
    id           uuid NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    order_id     uuid NOT NULL,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

-- Databases made before this migration already have an outbox, keyed by id (order-service) or by seq
-- (payment-service). One shape for all: the key is the id (the CloudEvent id the relay marks rows by),
-- seq stays unique.
ALTER TABLE outbox
    DROP CONSTRAINT IF EXISTS outbox_pkey,
    DROP CONSTRAINT IF EXISTS outbox_id_key,
    DROP CONSTRAINT IF EXISTS outbox_seq_key;
ALTER TABLE outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id),
    ADD CONSTRAINT outbox_seq_key UNIQUE (seq);

CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (order_id, seq) WHERE published_at IS NULL;
