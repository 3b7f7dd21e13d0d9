-- REFUNDED: a CONFIRMED order whose payment was refunded (payments.payment.refunded), its quota and
-- seats back in stock. AWAITING_PAYMENT was never written: it goes.
ALTER TABLE orders DROP CONSTRAINT orders_status_check,
    ADD CONSTRAINT orders_status_check CHECK (status IN ('PENDING', 'CONFIRMED', 'EXPIRED', 'CANCELLED', 'REFUNDED'));
DROP INDEX orders_live;
CREATE INDEX orders_live ON orders (expires_at) WHERE status = 'PENDING';

-- The refund reported for the order (Stripe's refund id), set once while the order is PENDING or
-- CONFIRMED: its stock is owed back until the order is REFUNDED.
ALTER TABLE orders ADD COLUMN refund_id text;
ALTER TABLE orders ADD COLUMN refunded_at timestamptz;
-- What the refund sweeper looks for: refunds whose stock return has not finished.
CREATE INDEX orders_refund_owed ON orders (order_id) WHERE status = 'CONFIRMED' AND refund_id IS NOT NULL;
