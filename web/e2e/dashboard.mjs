// An administrator opens the dashboard after a few calls (some failing):
// the hour view (calls, latency, success rate, failure codes, node and
// cluster health), the day view, one API's view, and English.
// Env: LJ_ADMIN_URL, LJ_USER, LJ_PASSWORD, LJ_TOTP, LJ_API_PATH (a path
// the Go test called), LJ_FAIL_CODE (a code some of its calls got).

import { run, login, env } from './lib.mjs';

await run('dashboard', async ({ page, shot }) => {
  await login(page, env('LJ_USER'), env('LJ_PASSWORD'), env('LJ_TOTP'));
  await page.getByRole('heading', { name: '概览' }).waitFor();

  // The hour view: three charts, the calls counted, the failure code listed,
  // the node ready and the cluster's one member.
  await page.locator('.chart canvas').nth(2).waitFor();
  const total = page.locator('.stat').first().locator('.stat-value');
  await page.waitForFunction((el) => Number(el.textContent.replace(/[^0-9]/g, '')) > 0, await total.elementHandle(), { timeout: 15000 });
  await page.locator(`tr[data-code="${env('LJ_FAIL_CODE')}"]`).waitFor();
  await page.locator('tr[data-member]').first().waitFor();
  await page.locator('.alert-ok').filter({ hasText: '就绪' }).waitFor();
  if ((await page.getByRole('button', { name: '最近 1 小时' }).getAttribute('aria-pressed')) !== 'true') throw new Error('the hour is not the default range');
  await shot('hour');

  // The day view.
  await page.getByRole('button', { name: '最近 1 天' }).click();
  await page.waitForFunction(() => document.querySelector('[data-range="1d"]').getAttribute('aria-pressed') === 'true');
  await page.locator('.chart canvas').nth(2).waitFor();
  await page.waitForFunction((el) => Number(el.textContent.replace(/[^0-9]/g, '')) > 0, await total.elementHandle(), { timeout: 15000 });
  await shot('day');

  // One API's view.
  const opt = page.locator('#dash-filter option').filter({ hasText: 'GET ' + env('LJ_API_PATH') + ' ' }).first();
  await page.getByLabel('查看').selectOption(await opt.getAttribute('value'));
  await page.locator('.chart canvas').nth(2).waitFor();
  await page.waitForFunction((el) => Number(el.textContent.replace(/[^0-9]/g, '')) > 0, await total.elementHandle(), { timeout: 15000 });
  await shot('api');

  // English.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.locator('.chart canvas').nth(2).waitFor();
  await page.locator('tr[data-member]').first().waitFor();
  await shot('hour-en');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot('narrow');
});
