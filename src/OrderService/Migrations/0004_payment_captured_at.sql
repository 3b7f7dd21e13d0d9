-- When Stripe captured the payment (payments.payment.succeeded's succeededAt): the deadline rule compares
-- it with expires_at. Payments recorded before this column existed counted as in time, and still do.
ALTER TABLE orders ADD COLUMN payment_captured_at timestamptz;
UPDATE orders SET payment_captured_at = least(ended_at, expires_at) WHERE payment_id IS NOT NULL;
