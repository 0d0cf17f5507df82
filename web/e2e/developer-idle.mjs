// The developer portal's idle timeout (public port, /portal/), as the
// console's (roles-idle.mjs): a signed-in developer left idle is warned two
// minutes before the portal ends the session — background refreshes do not
// hold it off — stays signed in by choosing to, is warned again (English)
// and, idle past the end, is signed out, told why, and the session is over
// on the server too. The page's clock is fast-forwarded.
// Env: LJ_PORTAL_URL, LJ_DEV_EMAIL, LJ_DEV_PASSWORD (an existing account).
import { run, env } from './lib.mjs';

// lib.mjs checks the CSP and headers of answers from LJ_ADMIN_URL's origin:
// the portal is on the public port, so that is the origin to check here.
process.env.LJ_ADMIN_URL = env('LJ_PORTAL_URL');

await run('developer-idle', async ({ page, shot, problems }) => {
  page.on('response', (resp) => {
    const u = new URL(resp.url());
    const what = `${resp.status()} ${resp.request().method()} ${u.pathname}`;
    // GET /me before signing in is how the portal learns nobody is.
    if (resp.status() >= 400 && u.pathname.startsWith('/portal/api/v1/') && what !== '401 GET /portal/api/v1/me') {
      problems.push(`unexpected portal API refusal: ${what}`);
    }
  });
  const portalURL = env('LJ_PORTAL_URL');
  await page.clock.install();
  await page.goto(portalURL + '/portal/');
  await page.locator('#signin-email').fill(env('LJ_DEV_EMAIL'));
  await page.locator('#signin-password').fill(env('LJ_DEV_PASSWORD'));
  await page.getByRole('button', { name: '登录', exact: true }).click();
  // The header says when the session ends, from the session's own idle
  // time (GET /me's session_idle_seconds).
  await page.getByTestId('who').filter({ hasText: '15 分钟无操作将自动退出登录' }).filter({ hasText: '登录有效期至' }).waitFor();
  await page.getByRole('heading', { name: '申请方登记' }).waitFor();

  // Idle, with a background refresh half-way (LJ-Background: 1, as a page's
  // periodic refresh sends it): warned two minutes before the portal's end
  // all the same (14 minutes: 15 less a minute's slack).
  await page.clock.fastForward('06:00');
  const bg = await page.evaluate(async () => {
    const { request } = await import('/ui/js/api.js');
    const m = await request('GET', '/me', undefined, { base: '/portal/api/v1', background: true });
    return m.email;
  });
  if (bg !== env('LJ_DEV_EMAIL')) throw new Error(`background GET /me answered ${bg}`);
  await page.clock.fastForward('06:30');
  const warning = page.getByRole('alertdialog');
  await warning.filter({ hasText: '即将因长时间未操作而退出登录' }).filter({ hasText: /将在 \d+ 秒后自动退出登录/ }).waitFor();
  await warning.getByRole('button', { name: '退出登录' }).waitFor();
  await shot('warning');

  // Stay signed in: a GET /me of the user's own (no LJ-Background).
  const stay = page.waitForRequest((r) => r.url().endsWith('/portal/api/v1/me') && r.method() === 'GET');
  await warning.getByRole('button', { name: '继续使用' }).click();
  if ((await (await stay).allHeaders())['lj-background']) throw new Error('"stay signed in" sent LJ-Background');
  await warning.waitFor({ state: 'detached' });
  await page.getByRole('heading', { name: '申请方登记' }).waitFor();

  // In English, idle again: warned, then signed out at the end and told why.
  await page.getByRole('button', { name: 'Switch to English' }).click();
  await page.getByTestId('who').filter({ hasText: 'or after 15 minutes without activity' }).waitFor();
  await page.clock.fastForward('12:30');
  await warning.filter({ hasText: 'You are about to be signed out' }).waitFor();
  await warning.getByRole('button', { name: 'Stay signed in' }).waitFor();
  await shot('warning-en');
  const loggedOut = page.waitForResponse((r) => r.url().endsWith('/portal/api/v1/logout') && r.request().method() === 'POST');
  await page.clock.fastForward('02:00');
  await page.locator('#signin-error').filter({ hasText: 'You were signed out after a period without activity' }).waitFor();
  await page.getByRole('heading', { name: 'Sign in to the developer portal' }).waitFor();
  if ((await warning.count()) !== 0) throw new Error('the idle warning is still open after signing out');
  await shot('signed-out-en');
  // The portal ended the session on the server too.
  if ((await loggedOut).status() !== 204) throw new Error(`idle POST /logout answered ${(await loggedOut).status()}`);
  const me = await page.request.get(portalURL + '/portal/api/v1/me');
  if (me.status() !== 401) throw new Error(`GET /me after the idle end answered ${me.status()}`);

  // Drop the browser's log lines for the expected 401 on GET /me.
  for (let i = problems.length - 1; i >= 0; i--) {
    if (/Failed to load resource: the server responded with a status of 401/.test(problems[i]) && problems[i].includes('/portal/api/v1/me')) problems.splice(i, 1);
  }
});
