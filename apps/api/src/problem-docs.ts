import { Router, type Request, type Response } from 'express';
import { isProblemSlug, PROBLEMS, problemType, ProblemError, type ProblemDefinition } from './problems.ts';

/**
 * `GET /problems` and `GET /problems/<slug>`: what a problem+json `type` dereferences to (RFC 9457
 * §4: a type URI SHOULD resolve to HTML documentation). Public like `/openapi.json`: they describe the
 * API, nothing of anyone's data. HTML unless the client asks for JSON; built once, from the table the
 * error catalogue (docs/errors.md) is generated from.
 */
export function problemDocsRouter(): Router {
  const problems = Object.entries(PROBLEMS) as [string, ProblemDefinition][];
  const index = {
    html: renderProblemIndex(problems),
    json: JSON.stringify({ problems: problems.map(([slug, p]) => describe(slug, p)) }),
  };
  const pages = new Map(
    problems.map(([slug, p]) => [
      slug,
      { html: renderProblemPage(slug, p), json: JSON.stringify(describe(slug, p)) },
    ]),
  );
  const router = Router();
  router.get('/problems', (req, res) => send(req, res, index));
  router.get('/problems/:slug', (req, res) => {
    const slug = req.params.slug;
    const page = isProblemSlug(slug) ? pages.get(slug) : undefined;
    if (!page) throw new ProblemError('not-found', `no problem type "${slug.slice(0, 100)}"`);
    send(req, res, page);
  });
  return router;
}

function describe(slug: string, p: ProblemDefinition) {
  return { type: problemType(slug), slug, ...p };
}

function send(req: Request, res: Response, page: { html: string; json: string }): void {
  res.setHeader('vary', 'Accept');
  res.setHeader('x-content-type-options', 'nosniff');
  if (req.accepts(['text/html', 'application/json']) === 'application/json') {
    res.type('application/json').send(page.json);
    return;
  }
  // The pages load nothing and run nothing; the policy makes that so even if escaping ever failed.
  res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
  res.type('text/html').send(page.html);
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Escaped text with the table's `code spans` as <code>. */
function prose(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function document(title: string, body: string[]): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em}' +
      'code{background:#f3f3f3;padding:0 .2em}th,td{text-align:left;padding:.2em .6em .2em 0}</style>',
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The page of one problem type (exported for the escaping test). */
export function renderProblemPage(slug: string, p: ProblemDefinition): string {
  return document(`${p.title} (${slug})`, [
    `<p><a href="/problems">All problem types</a></p>`,
    `<h1>${escapeHtml(p.title)}</h1>`,
    '<dl>',
    `<dt>type</dt><dd><code>${escapeHtml(problemType(slug))}</code></dd>`,
    `<dt>status</dt><dd>${p.status}</dd>`,
    `<dt>What it means</dt><dd>${prose(p.meaning)}</dd>`,
    `<dt>What to do</dt><dd>${prose(p.action)}</dd>`,
    `<dt>Codes</dt><dd>${
      p.codes.length === 0
        ? 'none: the API itself detects this'
        : p.codes.map((c) => `<code>${escapeHtml(c)}</code>`).join(', ')
    }</dd>`,
    '</dl>',
  ]);
}

/** The index of every problem type (exported for the escaping test). */
export function renderProblemIndex(problems: [string, ProblemDefinition][]): string {
  return document('Tether API problem types', [
    '<h1>Tether API problem types</h1>',
    '<p>Every <code>type</code> this API answers with in <code>application/problem+json</code> (RFC 9457).</p>',
    '<table>',
    '<tr><th>type</th><th>status</th><th>title</th></tr>',
    ...problems.map(
      ([slug, p]) =>
        `<tr><td><a href="${escapeHtml(problemType(slug))}"><code>${escapeHtml(problemType(slug))}</code></a></td>` +
        `<td>${p.status}</td><td>${escapeHtml(p.title)}</td></tr>`,
    ),
    '</table>',
  ]);
}
