CREATE TABLE seat_plans (
    plan_id    uuid PRIMARY KEY,
    event_id   text NOT NULL,
    name       text NOT NULL,
    capacity   integer NOT NULL CHECK (capacity > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per section: the lock an auto-assign takes to see a seat map nobody changes under it.
CREATE TABLE plan_sections (
    plan_id  uuid NOT NULL REFERENCES seat_plans,
    name     text NOT NULL,
    position integer NOT NULL,
    PRIMARY KEY (plan_id, name)
);

CREATE TABLE seat_reservations (
    reservation_id uuid PRIMARY KEY,
    plan_id        uuid NOT NULL REFERENCES seat_plans,
    -- What was asked, to tell a retry from a different request under the same reservation_id:
    -- the section for an auto-assignment, NULL for named seats (then reservation_seats is the request).
    section        text,
    quantity       integer NOT NULL CHECK (quantity > 0),
    state          text NOT NULL CHECK (state IN ('HELD', 'SOLD', 'RELEASED')),
    expires_at     timestamptz NOT NULL,
    order_id       uuid,
    release_reason text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    finalized_at   timestamptz,
    released_at    timestamptz,
    CHECK ((state = 'SOLD') = (order_id IS NOT NULL)),
    CHECK ((state = 'RELEASED') = (release_reason IS NOT NULL))
);

-- The reclaim pass looks only at live holds, oldest first.
CREATE INDEX seat_reservations_held_expiry ON seat_reservations (expires_at) WHERE state = 'HELD';

CREATE TABLE seats (
    seat_id        uuid PRIMARY KEY,
    plan_id        uuid NOT NULL,
    section        text NOT NULL,
    row_label      text NOT NULL,
    row_rank       integer NOT NULL, -- 0 is the section's best row
    number         integer NOT NULL, -- 1..n, left to right
    label          text NOT NULL,
    status         text NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN ('AVAILABLE', 'HELD', 'SOLD')),
    reservation_id uuid REFERENCES seat_reservations,
    FOREIGN KEY (plan_id, section) REFERENCES plan_sections,
    UNIQUE (plan_id, section, row_rank, number),
    -- A seat belongs to a reservation exactly when it is held or sold: one holder, never two.
    CHECK ((status = 'AVAILABLE') = (reservation_id IS NULL))
);

CREATE INDEX seats_reservation ON seats (reservation_id) WHERE reservation_id IS NOT NULL;

-- Every seat a reservation ever held, so that its answer survives the release of the seats.
CREATE TABLE reservation_seats (
    reservation_id uuid NOT NULL REFERENCES seat_reservations,
    seat_id        uuid NOT NULL REFERENCES seats,
    PRIMARY KEY (reservation_id, seat_id)
);
