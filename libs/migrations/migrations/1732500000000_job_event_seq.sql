-- Up Migration
-- The event log, corrected (issue 11). A global bigserial id is allocated when the INSERT runs but
-- becomes visible when its transaction commits, so ids can commit out of order and a client
-- resuming `after` one id would skip a late commit silently. Events now carry a per-job `seq`
-- allocated under the job-row lock (`last_seq`) in the transaction that made the change: gap-free
-- and ordered per job. The bigserial `id` stays as an internal surrogate key only.
ALTER TABLE tether_jobs
  ADD COLUMN last_seq                integer     NOT NULL DEFAULT 0,
  -- After this instant the idempotency key may be reused for a new job (default 24 h, set by enqueue).
  ADD COLUMN idempotency_expires_at  timestamptz,
  -- Set by a cancel of a running job; the worker aborts the handler (NOTIFY tether_job_cancel, payload = job id).
  ADD COLUMN cancel_requested_at     timestamptz,
  -- The worker's lease on a running job: who runs it, until when, and a fencing token that a
  -- late completion from a previous lease holder does not match.
  ADD COLUMN lease_owner             text,
  ADD COLUMN lease_token             uuid,
  ADD COLUMN lease_expires_at        timestamptz;

ALTER TABLE tether_job_events ADD COLUMN seq integer;
UPDATE tether_job_events e
   SET seq = n.seq
  FROM (SELECT id, row_number() OVER (PARTITION BY job_id ORDER BY id) AS seq FROM tether_job_events) n
 WHERE e.id = n.id;
UPDATE tether_jobs j
   SET last_seq = coalesce((SELECT max(seq) FROM tether_job_events e WHERE e.job_id = j.id), 0);
ALTER TABLE tether_job_events
  ALTER COLUMN seq SET NOT NULL,
  ADD CONSTRAINT tether_job_events_seq_positive CHECK (seq > 0),
  ADD CONSTRAINT tether_job_events_job_seq UNIQUE (job_id, seq),
  DROP CONSTRAINT tether_job_events_type_check,
  ADD CONSTRAINT tether_job_events_type_check
    CHECK (type IN ('queued', 'running', 'progress', 'succeeded', 'failed', 'cancelled'));
-- The unique constraint's index serves reads by (job_id, seq); the old (job_id, id) index does not.
DROP INDEX tether_job_events_job;

-- Jobs whose lease ran out (the worker's sweeper) and running jobs with a cancel pending.
CREATE INDEX tether_jobs_lease_expiry ON tether_jobs (lease_expires_at) WHERE status = 'running';

-- Down Migration
DROP INDEX tether_jobs_lease_expiry;
CREATE INDEX tether_job_events_job ON tether_job_events (job_id, id);
DELETE FROM tether_job_events WHERE type IN ('queued', 'running');
ALTER TABLE tether_job_events
  DROP CONSTRAINT tether_job_events_type_check,
  ADD CONSTRAINT tether_job_events_type_check CHECK (type IN ('progress', 'succeeded', 'failed', 'cancelled')),
  DROP CONSTRAINT tether_job_events_job_seq,
  DROP CONSTRAINT tether_job_events_seq_positive,
  DROP COLUMN seq;
ALTER TABLE tether_jobs
  DROP COLUMN lease_expires_at,
  DROP COLUMN lease_token,
  DROP COLUMN lease_owner,
  DROP COLUMN cancel_requested_at,
  DROP COLUMN idempotency_expires_at,
  DROP COLUMN last_seq;
