// A wrong one-time code: the login page says so in Chinese, with what to do
// next, and nothing is logged in.
// Env: LJ_ADMIN_URL, LJ_USER, LJ_PASSWORD, LJ_TOTP (a wrong code).

import { run, login, env } from './lib.mjs';

await run('login-wrong-totp', async ({ page, shot }) => {
  await login(page, env('LJ_USER'), env('LJ_PASSWORD'), env('LJ_TOTP'));
  const alert = page.locator('#login-error');
  await alert.filter({ hasText: '动态口令' }).waitFor();
  const text = await alert.innerText();
  if (!text.includes('用户名、密码或动态口令不正确') || !text.includes('重试')) throw new Error(`the error says ${JSON.stringify(text)}`);
  if (await page.getByTestId('who').count()) throw new Error('logged in with a wrong code');
  await shot('error');
}, { allow: [/^401 POST \/admin\/api\/v1\/login$/] });
