-- One payment per order. amount/currency/expires_at come from orders.order.created; they are NULL
-- only for an order whose cancellation arrived first (a row that can never be paid).
CREATE TABLE payments (
    payment_id             uuid PRIMARY KEY,
    order_id               uuid NOT NULL UNIQUE,
    idempotency_key        text NOT NULL UNIQUE,
    user_id                text NOT NULL,
    amount_minor           bigint CHECK (amount_minor >= 0),
    currency               text,
    expires_at             timestamptz,
    status                 text NOT NULL CHECK (status IN ('PENDING', 'REQUIRES_ACTION', 'SUCCEEDED', 'CANCELLED', 'REFUNDED')),
    payment_intent_id      text UNIQUE,
    -- The Stripe attempt: its number is part of the Stripe idempotency key. In flight = recorded
    -- before calling Stripe and not yet answered, so a later request replays it exactly.
    attempt                integer NOT NULL DEFAULT 0,
    attempt_payment_method text,
    attempt_in_flight      boolean NOT NULL DEFAULT false,
    last_decline_code      text,
    cancellation_reason    text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Money received: at most one per payment (and so per order).
CREATE TABLE payment_records (
    payment_id        uuid PRIMARY KEY REFERENCES payments,
    order_id          uuid NOT NULL UNIQUE,
    payment_intent_id text NOT NULL UNIQUE,
    amount_minor      bigint NOT NULL,
    currency          text NOT NULL,
    succeeded_at      timestamptz NOT NULL
);

-- Money given back: refunds are always full, so at most one per payment.
CREATE TABLE refunds (
    refund_id         text PRIMARY KEY,
    payment_id        uuid NOT NULL UNIQUE REFERENCES payments,
    order_id          uuid NOT NULL,
    payment_intent_id text NOT NULL,
    amount_minor      bigint NOT NULL,
    currency          text NOT NULL,
    reason            text NOT NULL,
    refunded_at       timestamptz NOT NULL
);

-- Messages already handled: CloudEvent ids (source 'pubsub') and Stripe event ids (source 'stripe').
CREATE TABLE inbox (
    source      text NOT NULL,
    message_id  text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, message_id)
);
