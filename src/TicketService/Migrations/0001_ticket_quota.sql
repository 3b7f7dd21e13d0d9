-- Ticket types are immutable once created; the sellable quota lives in ticket_quota_slots.
CREATE TABLE ticket_types (
    ticket_id      uuid PRIMARY KEY,
    event_id       uuid NOT NULL,
    name           text NOT NULL,
    capacity       integer NOT NULL CHECK (capacity > 0),
    price_minor    bigint NOT NULL CHECK (price_minor >= 0),
    currency       char(3) NOT NULL,
    max_per_user   integer NOT NULL CHECK (max_per_user > 0),
    sale_starts_at timestamptz NOT NULL,
    sale_ends_at   timestamptz NOT NULL CHECK (sale_ends_at > sale_starts_at),
    seat_plan_id   uuid,
    section        text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_types_event ON ticket_types (event_id);

-- The quota split into slots so that concurrent buyers lock different rows instead of one hot row.
-- Each slot conserves its own share: available + held + sold = capacity, checked at every write.
CREATE TABLE ticket_quota_slots (
    ticket_id uuid NOT NULL REFERENCES ticket_types,
    slot      integer NOT NULL,
    capacity  integer NOT NULL,
    available integer NOT NULL CHECK (available >= 0),
    held      integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    sold      integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    PRIMARY KEY (ticket_id, slot),
    CHECK (available + held + sold = capacity)
);

-- Live holds plus purchases of one user for one ticket type: the row max_per_user is checked against.
-- A tally back at zero is deleted: a user with nothing held or bought has no row.
CREATE TABLE ticket_user_quota (
    ticket_id uuid NOT NULL REFERENCES ticket_types,
    user_id   text NOT NULL,
    qty       integer NOT NULL CHECK (qty >= 0),
    PRIMARY KEY (ticket_id, user_id)
);

-- One row per reservation_id: it is the idempotency record (enough to answer every retry again)
-- and remembers which slots the hold came from so a release gives back to the same slots.
CREATE TABLE reservations (
    reservation_id   uuid PRIMARY KEY,
    ticket_id        uuid NOT NULL REFERENCES ticket_types,
    user_id          text NOT NULL,
    qty              integer NOT NULL CHECK (qty > 0),
    unit_price_minor bigint NOT NULL,
    currency         char(3) NOT NULL,
    remaining        integer NOT NULL,
    expires_at       timestamptz NOT NULL,
    slots            integer[] NOT NULL,
    slot_qtys        integer[] NOT NULL,
    status           text NOT NULL CHECK (status IN ('HELD', 'SOLD', 'RELEASED')),
    order_id         uuid,
    release_reason   integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(slots) = cardinality(slot_qtys)),
    CHECK ((status = 'SOLD') = (order_id IS NOT NULL)),
    CHECK ((status = 'RELEASED') = (release_reason IS NOT NULL))
);
-- The reclaimer's queue: holds whose expiry passed.
CREATE INDEX reservations_held_expiry ON reservations (expires_at) WHERE status = 'HELD';
