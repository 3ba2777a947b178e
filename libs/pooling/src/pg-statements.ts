// A leading comment or whitespace does not change what a statement does.
const LEADING_NOISE = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/;
const WRITES_IN_CTE = /\b(?:insert|update|delete|merge)\b/i;
// Row locks: the statement takes locks another transaction waits on; running it twice is not "a read".
const LOCKING_CLAUSE = /\bfor\s+(?:no\s+key\s+)?update\b|\bfor\s+(?:key\s+)?share\b/i;
// Functions with effects a SELECT can call: sequences, notifications, advisory locks, session
// settings, other sessions, large objects, remote databases.
const EFFECTFUL_FUNCTION =
  /\b(?:nextval|setval|pg_notify|pg_(?:try_)?advisory_\w+|set_config|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_switch_wal|lo_\w+|dblink\w*|txid_current|pg_current_xact_id)\s*\(/i;

/**
 * Whether a statement is a plain read, and therefore safe to run again after a failure whose outcome
 * is unknown. Deliberately conservative: a false "not a read" only costs a retry, a false "read"
 * could run a write twice. Reads are SELECT (not SELECT … INTO), SHOW, VALUES, TABLE, EXPLAIN without
 * ANALYZE and WITH without a data-modifying part — and never:
 *
 * - several statements in one text (any `;` before the end);
 * - `FOR UPDATE` / `FOR NO KEY UPDATE` / `FOR SHARE` / `FOR KEY SHARE`;
 * - calls to functions with effects: `nextval`, `setval`, `pg_notify`, `pg_advisory_*`,
 *   `pg_try_advisory_*`, `set_config`, `lo_*`, `dblink*`, `pg_terminate_backend`…
 *
 * A literal or comment containing one of these words is misjudged as a write (harmless). A SELECT
 * calling a user function that writes is not detectable here: pass `idempotent: false` for those.
 */
export function isReadOnlyStatement(text: string): boolean {
  const body = text.replace(LEADING_NOISE, '');
  if (/;\s*\S/.test(body) || LOCKING_CLAUSE.test(body) || EFFECTFUL_FUNCTION.test(body)) return false;
  const keyword = /^[a-z]+/i.exec(body)?.[0]?.toLowerCase();
  switch (keyword) {
    case 'select':
      // SELECT ... INTO creates a table.
      return !/\binto\b/i.test(body);
    case 'show':
    case 'values':
    case 'table':
      return true;
    case 'explain':
      return !/\banalyze\b/i.test(body);
    case 'with':
      return !WRITES_IN_CTE.test(body) && !/\binto\b/i.test(body);
    default:
      return false;
  }
}
