-- A release that found no reservation: a reserve arriving later under the same reservation_id (sent
-- before the caller gave up and compensated) is refused instead of holding quota nobody will release.
-- Purged by the reclaim pass after Reservations:TombstoneRetention.
CREATE TABLE reservation_tombstones (
    reservation_id uuid PRIMARY KEY,
    release_reason integer NOT NULL,
    released_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservation_tombstones_released_at ON reservation_tombstones (released_at);
