// A new developer in the developer portal (public port, /portal/): signs
// up, registers an applicant, accepts the agreement with a production
// request, creates a sandbox App_Secret (shown once; the Go test signs a
// call with it), reads an API's documentation and the manual; English and a
// narrow screen. Screenshots of each page.
import { run, step, env } from './lib.mjs';

// lib.mjs checks the CSP and headers of answers from LJ_ADMIN_URL's origin:
// the portal is on the public port, so that is the origin to check here.
process.env.LJ_ADMIN_URL = env('LJ_PORTAL_URL');

// The portal API's refusals this flow expects (the browser logs them):
// GET /me before anyone has signed in.
const expected = [/^401 GET \/portal\/api\/v1\/me$/];

await run('developer-signup', async ({ page, shot, problems }) => {
  const seen = [];
  page.on('response', (resp) => {
    const u = new URL(resp.url());
    if (resp.status() >= 400 && u.pathname.startsWith('/portal/api/v1/')) {
      const what = `${resp.status()} ${resp.request().method()} ${u.pathname}`;
      seen.push(what);
      if (!expected.some((re) => re.test(what))) problems.push(`unexpected portal API refusal: ${what}`);
    }
  });
  const portal = env('LJ_PORTAL_URL') + '/portal/';
  const email = env('LJ_DEV_EMAIL');
  const password = env('LJ_DEV_PASSWORD');

  // Sign up (Chinese by default).
  await page.goto(portal);
  await page.getByRole('heading', { name: '登录开发者门户' }).waitFor();
  await shot('signin');
  // The manual is public: readable before signing in.
  await page.getByRole('link', { name: '无需登录即可阅读开发者手册' }).click();
  await page.getByRole('heading', { name: '1. Transport' }).waitFor();
  await page.getByRole('link', { name: '返回登录' }).click();
  await page.getByRole('heading', { name: '注册开发者账户' }).waitFor();
  await page.locator('#signup-email').fill(email);
  await page.locator('#signup-name').fill('李开发');
  await page.locator('#signup-password').fill(password);
  await page.locator('#signup-password2').fill(password);
  await page.getByRole('button', { name: '注册并登录' }).click();
  await page.getByTestId('who').getByText(email).waitFor();

  // Register the applicant.
  await page.getByRole('heading', { name: '登记申请方' }).waitFor();
  await page.getByText('您还没有登记申请方').waitFor();
  await page.getByLabel('机构名称').fill('漓江金融科技有限公司');
  await page.getByLabel('统一社会信用代码').fill(env('LJ_USCC'));
  await page.getByLabel('联系人姓名').fill('李开发');
  await page.getByLabel('联系人手机号').fill('13900139000');
  await page.getByLabel('通知回调地址').fill('https://hooks.fintech.example.com/lijiang');
  await shot('applicant-form');
  await page.getByRole('button', { name: '登记', exact: true }).click();
  const row = page.locator('tr[data-applicant]');
  await row.getByText('漓江金融科技有限公司').waitFor();
  await row.getByText('沙箱联调中').waitFor();

  // Upload the business licence (a minimal PDF made here) and see it listed.
  const docs = page.locator('section[data-documents]');
  await docs.getByText('尚未上传文件').waitFor();
  await docs.getByLabel('文件类型').selectOption('business_licence');
  await docs.getByLabel('选择文件').setInputFiles({ name: '营业执照.pdf', mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n') });
  await docs.getByRole('button', { name: '上传' }).click();
  const doc = docs.locator('tr[data-document]');
  await doc.getByText('营业执照.pdf').waitFor();
  await doc.getByText('营业执照', { exact: true }).waitFor();
  await shot('applicant');

  // Read and accept the agreement, then ask for production access.
  await row.getByRole('button', { name: '申请生产接入' }).click();
  await page.getByRole('heading', { name: '服务协议', exact: true }).waitFor();
  await page.locator('.agreement-text').waitFor();
  await page.getByRole('button', { name: '接受并继续：选择要申请的 API' }).click();
  await page.getByText('请先勾选').waitFor(); // not without ticking the box
  await page.getByLabel(/我已阅读并代表所选申请方接受本协议/).check();
  await shot('agreement');
  await page.getByRole('button', { name: '接受并继续：选择要申请的 API' }).click();
  await page.getByRole('heading', { name: '新建生产申请' }).waitFor();
  if (!(await page.locator('#prd-accept').isChecked())) throw new Error('the accepted agreement is not carried to the request');
  await page.locator('input[name="api"]').first().check();
  await page.getByRole('button', { name: '提交申请' }).click();
  await page.locator('tr[data-request]').getByText('审核中').waitFor();
  await shot('production');

  // Sandbox credentials: an App_Secret, shown once.
  await page.locator('.sidenav a[data-page="credentials"]').click();
  await page.getByRole('heading', { name: '沙箱凭证' }).waitFor();
  await page.getByText('该应用还没有凭证').waitFor();
  const appID = await page.locator('#cred-app').inputValue();
  await page.getByRole('button', { name: '创建 App_Secret' }).click();
  const secretEl = page.getByTestId('app-secret');
  await secretEl.waitFor();
  const secret = (await secretEl.textContent()).trim();
  const serial = (await page.locator('tr[data-serial]').first().getAttribute('data-serial'));
  await page.getByText('关闭本提示或离开本页后将无法再次查看').waitFor();
  await shot('credentials-secret');
  await step('secret', `${appID} ${serial} ${secret}`);
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  if (stored.includes(secret)) throw new Error('the App_Secret is in browser storage or a readable cookie');
  await page.getByRole('button', { name: '我已保存，隐藏' }).click();
  if (await secretEl.count()) throw new Error('the App_Secret is still shown after hiding it');
  if ((await page.content()).includes(secret)) throw new Error('the App_Secret is still in the page');
  await shot('credentials');

  // The catalogue and one API's generated documentation.
  await page.locator('.sidenav a[data-page="catalogue"]').click();
  await page.getByRole('heading', { name: 'API 目录' }).waitFor();
  await shot('catalogue');
  const first = page.locator('tr[data-api] th a').first();
  const apiName = (await first.textContent()).trim();
  await first.click();
  await page.getByRole('heading', { name: apiName, level: 1 }).waitFor();
  for (const h of ['请求参数', '成功响应（200）', '错误码', '调用限制（每个应用）']) await page.getByRole('heading', { name: h, exact: true }).waitFor();
  await shot('api-docs');
  // An API with a request body, examples and business error codes.
  await page.getByRole('link', { name: /返回 API 目录/ }).click();
  await page.getByRole('link', { name: '转账 / Transfer', exact: true }).click();
  await page.getByRole('heading', { name: '请求示例' }).waitFor();
  await shot('api-docs-transfer');

  // The developer manual, rendered.
  await page.locator('.sidenav a[data-page="manual"]').click();
  await page.getByRole('heading', { name: '1. Transport' }).waitFor();
  if (await page.locator('article.manual table').count() === 0) throw new Error('the manual has no tables rendered');
  await shot('manual');
  await page.locator('.manual-toc').getByRole('link', { name: '3. Signing a request' }).click();
  await page.getByRole('heading', { name: '3. Signing a request' }).waitFor();
  if (await page.locator('article.manual pre.code').count() === 0) throw new Error('the manual has no code blocks rendered');
  await shot('manual-signing');

  // The other pages draw (empty states), in English.
  await page.getByRole('button', { name: 'Switch to English' }).click();
  await page.locator('.sidenav a[data-page="notices"]').click();
  await page.getByRole('heading', { name: 'Change notices' }).waitFor();
  await shot('notices-en');
  await page.locator('.sidenav a[data-page="security"]').click();
  await page.getByRole('heading', { name: 'Report a security defect' }).waitFor();
  await page.getByText('You have not sent any security defect report.').waitFor();
  await page.getByLabel('Title').fill('Replayed nonce accepted');
  await page.getByLabel('Details').fill('Sent the same signed GET /v1/products twice with one nonce; both answered 200.');
  await page.getByRole('button', { name: 'Send the report' }).click();
  await page.locator('li[data-report]').getByText('Replayed nonce accepted').waitFor();
  await shot('security-en');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('.sidenav a[data-page="catalogue"]').click();
  await page.getByRole('heading', { name: 'API catalogue' }).waitFor();
  await shot('catalogue-narrow');

  // Sign out: the sign-in page again.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Sign in to the developer portal' }).waitFor();

  // The browser logs the expected refusals as console errors: drop those.
  for (let i = problems.length - 1; i >= 0; i--) {
    if (/Failed to load resource: the server responded with a status of 401/.test(problems[i]) && problems[i].includes('/portal/api/v1/me')) problems.splice(i, 1);
  }
});
