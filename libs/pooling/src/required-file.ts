import { existsSync, readFileSync } from 'node:fs';
import { TetherInvalidOptionError } from '@tether/errors';

/**
 * Reads a file that must exist and be non-empty (a Kubernetes secret mount, a CA bundle). Trailing
 * newlines are dropped: `kubectl create secret --from-file` keeps the one most editors add. The path
 * is shown in errors, the content never.
 */
export function readRequiredFile(field: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0)
    throw new TetherInvalidOptionError(field, 'must be a non-empty file path', { value: path });
  if (!existsSync(path))
    throw new TetherInvalidOptionError(field, 'must name an existing file (is the secret mounted?)', {
      value: path,
    });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TetherInvalidOptionError(field, `must name a readable file (${code})`, { value: path });
  }
  const trimmed = text.replace(/[\r\n]+$/, '');
  if (trimmed.length === 0)
    throw new TetherInvalidOptionError(field, 'must name a non-empty file', { value: path });
  return trimmed;
}
