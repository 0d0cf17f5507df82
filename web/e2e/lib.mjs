// Shared harness of the browser flows: Debian's Chromium driven by
// playwright-core, every console error and every answer's CSP recorded,
// screenshots written to $LJ_ARTIFACTS (and web/e2e/artifacts/), and a
// line protocol with the Go test that runs the flow (console_e2e_test.go):
//   the flow prints "@@step <name> <data>" and waits for the Go test to
//   answer "ok" (or "fail <why>") on stdin, e.g. after a signed call.
// Environment: LJ_ADMIN_URL (https://127.0.0.1:PORT), LJ_ARTIFACTS, and the
// flow's own (logins).

import { chromium } from 'playwright-core';
import { mkdirSync, copyFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.LJ_ARTIFACTS || join(here, 'artifacts');
const keep = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });
mkdirSync(keep, { recursive: true });

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (the Go test sets it)`);
  return v;
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// step tells the Go test that name happened and waits for its verdict.
export async function step(name, data = '') {
  process.stdout.write(`@@step ${name} ${data}\n`);
  const { value, done } = await lines.next();
  if (done || !value.startsWith('ok')) throw new Error(`the Go test refused step ${name}: ${done ? 'stdin closed' : value}`);
}

// run launches Chromium, gives flow a page, checks what every flow must
// hold (the CSP on every HTML answer, no inline script, no console error)
// and exits non-zero on any failure.
// allow lists the API refusals a flow expects (regexps matching "STATUS
// METHOD path"); any other 4xx or 5xx from the admin API fails the flow.
// A 401 on GET /me is always expected: it is how the console learns that
// nobody is logged in yet.
export async function run(name, flow, { allow = [] } = {}) {
  allow = [/^401 GET \/admin\/api\/v1\/me$/, ...allow];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  const htmlPages = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = (msg.location() && msg.location().url) || '';
    // The API's refusals (a 401 before login, a wrong code) are answers the
    // page handles and shows; the browser still logs them. Anything else,
    // CSP violations included, is a failure.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text()) && url.includes('/admin/api/v1/')) return;
    problems.push(`console error: ${msg.text()} (${url})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // Each answer is checked in a promise of its own; the flow's end waits for
  // them before the browser closes. An answer that arrives while it closes
  // (a request the page made as the flow ended) can no longer be read: that
  // one is not checked, rather than failing the run with an unhandled
  // rejection.
  const pending = new Set();
  let closing = false;
  page.on('response', (resp) => {
    const p = checkResponse(resp).catch((err) => {
      if (!closing) problems.push(`checking ${resp.url()}: ${err.message}`);
    });
    pending.add(p);
    p.finally(() => pending.delete(p));
  });
  async function checkResponse(resp) {
    const url = resp.url();
    const u = new URL(url);
    if (resp.status() >= 400 && u.pathname.startsWith('/admin/api/v1/')) {
      const what = `${resp.status()} ${resp.request().method()} ${u.pathname}`;
      if (!allow.some((re) => re.test(what))) problems.push(`unexpected API refusal: ${what}`);
    }
    if (!url.startsWith(process.env.LJ_ADMIN_URL || 'https://')) return;
    const h = await resp.allHeaders();
    const ct = h['content-type'] || '';
    if (ct.startsWith('text/html') || ct.startsWith('text/javascript') || ct.startsWith('text/css')) {
      if (h['content-security-policy'] !== CSP) problems.push(`${url}: CSP ${JSON.stringify(h['content-security-policy'])}`);
      if (h['x-content-type-options'] !== 'nosniff') problems.push(`${url}: no X-Content-Type-Options: nosniff`);
    }
    if (ct.startsWith('text/html')) {
      if (h['cache-control'] !== 'no-store') problems.push(`${url}: HTML Cache-Control ${h['cache-control']}`);
      if (h['referrer-policy'] !== 'no-referrer') problems.push(`${url}: Referrer-Policy ${h['referrer-policy']}`);
      const body = await resp.text().catch(() => '');
      htmlPages.push(url);
      if (/<script(?![^>]*\ssrc=)[^>]*>/i.test(body)) problems.push(`${url}: inline <script>`);
      if (/<style[\s>]|\sstyle\s*=|\son[a-z]+\s*=/i.test(body)) problems.push(`${url}: inline style or handler`);
    }
  }
  const shot = async (file) => {
    const p = join(artifacts, `${name}-${file}.png`);
    await page.screenshot({ path: p, fullPage: true });
    if (artifacts !== keep) copyFileSync(p, join(keep, `${name}-${file}.png`));
    console.log(`screenshot ${p}`);
  };
  let failed = false;
  try {
    await flow({ page, shot, problems });
    if (htmlPages.length === 0) problems.push('no HTML page was loaded');
  } catch (err) {
    failed = true;
    console.error(`FAIL ${name}: ${err.stack || err}`);
    await shot('failure').catch(() => {});
  } finally {
    await Promise.allSettled([...pending]);
    closing = true;
    await browser.close();
  }
  for (const p of problems) console.error(`FAIL ${name}: ${p}`);
  if (failed || problems.length) process.exit(1);
  console.log(`PASS ${name} (${htmlPages.length} HTML answers checked)`);
  process.exit(0);
}

// login fills the console's login form and submits it.
export async function login(page, username, password, totp) {
  await page.goto(env('LJ_ADMIN_URL') + '/console/');
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('input[name="totp"]').fill(totp);
  await page.getByRole('button', { name: '登录', exact: true }).click();
}

// menuFor is the console menu a role must see: the Chinese labels of the
// routes (static/admin/routes.js, the one table) whose roles include it, in
// order.
export async function menuFor(role) {
  const { routes } = await import('../static/admin/routes.js');
  return routes.filter((r) => r.roles.includes(role)).map((r) => r.label['zh-CN']).join('|');
}
