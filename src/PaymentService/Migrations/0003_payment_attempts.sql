-- Every attempt to pay an order, kept as long as its payment (payments keeps only the latest): the
-- order's timeline lists them, declined ones with their reason. outcome NULL: Stripe has not answered.
CREATE TABLE payment_attempts (
    payment_id   uuid NOT NULL REFERENCES payments,
    attempt      integer NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    outcome      text CHECK (outcome IN ('SUCCEEDED', 'DECLINED', 'REQUIRES_ACTION', 'PROCESSING', 'INVALID_PAYMENT_METHOD', 'REJECTED')),
    decline_code text,
    message      text,
    ended_at     timestamptz,
    PRIMARY KEY (payment_id, attempt)
);
