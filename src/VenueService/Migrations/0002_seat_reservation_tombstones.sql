-- A release that found no reservation: a reserve arriving later under the same reservation_id (sent
-- before the caller gave up and compensated) is refused instead of holding seats nobody will release.
-- Purged by the reclaim pass after Venue:TombstoneRetention.
CREATE TABLE seat_reservation_tombstones (
    reservation_id uuid PRIMARY KEY,
    release_reason text NOT NULL,
    released_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seat_reservation_tombstones_released_at ON seat_reservation_tombstones (released_at);
