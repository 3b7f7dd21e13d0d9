-- POST /orders with an Idempotency-Key: per (user, key) the attempt that owns the key and the ids it
-- places the order under, kept as long as the order. A retry finds the order by order_id. A retry of
-- an attempt that stopped mid-placement (locked_until passed, no order) reserves again under the same
-- reservation_id and expires_at, which ticket-service and venue-service answer with the first hold.
CREATE TABLE order_idempotency_keys (
    user_id         text        NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    bytea       NOT NULL,
    order_id        uuid        NOT NULL UNIQUE,
    reservation_id  uuid        NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    attempt         uuid        NOT NULL,
    locked_until    timestamptz NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
