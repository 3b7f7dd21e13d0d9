-- The Dapr state API on state.postgresql components: the shape of Dapr's state.postgresql v2 table
-- (key "<app-id>||<key>", value as bytes, a uuid ETag, expires_at for TTL), plus the component's
-- name, as one table serves every state store of the runtime.
CREATE TABLE state (
    store_name text NOT NULL,
    key        text NOT NULL,
    value      bytea NOT NULL,
    etag       uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz,
    expires_at timestamptz,
    PRIMARY KEY (store_name, key)
);
CREATE INDEX state_expires_at ON state (expires_at);
