-- A sale given back after its payment was refunded: RETURNED, still naming the order it was sold to,
-- so that a retried return is told from a return for another order. Its seats are AVAILABLE again.
ALTER TABLE seat_reservations DROP CONSTRAINT seat_reservations_state_check,
    ADD CONSTRAINT seat_reservations_status_check CHECK (status IN ('HELD', 'SOLD', 'RELEASED', 'RETURNED'));
ALTER TABLE seat_reservations DROP CONSTRAINT seat_reservations_check,
    ADD CONSTRAINT seat_reservations_sold_to_order_check CHECK ((status IN ('SOLD', 'RETURNED')) = (order_id IS NOT NULL));
ALTER TABLE seat_reservations ADD COLUMN returned_at timestamptz;
