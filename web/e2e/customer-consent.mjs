// A bank customer (demo customer zhangsan) consents to the demo app in the
// bank's server-rendered pages on the public port (two-factor login, the
// consent screen, agree), the Go test exchanges the code and makes the
// app's A2 call; then the customer opens My consents, withdraws after the
// confirmation step, and the Go test sees the next A2 call refused. Also:
// the English switch (a link and a cookie, no JavaScript) and a narrow
// screen. The pages carry no script at all: they work without JavaScript.
// Env: LJ_ADMIN_URL (here: the PUBLIC port, so lib.mjs checks its pages'
// CSP and headers), LJ_AUTHORIZE_URL, LJ_CUST_USER, LJ_CUST_PASSWORD,
// LJ_CUST_TOTP, LJ_REDIRECT_URI.

import { run, step, env, CSP } from './lib.mjs';

const base = env('LJ_ADMIN_URL');
const redirect = new URL(env('LJ_REDIRECT_URI'));
// The consent page alone may also submit to the app's registered redirect
// origin: the decision redirects there, and browsers apply form-action to a
// form's redirects. Everything else is the strict CSP.
const consentCSP = CSP.replace("form-action 'self'", `form-action 'self' ${redirect.origin}`);

await run('customer', async ({ page, shot, problems }) => {
  try { await flow(page, shot); } finally {
    // What lib.mjs reports that this flow expects: the consent page's CSP
    // (its form-action also names the app's registered redirect origin),
    // and the browser's log line for the wrong code's page (401 on the
    // login form's POST, a page the customer sees, not a failure).
    const expected = [
      (p) => p.includes('/authorize?') && p.endsWith(`CSP ${JSON.stringify(consentCSP)}`),
      (p) => /^console error: Failed to load resource: the server responded with a status of 401 .*\/authorize\/login\)$/.test(p),
    ];
    for (let i = problems.length - 1; i >= 0; i--) {
      if (expected.some((f) => f(problems[i]))) problems.splice(i, 1);
    }
  }
});

async function flow(page, shot) {
  // The app's site is not there: answer its callback in the browser and keep
  // the address the bank sent the customer back to.
  let callback = null;
  await page.route(redirect.origin + '/**', (route) => {
    callback = new URL(route.request().url());
    route.fulfill({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'the app (stand-in)' });
  });

  // The login at the bank, in Chinese by default, for the app's request.
  await page.goto(env('LJ_AUTHORIZE_URL'));
  await page.getByRole('heading', { name: '登录银行' }).waitFor();
  if (await page.locator('script').count()) throw new Error('the customer pages must work without JavaScript: a <script>');
  const applink = page.locator('.cust-app');
  if (!(await applink.innerText()).includes(new URL(env('LJ_AUTHORIZE_URL')).searchParams.get('app_id'))) throw new Error('the login page does not name the app');
  await shot('login');
  // A wrong one-time code: the error says what to do, and the form (still
  // for the app's request) takes the right one.
  await page.getByLabel('用户名').fill(env('LJ_CUST_USER'));
  await page.getByLabel('登录密码').fill(env('LJ_CUST_PASSWORD'));
  await page.getByLabel('动态码').fill(env('LJ_CUST_TOTP') === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: '登录', exact: true }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  for (const want of ['用户名、密码或动态码错误', '请检查后重试']) {
    if (!(await alert.innerText()).includes(want)) throw new Error(`the login error lacks ${want}: ${await alert.innerText()}`);
  }
  await shot('login-error');
  await page.getByLabel('用户名').fill(env('LJ_CUST_USER'));
  await page.getByLabel('登录密码').fill(env('LJ_CUST_PASSWORD'));
  await page.getByLabel('动态码').fill(env('LJ_CUST_TOTP'));
  await page.getByRole('button', { name: '登录', exact: true }).click();

  // The consent screen: app, scopes, duration; agree.
  await page.getByRole('heading', { name: '授权确认' }).waitFor();
  const body = await page.locator('main').innerText();
  for (const want of ['张三', 'accounts:read', '90 天', '同意授权', '拒绝']) {
    if (!body.includes(want)) throw new Error(`the consent screen lacks ${want}: ${body}`);
  }
  await shot('consent');
  await page.getByRole('button', { name: '同意授权' }).click();
  await page.waitForURL((u) => u.origin === redirect.origin);
  if (!callback || !callback.searchParams.get('code')) throw new Error(`the bank sent the customer back to ${callback}`);
  await step('consented', callback.searchParams.get('code') + ' ' + callback.searchParams.get('state'));

  // My consents: the new consent is active; withdraw it after confirming.
  await page.goto(base + '/consents');
  await page.getByRole('heading', { name: '我的授权' }).waitFor();
  const row = page.locator('tbody tr').filter({ has: page.locator('.badge-ok') }).first();
  await row.waitFor();
  await shot('consents');
  const details = row.locator('details.cust-confirm');
  await row.locator('summary').click();
  const confirm = row.getByRole('button', { name: '确认撤回' });
  await confirm.waitFor();
  if (!(await details.innerText()).includes('不能撤销')) throw new Error('the confirmation does not say it cannot be undone');
  await shot('withdraw-confirm');
  // Closing it changes nothing.
  await row.locator('summary').click();
  await confirm.waitFor({ state: 'hidden' });
  await row.locator('summary').click();
  await confirm.click();
  await page.locator('.alert-ok').filter({ hasText: '已撤回' }).waitFor();
  if (await page.locator('tbody .badge-ok').count()) throw new Error('the consent is still shown active');
  await page.locator('tbody .badge').filter({ hasText: '已撤回' }).first().waitFor();
  await shot('withdrawn');
  await step('withdrawn');

  // English: a link, remembered by a cookie.
  await page.getByRole('link', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'My consents' }).waitFor();
  await page.goto(base + '/consents');
  await page.getByRole('heading', { name: 'My consents' }).waitFor();
  await page.locator('tbody .badge').filter({ hasText: 'Withdrawn' }).first().waitFor();
  await shot('consents-en');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot('consents-narrow');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Log out: back to the login form, in English.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
  if (await page.locator('tbody tr').count()) throw new Error('the consents are still shown after logging out');
  await shot('login-en');

}
