/** `chart-verify static`: argument parsing, help, and the exit code. */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { staticHelp } from './help.ts';
import { ConfigError, loadConfig, ruleIds } from './config.ts';
import { checkObjects, violations } from './engine.ts';
import { InputError, loadInputs } from './input.ts';
import { formatTable, toJson, toJUnit, type StaticReport } from './report.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  stdin(): string;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  stdin: () => readFileSync(0, 'utf8'),
};

const formats = ['table', 'json', 'junit'] as const;

export async function runStatic(argv: string[], io: Io = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        values: { type: 'string', short: 'f', multiple: true },
        set: { type: 'string', multiple: true },
        'kube-version': { type: 'string' },
        'api-versions': { type: 'string', multiple: true },
        release: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        config: { type: 'string' },
        rule: { type: 'string', multiple: true },
        format: { type: 'string' },
        junit: { type: 'string' },
        json: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`chart-verify static: ${(error as Error).message}\n(run chart-verify static --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(staticHelp);
    return 0;
  }
  try {
    if (positionals.length === 0)
      throw new InputError('give a chart directory, manifest file, directory or - (stdin)');
    const format = values.format ?? 'table';
    if (!(formats as readonly string[]).includes(format))
      throw new InputError(`--format must be one of ${formats.join(', ')} (got "${format}")`);
    const config = loadConfig(values.config);
    for (const rule of values.rule ?? [])
      if (!(ruleIds as readonly string[]).includes(rule))
        throw new ConfigError(`--rule ${rule} is not a rule (rules: ${ruleIds.join(', ')})`);
    if (values.rule) for (const id of ruleIds) config.enabled[id] = values.rule.includes(id);
    const set: Record<string, string> = {};
    for (const pair of values.set ?? []) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new InputError(`--set must be KEY=VALUE (got "${pair}")`);
      set[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const objects = loadInputs(
      positionals,
      {
        releaseName: values.release ?? 'release',
        namespace: values.namespace ?? 'default',
        valuesFiles: values.values ?? [],
        set,
        apiVersions: values['api-versions'] ?? [],
        ...(values['kube-version'] ? { kubeVersion: values['kube-version'] } : {}),
      },
      io.stdin,
    );
    const report: StaticReport = {
      source: positionals.join(' '),
      objects: objects.length,
      findings: checkObjects(objects, config),
    };
    if (values.junit) writeFileSync(values.junit, toJUnit(report));
    if (values.json) writeFileSync(values.json, `${toJson(report)}\n`);
    io.out(
      format === 'json'
        ? toJson(report)
        : format === 'junit'
          ? toJUnit(report)
          : formatTable(report, values.verbose),
    );
    return violations(report.findings).length > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof InputError || error instanceof ConfigError) {
      io.err(`chart-verify static: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
