-- Up Migration
-- Jobs and their events (docs/architecture.md: the jobs API, the worker and the WebSocket stream).
CREATE TABLE tether_jobs (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner            text        NOT NULL,
  type             text        NOT NULL,
  payload          jsonb       NOT NULL DEFAULT '{}'::jsonb,
  status           text        NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  progress         jsonb,
  result           jsonb,
  error            jsonb,
  idempotency_key  text,
  request_hash     text,
  trace_context    jsonb,
  attempts         integer     NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz
);
-- Same key + same owner => the same job (the request hash tells a replay from a conflicting reuse).
CREATE UNIQUE INDEX tether_jobs_idempotency ON tether_jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Cursor pagination of a caller's jobs, newest first.
CREATE INDEX tether_jobs_owner_page ON tether_jobs (owner, created_at DESC, id DESC);
CREATE INDEX tether_jobs_owner_status ON tether_jobs (owner, status, created_at DESC);

-- Ordered per job: the bigserial id is the event id clients resume `after`.
CREATE TABLE tether_job_events (
  id          bigserial   PRIMARY KEY,
  job_id      uuid        NOT NULL REFERENCES tether_jobs (id) ON DELETE CASCADE,
  type        text        NOT NULL CHECK (type IN ('progress', 'succeeded', 'failed', 'cancelled')),
  data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tether_job_events_job ON tether_job_events (job_id, id);

-- Down Migration
DROP TABLE tether_job_events;
DROP TABLE tether_jobs;
