-- One vocabulary with ticket-service: a reservation's HELD/SOLD/RELEASED is its status.
ALTER TABLE seat_reservations RENAME COLUMN state TO status;
