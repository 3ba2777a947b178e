// A leading comment or whitespace does not change what a statement does.
const LEADING_NOISE = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/;
const WRITES_IN_CTE = /\b(?:insert|update|delete|merge)\b/i;

/**
 * Whether a statement is a plain read, and therefore safe to run again after a failure whose outcome
 * is unknown. Conservative: SELECT, SHOW, VALUES, TABLE, EXPLAIN without ANALYZE, and WITH queries
 * without a data-modifying part. A SELECT calling a function that writes is not detectable here:
 * pass `idempotent: false` for those.
 */
export function isReadOnlyStatement(text: string): boolean {
  const body = text.replace(LEADING_NOISE, '');
  const keyword = /^[a-z]+/i.exec(body)?.[0]?.toLowerCase();
  switch (keyword) {
    case 'select':
      // SELECT ... INTO creates a table (a literal containing "into" is misjudged as a write: harmless).
      return !/\binto\b/i.test(body);
    case 'show':
    case 'values':
    case 'table':
      return true;
    case 'explain':
      return !/\banalyze\b/i.test(body);
    case 'with':
      return !WRITES_IN_CTE.test(body);
    default:
      return false;
  }
}
