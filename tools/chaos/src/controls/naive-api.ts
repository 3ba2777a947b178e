/**
 * The control app: what a team writes without Tether. Express 5 and a default `pg.Pool` (no
 * keepalive, no timeouts, no validation, no `pool.on('error')`, exactly as the pg README starts),
 * POST inserts a row, GET reads it; errors answer 500. Run as its own process, as a pod would be
 * (env DATABASE_URL, PORT, ADMIN_PORT); a crash is part of what the control shows.
 */
import { createServer } from 'node:http';
import express from 'express';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
await pool.query(
  `CREATE TABLE IF NOT EXISTS chaos_naive_jobs (
     id bigserial PRIMARY KEY, request_id text NOT NULL, body jsonb NOT NULL, created_at timestamptz DEFAULT now())`,
);

const app = express();
app.use(express.json());
app.post('/v1/jobs', async (req, res) => {
  try {
    const { rows } = await pool.query<{ id: string }>(
      'INSERT INTO chaos_naive_jobs (request_id, body) VALUES ($1, $2) RETURNING id::text',
      [req.header('x-request-id') ?? '', req.body],
    );
    res.status(202).json({ id: rows[0]?.id, status: 'queued' });
  } catch (error) {
    res.status(500).json({ error: (error as Error).message });
  }
});
app.get('/v1/jobs/:id', async (req, res) => {
  try {
    const { rows } = await pool.query('SELECT id::text, body FROM chaos_naive_jobs WHERE id = $1', [
      req.params.id,
    ]);
    res.status(rows.length ? 200 : 404).json(rows[0] ?? {});
  } catch (error) {
    res.status(500).json({ error: (error as Error).message });
  }
});
app.listen(Number(process.env.PORT), '127.0.0.1');
createServer((_, res) => res.end('ok')).listen(Number(process.env.ADMIN_PORT), '127.0.0.1');
