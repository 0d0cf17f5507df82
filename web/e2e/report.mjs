// The demo auditor opens the self-check report: the demo-mode red line,
// the summary, every R-id row (42) and the filter by status; downloads the
// HTML report (the file holds) and the JSON; screenshots in Chinese,
// English and on a narrow screen.
// Env: LJ_ADMIN_URL, LJ_AUDITOR_USER/PASSWORD/TOTP.

import { readFileSync } from 'node:fs';
import { run, login, env, menuFor } from './lib.mjs';

// The HTML report is a download, not a console page: it is answered with
// its own policy (portal.ReportCSP: no script at all, its inline style
// only, sandboxed), which the harness's console checks must not take for
// the console's. Only these exact findings on that one URL are dropped.
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox";
function dropReportAnswer(problems) {
  const own = (p) => /\/admin\/api\/v1\/report\?format=html: /.test(p) &&
    (p.endsWith(': CSP ' + JSON.stringify(REPORT_CSP)) || p.endsWith(': inline style or handler'));
  for (let i = problems.length - 1; i >= 0; i--) if (own(problems[i])) problems.splice(i, 1);
}

await run('report', async ({ page, shot: rawShot, problems }) => {
  // Every screenshot's page is checked for leaked placeholders and
  // untranslated keys first.
  const shot = async (name) => {
    const text = await page.locator('main').innerText();
    const bad = /\bundefined\b|NaN|\{[a-z]+\}|\brep\.[a-z][A-Za-z_.]*\b/.exec(text);
    if (bad) throw new Error(`page ${name} shows ${JSON.stringify(bad[0])}`);
    await rawShot(name);
  };
  await login(page, env('LJ_AUDITOR_USER'), env('LJ_AUDITOR_PASSWORD'), env('LJ_AUDITOR_TOTP'));
  await page.getByTestId('who').waitFor();
  const menu = (await page.locator('.sidenav a').allInnerTexts()).join('|');
  if (menu !== await menuFor('auditor')) throw new Error(`the auditor's menu: ${menu}`);
  await page.getByRole('link', { name: '自检报告', exact: true }).click();
  await page.getByRole('heading', { name: '自检报告', level: 1 }).waitFor();

  // The red line: this is a demo node.
  const red = page.getByTestId('red-line');
  await red.filter({ hasText: '红线：本节点处于演示模式或使用开发密钥' }).waitFor();
  if (!(await red.innerText()).includes('--demo')) throw new Error(`the red line: ${await red.innerText()}`);
  // Every requirement, each with a status.
  const rows = page.getByTestId('rep-requirements').locator('tbody tr');
  await rows.first().waitFor();
  if (await rows.count() !== 42) throw new Error(`${await rows.count()} R-id rows, want 42`);
  for (const id of ['R-5', 'R-10.4', 'R-14']) await page.locator(`tr[data-rid="${id}"]`).waitFor();
  // Live checks: the demo check is red, TLS green.
  await page.locator('tr[data-check="demo.mode"][data-result="fail"]').waitFor();
  await page.locator('tr[data-check="tls"][data-result="pass"]').waitFor();
  await page.getByTestId('rep-review').getByText('demo-auditor').first().waitFor();
  await shot('page');

  // Filter: the met ones only, then all again.
  const met = Number(await page.locator('.rep-stat-met .stat-value').innerText());
  await page.getByLabel('按状态筛选').selectOption('met');
  if (await rows.count() !== met) throw new Error(`${await rows.count()} met rows, want ${met}`);
  if (await page.getByTestId('rep-requirements').locator('tbody tr:not([data-status="met"])').count()) throw new Error('the filter shows other statuses');
  await page.getByLabel('按状态筛选').selectOption('');

  // Download the HTML report: progress, a link with the server's name.
  await page.getByRole('button', { name: '下载 HTML 报告' }).click();
  const link = page.getByTestId('download-link');
  await link.filter({ hasText: '.html' }).waitFor();
  await page.getByText('这次生成已记入审计链').waitFor();
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  if (!/^lijiang-report-.+\.html$/.test(dl.suggestedFilename())) throw new Error(`file name ${dl.suggestedFilename()}`);
  const html = readFileSync(await dl.path(), 'utf8');
  if (!html.includes('R-10.4') || !/<html/i.test(html)) throw new Error(`the HTML report (${html.length} bytes) lacks R-10.4`);
  await shot('downloaded');

  // And the JSON.
  await page.getByRole('button', { name: '下载 JSON' }).click();
  await link.filter({ hasText: '.json' }).waitFor();
  const [dj] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const rep = JSON.parse(readFileSync(await dj.path(), 'utf8'));
  if (rep.format !== 'lijiang-self-check/1' || rep.requirements.length !== 42) throw new Error(`the JSON report: ${rep.format}, ${rep.requirements.length}`);

  // English: the same report (not made again), in English.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Self-check report', level: 1 }).waitFor();
  await page.getByTestId('red-line').filter({ hasText: 'Red line' }).waitFor();
  if (await rows.count() !== 42) throw new Error(`${await rows.count()} R-id rows in English`);
  await shot('en');

  // Narrow: the tables become cards.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByTestId('red-line').waitFor();
  await shot('narrow');
  dropReportAnswer(problems);
});
