-- A sale given back after its payment was refunded: RETURNED, still naming the order it was sold to,
-- so that a retried return is told from a return for another order.
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check,
    ADD CONSTRAINT reservations_status_check CHECK (status IN ('HELD', 'SOLD', 'RELEASED', 'RETURNED'));
ALTER TABLE reservations DROP CONSTRAINT reservations_check1,
    ADD CONSTRAINT reservations_sold_to_order_check CHECK ((status IN ('SOLD', 'RETURNED')) = (order_id IS NOT NULL));
