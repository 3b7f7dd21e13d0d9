-- Orders: one row per purchase attempt. A hold in ticket-service (and venue-service for seated
-- types) exists under reservation_id until the saga finalizes or releases it.
CREATE TABLE orders (
    order_id             uuid PRIMARY KEY,
    user_id              text NOT NULL,
    ticket_id            uuid NOT NULL,
    reservation_id       uuid NOT NULL UNIQUE,
    qty                  int NOT NULL CHECK (qty > 0),
    seat_plan_id         uuid,
    seats                jsonb NOT NULL DEFAULT '[]',
    amount_minor         bigint NOT NULL CHECK (amount_minor >= 0),
    currency             text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status               text NOT NULL CHECK (status IN ('PENDING', 'AWAITING_PAYMENT', 'CONFIRMED', 'EXPIRED', 'CANCELLED')),
    cancellation_reason  text,
    expires_at           timestamptz NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    ended_at             timestamptz,
    -- The payment payment-service reported (payments.payment.succeeded), whatever the order's state then.
    payment_id           uuid,
    -- Set once when a payment for an ended order was answered with orders.order.cancelled (PAYMENT_AFTER_END).
    payment_after_end_at timestamptz
);
CREATE INDEX orders_by_user ON orders (user_id, order_id DESC);
CREATE INDEX orders_live ON orders (expires_at) WHERE status IN ('PENDING', 'AWAITING_PAYMENT');

-- Inbox: the CloudEvent ids already handled, so a redelivered message changes nothing twice.
CREATE TABLE inbox (
    message_id  text PRIMARY KEY,
    topic       text NOT NULL,
    order_id    uuid,
    received_at timestamptz NOT NULL DEFAULT now()
);
