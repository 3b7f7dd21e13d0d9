-- The claim of orchestration work items walks the due events oldest first, a page at a time, and
-- locks their instances one by one (SKIP LOCKED) until it has a batch. As one statement, the order of
-- the join was the planner's, and a queue table's statistics are usually from a moment when nearly
-- every instance had ended: the planner then read every instance of the app for each claim (33 ms at
-- 4,000 live instances, against 3 ms walking the events; measured with EXPLAIN ANALYZE).
CREATE INDEX workflow_events_due_seq ON workflow_events (app_id, visible_at, seq);
DROP INDEX workflow_events_due;

CREATE FUNCTION workflow_claim(p_app_id text, p_token uuid, p_lock_timeout interval, p_batch integer, p_suspended integer)
RETURNS TABLE (instance_id text, history text, locked_until timestamptz, seq bigint, message text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    page_size constant integer := 64;
    claimed text[] := '{}';
    due record;
    after_at timestamptz := '-infinity';
    after_seq bigint := 0;
    seen integer;
BEGIN
    LOOP
        seen := 0;
        FOR due IN
            SELECT e.instance_id, e.visible_at, e.seq, e.message FROM workflow_events e
            WHERE e.app_id = p_app_id AND e.visible_at <= now() AND (e.visible_at, e.seq) > (after_at, after_seq)
            ORDER BY e.visible_at, e.seq
            LIMIT page_size
        LOOP
            seen := seen + 1;
            after_at := due.visible_at;
            after_seq := due.seq;
            CONTINUE WHEN due.instance_id = ANY (claimed);

            -- SKIP LOCKED: concurrent claims each take different instances, never the same one. NO KEY: an
            -- event or activity result inserted meanwhile (its foreign key) does not wait for the claim.
            -- The event is read again under the lock: the page saw it before the instance's last holder
            -- may have consumed it, and an instance claimed with nothing to do would wait out its lock.
            PERFORM FROM workflow_instances i
            WHERE i.app_id = p_app_id AND i.instance_id = due.instance_id AND i.completed_at IS NULL
              AND (i.locked_until IS NULL OR i.locked_until < now())
              -- A suspended instance runs again only for a resume or a terminate (as in daprd); its other events wait.
              AND (i.status <> p_suspended
                   OR (due.message::jsonb -> 'Event' ->> '$type') ~ '^DurableTask\.Core\.History\.Execution(Resumed|Terminated)Event,')
            FOR NO KEY UPDATE SKIP LOCKED;
            CONTINUE WHEN NOT FOUND;
            PERFORM FROM workflow_events e WHERE e.seq = due.seq;
            CONTINUE WHEN NOT FOUND;

            UPDATE workflow_instances i SET lock_token = p_token, locked_until = now() + p_lock_timeout
            WHERE i.app_id = p_app_id AND i.instance_id = due.instance_id;
            claimed := claimed || due.instance_id;
            EXIT WHEN cardinality(claimed) = p_batch;
        END LOOP;

        EXIT WHEN seen < page_size OR cardinality(claimed) = p_batch;
    END LOOP;

    -- Each claimed instance with every event due for it, its events in the order they came.
    RETURN QUERY
        SELECT i.instance_id, i.history, i.locked_until, e.seq, e.message
        FROM workflow_instances i
        JOIN workflow_events e ON e.app_id = i.app_id AND e.instance_id = i.instance_id AND e.visible_at <= now()
        WHERE i.app_id = p_app_id AND i.instance_id = ANY (claimed)
        ORDER BY i.instance_id, e.seq;
END
$$;

-- An episode is saved in one round trip, as one implicit transaction: its first statement saves the
-- instance if this worker still holds the lock, and this raises when it did not, so that the rest of
-- the episode (consumed events, new work, messages to other instances) is rolled back with it.
CREATE FUNCTION workflow_require_lock(saved bigint, p_instance_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF saved = 0 THEN
        RAISE EXCEPTION 'The lock on workflow instance % was lost', p_instance_id USING ERRCODE = 'WF001';
    END IF;
END
$$;
