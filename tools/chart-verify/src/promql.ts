/**
 * PromQL checks with Prometheus' own grammar (@prometheus-io/lezer-promql, the parser behind the
 * Prometheus UI's editor): syntax errors and the metric names an expression selects.
 */
import { parser } from '@prometheus-io/lezer-promql';

export interface ParsedExpression {
  errors: string[];
  metrics: string[];
}

export function parsePromQL(expression: string): ParsedExpression {
  const errors: string[] = [];
  const metrics = new Set<string>();
  parser.parse(expression).iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(
          `syntax error at ${node.from}: "${expression.slice(Math.max(0, node.from - 20), node.to + 20)}"`,
        );
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        metrics.add(expression.slice(node.from, node.to));
    },
  });
  return { errors, metrics: [...metrics] };
}

/** Grafana's variables are not PromQL: give them values a query could really have. */
export function substituteGrafanaVariables(expression: string): string {
  return expression
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replace(/\$(\w+)/g, 'x');
}

/** Metric names in a Prometheus text exposition, with a histogram's _bucket/_sum/_count series. */
export function exposedMetricNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!match) continue;
    const [, name, type] = match as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}
