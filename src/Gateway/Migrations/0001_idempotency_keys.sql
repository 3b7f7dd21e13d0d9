-- The first answer to a POST /orders per (user, Idempotency-Key). A row without status_code is a
-- request still in flight; locked_until lets another gateway replica take over a key whose owner died
-- (owner identifies the request that may complete it).
CREATE TABLE idempotency_keys (
    user_id          text        NOT NULL,
    idempotency_key  text        NOT NULL,
    request_hash     bytea       NOT NULL,
    owner            uuid        NOT NULL,
    status_code      int,
    response_headers jsonb,
    response_body    bytea,
    locked_until     timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, idempotency_key)
);

CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
