-- The served Index's periodic tasks (services/housekeeping.py): deletion re-drive, pruning.
--
-- next_run_at is a lease shared by every worker of every Index host: a worker runs a task
-- only after moving next_run_at one interval into the future with a conditional UPDATE,
-- so each task runs once per interval across the deployment, not once per worker.
-- last_* say when it last ran and how that went.
CREATE TABLE housekeeping_schedule (
    task             text PRIMARY KEY,
    next_run_at      timestamptz NOT NULL DEFAULT now(),
    last_started_at  timestamptz,
    last_finished_at timestamptz,
    last_error       text
);
