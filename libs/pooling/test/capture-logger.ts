import type { Logger } from '../src/index.ts';

/** A logger that keeps every line (as the JSON a real logger would write) for assertions. */
export class CaptureLogger implements Logger {
  readonly lines: string[] = [];
  debug(obj: object, msg: string): void {
    this.push('debug', obj, msg);
  }
  info(obj: object, msg: string): void {
    this.push('info', obj, msg);
  }
  warn(obj: object, msg: string): void {
    this.push('warn', obj, msg);
  }
  error(obj: object, msg: string): void {
    this.push('error', obj, msg);
  }
  private push(level: string, obj: object, msg: string): void {
    this.lines.push(JSON.stringify({ level, ...obj, msg }));
  }
  get text(): string {
    return this.lines.join('\n');
  }
}
