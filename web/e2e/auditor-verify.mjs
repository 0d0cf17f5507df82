// The demo auditor searches the audit records, opens the transfer's record
// and its sealed body with a reason, verifies the chain (INTACT) and
// exports the records (the downloaded file holds the calls the Go test
// made). Then the demo admin: the audit page (verify only), the cluster
// with the join token, the platform keys (a rotation after confirming),
// the admin users (a new user's one-time secret, disabled) and sessions
// (the reviewer's ended: the Go test checks it no longer works).
// Env: LJ_ADMIN_URL, LJ_AUDITOR_USER/PASSWORD/TOTP, LJ_ADMIN_USER/PASSWORD/TOTP,
// LJ_CALL_IDS (request ids of signed calls, comma-separated), LJ_TRANSFER_ID,
// LJ_REVIEWER (the reviewer's user name, whose session the admin ends).

import { readFileSync } from 'node:fs';
import { run, login, step, env, menuFor } from './lib.mjs';

const calls = env('LJ_CALL_IDS').split(',');
const transferID = env('LJ_TRANSFER_ID');

// until polls f (a promise of a boolean) until it holds, or fails after 10 s.
async function until(what, f) {
  for (const end = Date.now() + 10000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (await f()) return;
  throw new Error('timed out waiting for ' + what);
}

await run('auditor', async ({ page, shot: rawShot }) => {
  // Every screenshot's page is checked for leaked placeholders and
  // untranslated keys first.
  const shot = async (name) => {
    const text = await page.locator('main').innerText();
    const bad = /\bnull\b|\bundefined\b|NaN|\{[a-z]+\}|\b(audit|cluster|keys|users)\.[a-z][A-Za-z_.]*\b/.exec(text.replace(/audit\.(query|body_opened)/g, ''));
    if (bad) throw new Error(`page ${name} shows ${JSON.stringify(bad[0])}`);
    await rawShot(name);
  };
  // The overview (the page after login) loads slowly, and the audit page
  // is asked for before it has: the overview must never be drawn over it
  // (it was, once its module arrived, and again at each of its refreshes).
  let releaseOverview;
  const overviewHeld = new Promise((resolve) => { releaseOverview = resolve; });
  await page.route('**/admin/pages/dashboard.js', async (route) => {
    await overviewHeld;
    await route.continue();
  });
  await login(page, env('LJ_AUDITOR_USER'), env('LJ_AUDITOR_PASSWORD'), env('LJ_AUDITOR_TOTP'));
  await page.getByTestId('who').waitFor();
  await page.getByRole('link', { name: '审计', exact: true }).click();
  await page.getByRole('heading', { name: '校验审计链' }).waitFor();
  releaseOverview();
  await page.waitForResponse('**/admin/pages/dashboard.js');
  await new Promise((r) => setTimeout(r, 500));
  if (await page.getByRole('heading', { name: '概览', exact: true }).count() > 0) {
    throw new Error('the overview, asked for first and loaded last, was drawn over the audit page');
  }
  await page.unroute('**/admin/pages/dashboard.js');
  await page.getByTestId('audit-intro').filter({ hasText: '每个节点各自保存' }).waitFor();
  await shot('audit');

  // Search: the calls.
  await page.getByLabel('记录类型').selectOption('access');
  await page.getByRole('button', { name: '检索', exact: true }).click();
  const results = page.getByTestId('audit-results');
  for (const id of calls) await results.locator('tr', { hasText: id }).waitFor();
  const seq = await results.locator('tbody tr', { hasText: calls[0] }).getAttribute('data-seq');
  await shot('audit-search');

  // One record: the transfer, by its request id.
  await page.getByLabel('请求编号').fill(transferID);
  await page.getByRole('button', { name: '检索', exact: true }).click();
  const row = results.locator('tbody tr', { hasText: transferID });
  await until('the transfer alone in the results', async () => await results.locator('tbody tr').count() === 1 && await row.count() === 1);
  await row.getByRole('button', { name: /^查看记录/ }).click();
  const detail = page.getByTestId('audit-detail');
  await detail.getByRole('heading', { name: /^记录 \d+ 的详情$/ }).waitFor();
  const dtext = await detail.innerText();
  for (const want of [transferID, 'POST', '201', '封存']) {
    if (!dtext.includes(want)) throw new Error(`the record's detail lacks ${want}: ${dtext}`);
  }
  await shot('audit-record');

  // Open the sealed body: a reason is required, and the page says the
  // opening is recorded.
  await detail.getByRole('button', { name: '说明原因并打开封存报文' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  if (!(await dialog.innerText()).includes('记入审计链')) throw new Error('the dialog does not say the opening is recorded');
  await dialog.getByLabel(/打开原因/).fill('太短');
  await dialog.getByRole('button', { name: '记录原因并打开' }).click();
  await dialog.getByText('请至少写 10 个字').waitFor();
  await dialog.getByLabel(/打开原因/).fill('浏览器测试：核查投诉 2027-0104-17 的转账');
  await shot('audit-open-reason');
  await dialog.getByRole('button', { name: '记录原因并打开' }).click();
  await dialog.waitFor({ state: 'detached' });
  const body = page.getByTestId('opened-body');
  await body.waitFor();
  if (!(await body.innerText()).includes('1.23')) throw new Error(`the opened body: ${await body.innerText()}`);
  await page.getByTestId('opened-note').filter({ hasText: 'audit.body_opened' }).waitFor();
  await shot('audit-opened');

  // The opening is itself in the chain.
  await page.getByLabel('请求编号').fill('');
  await page.getByLabel('记录类型').selectOption('system');
  await page.getByRole('button', { name: '检索', exact: true }).click();
  await results.locator('tbody tr', { hasText: 'audit.body_opened' }).first().waitFor();

  // Verify: a verdict in green.
  const verify = page.getByRole('button', { name: '开始校验' });
  await verify.click();
  const verdict = page.locator('[data-verdict]');
  await verdict.waitFor();
  if (await verdict.getAttribute('data-verdict') !== 'intact') throw new Error(`verdict: ${await verdict.innerText()}`);
  if (!(await verdict.innerText()).includes('完好（INTACT）')) throw new Error(`verdict text: ${await verdict.innerText()}`);
  if (await verify.isDisabled()) throw new Error('the verify button stays disabled after the verdict');
  await verdict.scrollIntoViewIfNeeded();
  await shot('audit-verify');

  // Export the calls as JSONL: progress, then the download.
  await page.getByLabel('记录类型').selectOption('access');
  await page.getByRole('button', { name: '导出 JSONL' }).click();
  const link = page.getByTestId('export-download');
  await link.waitFor();
  const done = await page.getByTestId('export-result').innerText();
  if (!/导出完成：\d+ 条记录/.test(done)) throw new Error(`export result: ${done}`);
  await shot('audit-export');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  if (!/^audit-.+\.jsonl$/.test(download.suggestedFilename())) throw new Error(`file name ${download.suggestedFilename()}`);
  const lines = readFileSync(await download.path(), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const ids = new Set(lines.map((r) => r.request_id));
  for (const id of [...calls, transferID]) if (!ids.has(id)) throw new Error(`the export lacks the call ${id} (${lines.length} records)`);
  if (lines.some((r) => r.kind !== 'access')) throw new Error('the export ignored the kind filter');
  // CSV too: a header line, then the records.
  await page.getByRole('button', { name: '导出 CSV' }).click();
  await page.getByTestId('export-download').filter({ hasText: '.csv' }).waitFor();
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
  const csvText = readFileSync(await csv.path(), 'utf8');
  if (!csvText.startsWith('seq,time,node,kind') || !calls.every((id) => csvText.includes(id))) throw new Error(`the CSV export: ${csvText.slice(0, 300)}`);

  // Tampering: the Go test changes one call's record in the node's store
  // (as an attacker with the file could); verify names it.
  await step('tamper', seq);
  await verify.click();
  const bad = page.locator('[data-verdict="damaged"]');
  await bad.waitFor();
  const badRow = bad.locator(`tr[data-damage="modified"]`);
  await badRow.waitFor();
  if (!(await badRow.innerText()).includes(seq)) throw new Error(`the damage row: ${await badRow.innerText()}`);
  for (const want of ['发现问题', '记录被修改', '保留证据']) if (!(await bad.innerText()).includes(want)) throw new Error(`the damaged verdict lacks ${want}`);
  await bad.scrollIntoViewIfNeeded();
  await shot('audit-damaged');

  // English.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Verify the audit chain' }).waitFor();
  await shot('audit-en');
  await page.getByRole('button', { name: '中文' }).click();
  await page.getByRole('heading', { name: '校验审计链' }).waitFor();
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.locator('form.login-form').waitFor();

  // ---- the admin ----
  await login(page, env('LJ_ADMIN_USER'), env('LJ_ADMIN_PASSWORD'), env('LJ_ADMIN_TOTP'));
  await page.getByTestId('who').waitFor();
  const menu = await page.locator('nav.sidenav a').allInnerTexts();
  if (menu.join('|') !== await menuFor('admin')) throw new Error(`admin menu ${menu}`);

  // Audit as an admin: verify only, and why.
  await page.getByRole('link', { name: '审计', exact: true }).click();
  await page.getByText('只能由审计人员检索').waitFor();
  if (await page.getByRole('heading', { name: '检索记录' }).count()) throw new Error('an admin is offered the audit search');
  // While the verify runs (held back here for 2 s), the button is disabled
  // and an indeterminate bar counts the seconds.
  await page.route('**/admin/api/v1/audit/verify', async (route) => {
    await new Promise((r) => setTimeout(r, 2000));
    await route.continue();
  });
  const adminVerify = page.getByRole('button', { name: '开始校验' });
  await adminVerify.click();
  await page.locator('.audit-progress progress').waitFor();
  await page.getByText(/正在校验…已用时 1 秒/).waitFor();
  if (!(await adminVerify.isDisabled()) || !(await adminVerify.getAttribute('title')).includes('校验进行中')) throw new Error('the verify button is usable while it runs');
  await shot('audit-verifying');
  await page.locator('[data-verdict="damaged"]').waitFor(); // the record the Go test changed
  await page.unroute('**/admin/api/v1/audit/verify');
  if (await adminVerify.isDisabled()) throw new Error('the verify button stays disabled');
  await shot('audit-admin');

  // Cluster: the node, the leader, the join token on request.
  await page.getByRole('link', { name: '集群', exact: true }).click();
  await page.locator('tbody tr[data-node]').first().waitFor();
  await page.getByTestId('cluster-leader').filter({ hasText: /node/ }).waitFor();
  if (await page.locator('#join-token').count()) throw new Error('the join token is shown before it is asked for');
  await shot('cluster');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env('LJ_ADMIN_URL') });
  await page.getByRole('button', { name: '显示加入令牌' }).click();
  const token = await page.locator('#join-token').inputValue();
  if (!token.startsWith('LJT1.')) throw new Error(`join token ${token}`);
  await page.getByRole('button', { name: '复制', exact: true }).click();
  await page.locator('.toast').filter({ hasText: '已复制' }).waitFor();
  if (await page.evaluate(() => navigator.clipboard.readText()) !== token) throw new Error('the copy button did not copy the token');
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  if (stored.includes(token)) throw new Error('the join token is in browser storage');
  await shot('cluster-token');
  await page.getByRole('button', { name: '隐藏令牌' }).click();
  if (await page.locator('#join-token').count()) throw new Error('hiding left the token on the page');

  // Platform keys: rotate the signing key, after a confirmation.
  await page.getByRole('link', { name: '平台密钥', exact: true }).click();
  const keyRows = page.locator('tbody tr[data-serial]');
  await keyRows.first().waitFor();
  const before = await keyRows.count();
  await shot('keys');
  await page.getByRole('button', { name: '轮换签名密钥' }).click();
  const kdlg = page.getByRole('dialog');
  await kdlg.waitFor();
  await kdlg.getByRole('button', { name: '取消' }).click();
  await kdlg.waitFor({ state: 'detached' });
  if (await keyRows.count() !== before) throw new Error('cancelling rotated the key');
  await page.getByRole('button', { name: '轮换签名密钥' }).click();
  await kdlg.getByRole('button', { name: '确认轮换' }).click();
  await page.locator('.toast').filter({ hasText: '已生成新密钥' }).waitFor();
  await page.locator('tbody tr[data-serial]', { hasText: '退役中' }).waitFor();
  await shot('keys-rotated');

  // Admin users: create one (secret shown once), disable it.
  await page.getByRole('link', { name: '管理员', exact: true }).click();
  await page.locator('tbody tr[data-user]').first().waitFor();
  await shot('users');
  await page.getByLabel('用户名').fill('e2e-auditor2');
  await page.getByLabel('姓名（选填）').fill('测试审计员');
  await page.getByLabel('角色', { exact: true }).selectOption('auditor');
  await page.getByRole('button', { name: '创建用户' }).click();
  const created = page.getByTestId('user-created');
  await created.getByText('只显示这一次').waitFor();
  const secret = await created.getByLabel(/TOTP 密钥/).inputValue();
  if (!/^[A-Z2-7]{16,}$/.test(secret)) throw new Error(`TOTP secret ${secret}`);
  if (!(await created.getByLabel(/绑定地址/).inputValue()).startsWith('otpauth://')) throw new Error('no otpauth address');
  await shot('users-created');
  await created.getByRole('button', { name: '我已交付，关闭' }).click();
  if (await page.getByText(secret).count() || (await page.content()).includes(secret)) throw new Error('the secret stays on the page');
  const newRow = page.locator('tbody tr[data-user="e2e-auditor2"]');
  await newRow.waitFor();
  await newRow.getByRole('button', { name: /^停用/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: '确认停用' }).click();
  await newRow.locator('.badge-paused', { hasText: '已停用' }).waitFor();
  // The admin may not disable themselves: the button says why.
  const self = page.locator(`tbody tr[data-user="${env('LJ_ADMIN_USER')}"] button[data-action="disable"]`);
  if (!(await self.isDisabled()) || !(await self.getAttribute('title')).includes('另一位系统管理员')) throw new Error('own disable button');

  // Sessions: end the reviewer's.
  const sess = page.locator('tbody tr[data-session]', { hasText: env('LJ_REVIEWER') });
  await sess.waitFor();
  await sess.getByRole('button', { name: /^结束/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: '结束会话' }).click();
  await page.locator('.toast').filter({ hasText: '已结束会话' }).waitFor();
  await sess.waitFor({ state: 'detached' });
  await step('session-ended');
  await shot('users-sessions');

  // English.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Sessions' }).waitFor();
  await page.locator('tbody tr[data-session]').first().waitFor();
  await page.getByRole('cell', { name: 'One-time code (TOTP)' }).first().waitFor();
  await shot('users-en');
  await page.getByRole('link', { name: 'Platform keys' }).click();
  await page.locator('tbody tr[data-serial]').first().waitFor();
  await shot('keys-en');
  await page.getByRole('link', { name: 'Cluster' }).click();
  await page.locator('tbody tr[data-node]').first().waitFor();
  await shot('cluster-en');
  await page.getByRole('button', { name: '中文' }).click();
  await page.getByRole('link', { name: '管理员', exact: true }).click();
  await page.locator('tbody tr[data-user]').first().waitFor();

  // Narrow screens.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot('users-narrow');
  await page.getByRole('link', { name: '集群', exact: true }).click();
  await page.locator('tbody tr[data-node]').first().waitFor();
  await shot('cluster-narrow');
});
