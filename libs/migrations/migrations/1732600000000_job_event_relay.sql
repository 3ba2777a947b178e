-- Up Migration
-- The outbox of the Redis Stream relay (apps/worker, libs/jobs/src/relay.ts). Postgres is the record;
-- an event is relayed when `relayed_at` is set in the same transaction that saw the stream accept
-- it. "Everything with id > cursor" would skip an event whose transaction committed after a later
-- one; a per-row marker cannot skip anything.
ALTER TABLE tether_job_events ADD COLUMN relayed_at timestamptz;
-- Only the backlog is indexed: it stays small however long the log grows.
CREATE INDEX tether_job_events_unrelayed ON tether_job_events (id) WHERE relayed_at IS NULL;

-- Down Migration
DROP INDEX tether_job_events_unrelayed;
ALTER TABLE tether_job_events DROP COLUMN relayed_at;
