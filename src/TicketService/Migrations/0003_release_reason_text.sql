-- One vocabulary with venue-service: a release reason is stored by its name, not by the proto's number.
ALTER TABLE reservations ALTER COLUMN release_reason TYPE text USING
    CASE release_reason WHEN 1 THEN 'EXPIRED' WHEN 2 THEN 'CANCELLED' WHEN 3 THEN 'FAILED' WHEN 4 THEN 'ABANDONED' END;
ALTER TABLE reservations ADD CHECK (release_reason IN ('EXPIRED', 'CANCELLED', 'FAILED', 'ABANDONED'));
ALTER TABLE reservation_tombstones ALTER COLUMN release_reason TYPE text USING
    CASE release_reason WHEN 1 THEN 'EXPIRED' WHEN 2 THEN 'CANCELLED' WHEN 3 THEN 'FAILED' WHEN 4 THEN 'ABANDONED' END;
ALTER TABLE reservation_tombstones ADD CHECK (release_reason IN ('EXPIRED', 'CANCELLED', 'FAILED', 'ABANDONED'));
