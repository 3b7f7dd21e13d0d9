-- The durable pub/sub log: every published message as a CloudEvent, in publish order per topic.
CREATE TABLE pubsub_messages (
    seq           bigserial PRIMARY KEY,
    pubsub_name   text NOT NULL,
    topic         text NOT NULL,
    message_id    text NOT NULL,
    partition_key text NOT NULL,
    cloud_event   jsonb NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pubsub_messages_by_topic ON pubsub_messages (pubsub_name, topic, seq);

-- One consumer group per app id and topic: the last message handed over to the app's pending set.
CREATE TABLE pubsub_consumer_offsets (
    app_id      text NOT NULL,
    pubsub_name text NOT NULL,
    topic       text NOT NULL,
    last_seq    bigint NOT NULL,
    PRIMARY KEY (app_id, pubsub_name, topic)
);

-- Messages an app has not yet acknowledged, dropped or dead-lettered (a row survives a crash).
CREATE TABLE pubsub_pending (
    app_id           text NOT NULL,
    seq              bigint NOT NULL REFERENCES pubsub_messages (seq),
    pubsub_name      text NOT NULL,
    topic            text NOT NULL,
    partition_key    text NOT NULL,
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT '-infinity',
    first_attempt_at timestamptz,
    last_attempt_at  timestamptz,
    last_error       text,
    retry_delays_ms  int[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (app_id, seq)
);
CREATE INDEX pubsub_pending_by_key ON pubsub_pending (app_id, pubsub_name, topic, partition_key, seq);

-- The audit of every message an app did not acknowledge: dead-lettered after retries, 404 routes, DROP.
CREATE TABLE pubsub_dead_letters (
    id                uuid PRIMARY KEY,
    app_id            text NOT NULL,
    pubsub_name       text NOT NULL,
    topic             text NOT NULL,
    seq               bigint NOT NULL REFERENCES pubsub_messages (seq),
    message_id        text NOT NULL,
    cloud_event       jsonb NOT NULL,
    reason            text NOT NULL,
    last_error        text NOT NULL,
    attempts          int NOT NULL,
    retry_delays_ms   int[] NOT NULL,
    first_attempt_at  timestamptz NOT NULL,
    last_attempt_at   timestamptz NOT NULL,
    dead_letter_topic text,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    replayed_at       timestamptz
);
CREATE INDEX pubsub_dead_letters_by_app ON pubsub_dead_letters (app_id, topic, recorded_at);
