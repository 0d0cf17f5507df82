// Menus by role, and the idle timeout. A reviewer sees the operations page
// only, with the pause buttons disabled and why; an auditor sees the
// dashboard and operations; left idle, the auditor is warned, stays
// logged in by choosing to, and is logged out when idle again (the page's
// clock is fast-forwarded).
// Env: LJ_ADMIN_URL, LJ_REVIEWER_USER/_PASSWORD/_TOTP, LJ_AUDITOR_USER/_PASSWORD/_TOTP.

import { run, login, env, menuFor } from './lib.mjs';

await run('roles', async ({ page, shot }) => {
  await page.clock.install();

  await login(page, env('LJ_REVIEWER_USER'), env('LJ_REVIEWER_PASSWORD'), env('LJ_REVIEWER_TOTP'));
  await page.getByTestId('who').filter({ hasText: '审核人员' }).waitFor();
  let menu = await page.locator('nav.sidenav a').allInnerTexts();
  if (menu.join('|') !== await menuFor('reviewer')) throw new Error(`reviewer menu ${menu}`);
  // A reviewer lands on the review queue; the operations page is further down.
  await page.getByRole('link', { name: '运行控制', exact: true }).click();
  await page.locator('tbody button[data-action="pause"]').first().waitFor();
  const buttons = page.locator('tbody button[data-action="pause"]');
  if ((await buttons.count()) === 0) throw new Error('no pause buttons');
  for (const b of await buttons.all()) {
    if (!(await b.isDisabled())) throw new Error('a reviewer has an enabled pause button');
  }
  await page.getByText('仅运维人员或系统管理员可以暂停或恢复 API').waitFor();
  await shot('reviewer-operations');
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.locator('#login-error').filter({ hasText: '您已安全退出' }).waitFor();

  await login(page, env('LJ_AUDITOR_USER'), env('LJ_AUDITOR_PASSWORD'), env('LJ_AUDITOR_TOTP'));
  await page.getByTestId('who').filter({ hasText: '审计人员' }).waitFor();
  menu = await page.locator('nav.sidenav a').allInnerTexts();
  if (menu.join('|') !== await menuFor('auditor')) throw new Error(`auditor menu ${menu}`);
  await page.locator('.chart canvas').first().waitFor();

  // Idle: warned two minutes before the console ends the session.
  await page.clock.fastForward('12:30');
  const warning = page.getByRole('alertdialog');
  await warning.filter({ hasText: '即将因长时间未操作而退出' }).waitFor();
  await shot('idle-warning');
  await warning.getByRole('button', { name: '继续使用' }).click();
  await warning.waitFor({ state: 'detached' });
  await page.getByTestId('who').waitFor();

  // Idle again, past the end: logged out, and told why.
  await page.clock.fastForward('14:30');
  await page.locator('#login-error').filter({ hasText: '长时间未操作' }).waitFor();
  await shot('idle-logged-out');
});
