-- Actor state: one row per (actor, key); value is the JSON the SDK sent, returned byte for byte.
CREATE TABLE actor_state (
    actor_type text NOT NULL,
    actor_id   text NOT NULL,
    key        text NOT NULL,
    value      text NOT NULL,
    expires_at timestamptz,
    PRIMARY KEY (actor_type, actor_id, key)
);

-- Reminders survive a runtime restart: the scheduler fires every row whose next_fire_at has passed.
CREATE TABLE actor_reminders (
    actor_type      text NOT NULL,
    actor_id        text NOT NULL,
    name            text NOT NULL,
    registration_id uuid NOT NULL,
    due_time        text NOT NULL,
    period          text NOT NULL,
    data            text,
    ttl             text,
    next_fire_at    timestamptz NOT NULL,
    repetitions_left integer,
    expires_at      timestamptz,
    failed_attempts integer NOT NULL DEFAULT 0,
    registered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_type, actor_id, name)
);

CREATE INDEX actor_reminders_due ON actor_reminders (next_fire_at);
