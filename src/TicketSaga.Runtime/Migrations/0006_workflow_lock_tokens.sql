-- A runtime renews and releases its locks by token. Without an index each renewal (every few seconds
-- while work items run) scanned every instance the retention keeps: 350 ms a renewal at 25,000.
CREATE INDEX workflow_instances_lock_token ON workflow_instances (lock_token) WHERE lock_token IS NOT NULL;
CREATE INDEX workflow_activities_lock_token ON workflow_activities (lock_token) WHERE lock_token IS NOT NULL;
