-- The order ended: from then on no new attempt starts, and its money is settled by payment_work.
ALTER TABLE payments ADD COLUMN ended_at timestamptz;

-- Money that must reach a definite answer at Stripe: the PaymentIntent of an ended order cancelled,
-- or its capture refunded. One row per order, worked (FOR UPDATE SKIP LOCKED) with growing back-off
-- until Stripe answers; a row is never given up. captured_intent_id: a capture reported after the end.
CREATE TABLE payment_work (
    order_id           uuid PRIMARY KEY REFERENCES payments (order_id),
    reason             text NOT NULL,
    captured_intent_id text,
    attempts           integer NOT NULL DEFAULT 0,
    last_error         text,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    settled_at         timestamptz
);

CREATE INDEX payment_work_due ON payment_work (next_attempt_at) WHERE settled_at IS NULL;
