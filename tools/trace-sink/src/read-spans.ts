import { existsSync, readFileSync } from 'node:fs';
import type { FlatSpan } from './otlp-json.ts';

/** All spans in a sink file, in arrival order; a missing file is an empty list. Bad lines are skipped. */
export function readSpans(file: string): FlatSpan[] {
  if (!existsSync(file)) return [];
  const spans: FlatSpan[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      spans.push(JSON.parse(line) as FlatSpan);
    } catch {
      // A line cut by a crash mid-append: the rest of the file is still worth reading.
    }
  }
  return spans;
}
