// An operator logs in (in Chinese), opens the dashboard and the operations
// page, pauses an API with the confirmation, lets the Go test see a signed
// call answer API_PAUSED, resumes it in one click, and lets the Go test see
// the call succeed again.
// Env: LJ_ADMIN_URL, LJ_USER, LJ_PASSWORD, LJ_TOTP, LJ_API_PATH (e.g. /v1/products).

import { run, login, step, env, menuFor } from './lib.mjs';

await run('operator', async ({ page, shot }) => {
  await page.goto(env('LJ_ADMIN_URL') + '/');
  if (!page.url().endsWith('/console/')) throw new Error(`/ led to ${page.url()}`);
  await page.locator('form.login-form').waitFor();
  await shot('login');
  await login(page, env('LJ_USER'), env('LJ_PASSWORD'), env('LJ_TOTP'));

  // The header: who, what role, when the session ends.
  const who = page.getByTestId('who');
  await who.waitFor();
  const text = await who.innerText();
  for (const want of [env('LJ_USER'), '运维人员', '会话结束于']) {
    if (!text.includes(want)) throw new Error(`the header says ${JSON.stringify(text)}, without ${want}`);
  }
  // An operator's menu: dashboard, operations, cluster and platform keys.
  const menu = await page.locator('nav.sidenav a').allInnerTexts();
  if (menu.join('|') !== await menuFor('operator')) throw new Error(`operator menu ${menu}`);
  await page.locator('.chart canvas').first().waitFor();
  await page.locator('.stat').first().waitFor();
  await shot('dashboard');

  await page.getByRole('link', { name: '运行控制' }).click();
  const path = env('LJ_API_PATH');
  const row = page.locator('tbody tr').filter({ hasText: 'GET ' + path }).first();
  await row.waitFor();
  const api = await row.getAttribute('data-api');
  await shot('operations');

  // Pause: a confirmation first; cancelling changes nothing.
  await row.getByRole('button', { name: /^暂停/ }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await shot('pause-confirm');
  await dialog.getByRole('button', { name: '取消' }).click();
  await dialog.waitFor({ state: 'detached' });
  if (await row.locator('.badge-paused').count()) throw new Error('cancelling paused the API');
  await row.getByRole('button', { name: /^暂停/ }).click();
  await dialog.locator('textarea[name="reason"]').fill('浏览器测试：上游维护');
  await dialog.getByRole('button', { name: '确认暂停' }).click();
  await row.locator('.badge-paused').waitFor();
  await page.locator('.toast').filter({ hasText: '已暂停' }).waitFor();
  await shot('operations-paused');
  await step('paused', api);

  // Resume: one click.
  await row.getByRole('button', { name: /^恢复/ }).click();
  await row.locator('.badge-ok').waitFor();
  await step('resumed', api);

  // English, remembered across a reload.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('link', { name: 'Operations' }).waitFor();
  await page.reload();
  await page.getByRole('link', { name: 'Operations' }).waitFor();
  await shot('operations-en');
  // Narrow screens: the menu goes above the page, the table scrolls.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot('operations-narrow');

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('form.login-form').waitFor();
});
