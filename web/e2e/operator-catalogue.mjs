// An operator edits an API in the catalogue editor (a bad parameter schema
// is refused with the API's message beside the field; then the description
// and a limit are saved after the change-notice preview), deprecates it
// with a sunset after seeing the notice preview, adds a CIDR to the
// global deny-list and removes it, looks at the operations tabs, and
// acknowledges an alert with a note. The Go test checks each step through
// the admin API.
// Env: LJ_ADMIN_URL, LJ_USER, LJ_PASSWORD, LJ_TOTP, LJ_API_ID.

import { run, login, step, env } from './lib.mjs';

// noToasts removes the toasts of earlier steps so that they do not cover
// the next screenshot.
const noToasts = (page) => page.evaluate(() => { for (const e of document.querySelectorAll('.toast')) e.remove(); });

await run('catalogue', async ({ page, shot }) => {
  await login(page, env('LJ_USER'), env('LJ_PASSWORD'), env('LJ_TOTP'));
  await page.getByTestId('who').waitFor();
  const menu = await page.locator('nav.sidenav a').allInnerTexts();
  if (!menu.includes('API 目录')) throw new Error(`operator menu ${menu}`);

  // The list.
  await page.getByRole('link', { name: 'API 目录' }).click();
  const id = env('LJ_API_ID');
  const row = page.locator(`tbody tr[data-api="${id}"]`);
  await row.waitFor();
  await shot('catalogue-list');
  await row.getByRole('link', { name: /^编辑/ }).click();

  // The editor: a parameter schema the API refuses, shown beside the field.
  const form = page.locator('form.cat-form');
  await form.waitFor();
  await shot('editor');
  const body = form.getByLabel('请求体 Schema（JSON）');
  const before = await body.inputValue();
  await body.fill('{"type": "object", "patternProperties": {}}');
  await form.getByLabel('变更说明（将发送给获授权的申请方）').fill('浏览器测试：说明与限流调整');
  await form.getByRole('button', { name: '保存修改' }).click();
  let dialog = page.getByRole('dialog');
  await dialog.getByTestId('notice-preview').filter({ hasText: '接口变更' }).waitFor();
  await dialog.getByRole('button', { name: '确认保存' }).click();
  const fieldErr = page.locator('[data-field="params.body"] .field-error');
  await fieldErr.filter({ hasText: 'patternProperties' }).waitFor();
  await page.locator('.alert-error').filter({ hasText: '输入有误' }).waitFor();
  await shot('editor-invalid');
  await body.fill(before);

  // Then a good change: the description and a limit.
  await form.getByLabel('说明', { exact: true }).fill('浏览器测试修改的说明 / edited in the browser test');
  await form.getByLabel('每秒调用数（0 为不限）').fill('42');
  await form.getByRole('button', { name: '保存修改' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByTestId('notice-preview').filter({ hasText: '浏览器测试：说明与限流调整' }).waitFor();
  await dialog.getByRole('button', { name: '确认保存' }).click();
  await page.locator('.toast').filter({ hasText: '已保存' }).waitFor();
  await step('edited', id);

  // Deprecate with a sunset, after the notice preview.
  await page.getByRole('button', { name: '弃用', exact: true }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('给申请方的说明（选填）').fill('请迁移到新版本 / please move to the new version');
  const preview = dialog.getByTestId('notice-preview');
  await preview.filter({ hasText: '请迁移到新版本' }).waitFor();
  const text = await preview.innerText();
  for (const want of ['接口弃用', '下线', '获授权的申请方']) {
    if (!text.includes(want)) throw new Error(`the preview says ${JSON.stringify(text)}, without ${want}`);
  }
  await noToasts(page);
  await shot('notice-preview');
  await dialog.getByRole('button', { name: '确认弃用' }).click();
  await page.locator('.toast').filter({ hasText: '已弃用' }).waitFor();
  await page.locator('#cat-lc').waitFor();
  await page.getByRole('button', { name: '调整下线时间' }).waitFor();
  await shot('editor-deprecated');
  await step('deprecated', id);

  // A new draft, published after the preview (nobody is granted it yet).
  await page.getByRole('link', { name: /返回 API 目录/ }).click();
  await page.locator('a[data-action="new"]').click();
  await form.waitFor();
  await form.getByLabel('名称').fill('浏览器测试接口 / Browser test');
  await form.getByLabel('路径模板').fill('/v1/browser-test');
  await form.getByRole('button', { name: '创建草稿' }).click();
  await page.locator('#cat-lc').waitFor();
  await page.locator('.cat-meta').filter({ hasText: '草稿' }).waitFor();
  await page.getByRole('button', { name: '发布', exact: true }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByTestId('notice-preview').filter({ hasText: '不会发出通知' }).waitFor();
  await dialog.getByRole('button', { name: '确认发布' }).click();
  await page.locator('.cat-meta').filter({ hasText: '已发布' }).waitFor();
  const newID = new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]).get('id');
  await step('published', newID);

  // Operations: the deny-list.
  await page.getByRole('link', { name: '运行控制' }).click();
  await page.getByRole('tab', { name: 'API 暂停' }).waitFor();
  await page.locator('tbody tr').first().waitFor();
  await noToasts(page);
  await shot('operations-apis');
  await page.getByRole('tab', { name: 'IP 名单' }).click();
  const cidr = '2001:db8:42::/48';
  await page.getByLabel('添加地址或网段').fill(cidr);
  await page.getByRole('button', { name: '加入黑名单' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: '加入黑名单' }).click();
  const chip = page.locator(`li.chip[data-cidr="${cidr}"]`);
  await chip.waitFor();
  await noToasts(page);
  await shot('operations-ip');
  await step('denied', cidr);
  await chip.getByRole('button').click();
  await page.getByRole('dialog').getByRole('button', { name: '移除' }).click();
  await chip.waitFor({ state: 'detached' });
  await page.locator('.empty').filter({ hasText: '黑名单为空' }).waitFor();
  await step('undenied', cidr);

  // Limits: a global limit is a tightening (at once); removing it again
  // relaxes, which is proposed for a reviewer.
  await page.getByRole('tab', { name: '限流' }).click();
  const rps = page.locator('tr[data-kind="rate_per_second"]');
  await rps.waitFor();
  await rps.getByLabel('启用 每秒调用数').check();
  await rps.getByLabel('每秒调用数 的上限').fill('1000');
  await page.getByRole('button', { name: '保存限流策略' }).click();
  await page.locator('.toast').filter({ hasText: '限流策略已生效' }).waitFor();
  await rps.getByLabel('启用 每秒调用数').uncheck();
  await page.getByRole('button', { name: '保存限流策略' }).click();
  await page.locator('.toast').filter({ hasText: '已生成提案' }).waitFor();
  const limProposal = page.locator('#ops-lim-pending').locator('..').locator('[data-proposal]').first();
  await limProposal.waitFor();
  if (!(await limProposal.getByRole('button', { name: '批准' }).isDisabled())) throw new Error('the proposer may approve its own limits proposal');
  await step('limits-proposed');
  await noToasts(page);
  await shot('operations-limits');

  // Risk rules: create, tighten (at once), relax (a proposal).
  await page.getByRole('tab', { name: '风控规则' }).click();
  await page.getByLabel('规则名称').fill('转账单笔上限（浏览器测试）');
  await page.getByLabel('金额上限（元）').fill('50000.00');
  await page.getByRole('button', { name: '创建规则' }).click();
  await page.locator('.toast').filter({ hasText: '已创建规则' }).waitFor();
  const rule = page.locator('tbody tr[data-rule]').filter({ hasText: '浏览器测试' });
  for (const [amount, toast, version] of [['20000.00', '已修改并立即生效', 'v1'], ['90000.00', '这是放宽', 'v2']]) {
    await rule.filter({ hasText: version }).waitFor();
    await rule.getByRole('button', { name: /^修改规则/ }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByLabel('金额上限（元）').fill(amount);
    await dialog.getByRole('button', { name: '保存' }).click();
    await page.locator('.toast').filter({ hasText: toast }).waitFor();
    await dialog.waitFor({ state: 'detached' });
  }
  await rule.filter({ hasText: '20000.00' }).waitFor();
  await page.locator('#ops-risk-pending').locator('..').locator('[data-proposal]').first().waitFor();
  await step('risk-proposed');
  await noToasts(page);
  await shot('operations-risk');

  for (const [tab, name, wait] of [['熔断器', 'breakers', '#ops-brk'], ['应用暂停', 'apps', 'tbody tr[data-app]']]) {
    await page.getByRole('tab', { name: tab }).click();
    await page.locator(wait).first().waitFor();
    await page.locator('.tab-panel .loading').first().waitFor({ state: 'detached' }).catch(() => {});
    await noToasts(page);
    await shot('operations-' + name);
  }

  // Alerts: acknowledge the admin lockout with a note.
  await page.getByRole('tab', { name: '告警' }).click();
  const alert = page.locator('tbody tr[data-kind="admin_lockout"]').first();
  await alert.waitFor();
  const alertId = await alert.getAttribute('data-alert');
  await noToasts(page);
  await shot('alerts');
  await alert.getByRole('button', { name: /^确认告警/ }).click();
  dialog = page.getByRole('dialog');
  await dialog.locator('textarea').fill('已核实：审计员输错密码 / the auditor mistyped');
  await dialog.getByRole('button', { name: '确认告警' }).click();
  await page.locator('.toast').filter({ hasText: '已确认告警' }).waitFor();
  await page.locator(`tbody tr[data-alert="${alertId}"]`).waitFor({ state: 'detached' });
  await page.getByLabel('告警状态').selectOption('acked');
  await page.locator(`tbody tr[data-alert="${alertId}"]`).filter({ hasText: '已核实' }).waitFor();
  await noToasts(page);
  await shot('alerts-acked');
  await step('acked', alertId);

  // English.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('tab', { name: 'Alerts' }).waitFor();
  await page.getByRole('link', { name: 'API catalogue' }).click();
  await page.locator(`tbody tr[data-api="${id}"]`).waitFor();
  await shot('catalogue-list-en');
}, { allow: [/^400 PUT \/admin\/api\/v1\/apis\/api_[a-z0-9]+$/] });
