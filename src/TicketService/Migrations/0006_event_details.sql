-- What a buyer recognises an event by: its ticket types carry only the event_id. Set once per event.
CREATE TABLE events (
    event_id   uuid PRIMARY KEY,
    name       text NOT NULL,
    venue      text NOT NULL,
    starts_at  timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
