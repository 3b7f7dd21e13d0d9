-- Durable workflows, one task hub per app (like one daprd's). An instance row holds the instance's
-- status and its whole history; the engine replays from it after a crash.
CREATE TABLE workflow_instances (
    app_id       text NOT NULL,
    instance_id  text NOT NULL,
    execution_id text NOT NULL,
    name         text NOT NULL,
    status       integer NOT NULL,          -- DurableTask.Core's OrchestrationStatus
    state        text NOT NULL,             -- OrchestrationState (input, output, custom status, failure), JSON
    history      text NOT NULL DEFAULT '[]', -- HistoryEvents, JSON
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,               -- set once completed, failed or terminated: what retention purges
    -- The work-item lock: whoever holds an unexpired token is the only one running the instance.
    lock_token   uuid,
    locked_until timestamptz,
    PRIMARY KEY (app_id, instance_id)
);

CREATE INDEX workflow_instances_completed ON workflow_instances (completed_at) WHERE completed_at IS NOT NULL;

-- New events of an instance not yet in its history (started, event raised, activity or child done,
-- terminate...). A timer is an event that becomes visible at its fire time.
CREATE TABLE workflow_events (
    seq         bigserial PRIMARY KEY,
    app_id      text NOT NULL,
    instance_id text NOT NULL,
    visible_at  timestamptz NOT NULL DEFAULT now(),
    message     text NOT NULL,              -- TaskMessage, JSON
    FOREIGN KEY (app_id, instance_id) REFERENCES workflow_instances ON DELETE CASCADE
);

CREATE INDEX workflow_events_due ON workflow_events (app_id, visible_at);
CREATE INDEX workflow_events_instance ON workflow_events (app_id, instance_id);

-- Activities scheduled and not yet completed; a locked row whose lock has expired is run again.
CREATE TABLE workflow_activities (
    seq          bigserial PRIMARY KEY,
    app_id       text NOT NULL,
    instance_id  text NOT NULL,
    message      text NOT NULL,             -- TaskMessage with its TaskScheduledEvent, JSON
    lock_token   uuid,
    locked_until timestamptz,
    FOREIGN KEY (app_id, instance_id) REFERENCES workflow_instances ON DELETE CASCADE
);

CREATE INDEX workflow_activities_ready ON workflow_activities (app_id, seq);
CREATE INDEX workflow_activities_instance ON workflow_activities (app_id, instance_id);
