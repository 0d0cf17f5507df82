// The demo reviewer opens the review queue, reads a pending production
// request (the applicant's details, the agreement, the APIs), tries to
// reject it without a reason (refused in the dialog), then approves it with
// a reason; on the applicant's page the new production app, its
// credentials and grants; the reviewer proposes one more grant, which the
// page says another reviewer must approve (their own buttons are disabled).
// A second reviewer (made by the Go test) approves the proposal.
// First an administrator sees the request read-only (disabled buttons saying
// who must act).
// Env: LJ_ADMIN_URL, LJ_REVIEWER_USER/PASSWORD/TOTP, LJ_SECOND_USER/PASSWORD/TOTP,
// LJ_ADMIN2_USER/PASSWORD/TOTP (an administrator),
// LJ_REQUEST_ID, LJ_APPLICANT (its name).

import { readFileSync } from 'node:fs';
import { run, login, step, env, menuFor } from './lib.mjs';

const reqID = env('LJ_REQUEST_ID');
const applicant = env('LJ_APPLICANT');

await run('reviewer-approve', async ({ page, shot: rawShot }) => {
  const shot = async (name) => {
    const text = await page.locator('main').innerText();
    const bad = /\bnull\b|\bundefined\b|NaN|Invalid Date|\{[a-z]+\}|\b(review|apl)\.[a-z][A-Za-z_.]*\b/.exec(text);
    if (bad) throw new Error(`page ${name} shows ${JSON.stringify(bad[0])}`);
    await rawShot(name);
  };
  // An administrator sees the queue read-only: only reviewers decide.
  await login(page, env('LJ_ADMIN2_USER'), env('LJ_ADMIN2_PASSWORD'), env('LJ_ADMIN2_TOTP'));
  await page.getByTestId('who').waitFor();
  await page.getByRole('link', { name: '申请方审核', exact: true }).click();
  await page.getByTestId('review-readonly').waitFor();
  await page.locator(`tr[data-request="${reqID}"]`).getByRole('link').click();
  const approveBtn = page.getByTestId('review-detail').locator('button[data-action="approve"]');
  await approveBtn.waitFor();
  if (!(await approveBtn.isDisabled())) throw new Error('an administrator may approve');
  await page.getByTestId('decide-why').filter({ hasText: '请审核人员处理' }).waitFor();
  await shot('admin-readonly');
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.locator('form.login-form').waitFor();

  await login(page, env('LJ_REVIEWER_USER'), env('LJ_REVIEWER_PASSWORD'), env('LJ_REVIEWER_TOTP'));
  await page.getByTestId('who').waitFor();
  const menu = await page.locator('nav.sidenav a').allInnerTexts();
  if (menu.join('|') !== await menuFor('reviewer')) throw new Error(`reviewer menu ${menu}`);
  if (menu[0] !== '申请方审核') throw new Error(`the review queue is not first: ${menu}`);

  // The queue: the pending request.
  await page.getByRole('heading', { name: '申请方审核', exact: true }).waitFor();
  const row = page.locator(`tr[data-request="${reqID}"]`);
  await row.waitFor();
  await shot('review-queue');
  await row.getByRole('link', { name: `查看 ${applicant} 的投产申请` }).click();
  const detail = page.getByTestId('review-detail');
  await detail.getByTestId('review-applicant').waitFor();
  const text = await detail.innerText();
  for (const want of [applicant, '接受的服务协议', '申请的 API', '待审核']) {
    if (!text.includes(want)) throw new Error(`the request's detail lacks ${want}: ${text}`);
  }
  // The applicant's document (uploaded by the Go test through the portal
  // API): listed, and downloaded with its name and bytes.
  const docRow = detail.getByTestId('review-documents').locator('tr[data-document]');
  await docRow.getByText('授权书.pdf').waitFor();
  await docRow.getByText('授权书', { exact: true }).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), docRow.getByRole('button', { name: '下载 授权书.pdf' }).click()]);
  if (download.suggestedFilename() !== '授权书.pdf') throw new Error(`downloaded as ${download.suggestedFilename()}`);
  const bytes = readFileSync(await download.path(), 'latin1');
  if (bytes !== env('LJ_DOC_PDF')) throw new Error(`the downloaded document differs: ${JSON.stringify(bytes)}`);
  await detail.getByTestId('review-documents').scrollIntoViewIfNeeded();
  await shot('review-request');

  // Reject without a reason: refused in the dialog; cancel.
  await detail.locator('button[data-action="reject"]').click();
  const dlg = page.getByTestId('decision-dialog');
  await dlg.getByRole('button', { name: '驳回', exact: true }).click();
  await dlg.getByRole('alert').filter({ hasText: '请填写驳回理由' }).waitFor();
  await rawShot('review-reject-dialog');
  await dlg.getByRole('button', { name: '取消' }).click();
  await dlg.waitFor({ state: 'detached' });

  // Approve with a reason.
  await detail.locator('button[data-action="approve"]').click();
  await dlg.getByLabel('理由（选填，记入审计）').fill('资料齐全，协议已接受');
  await dlg.getByRole('button', { name: '批准', exact: true }).click();
  await page.locator('.toast').filter({ hasText: '已批准' }).waitFor();
  await page.getByTestId('review-detail').locator('[data-status="approved"]').first().waitFor();
  await page.getByText('资料齐全，协议已接受').waitFor();
  await shot('review-approved');
  await step('approved', reqID);

  // The applicant's page: its apps, credentials and grants.
  await page.getByRole('link', { name: '查看申请方与应用 →' }).click();
  const apl = page.getByTestId('apl-detail');
  await apl.getByRole('heading', { name: '资料' }).waitFor();
  const prod = apl.locator('section[data-app]').filter({ has: page.locator('.badge', { hasText: '生产' }) });
  await prod.locator('table[data-testid^="grants-"] tbody tr').first().waitFor();
  await apl.getByTestId('apl-documents').locator('tr[data-document]').getByText('授权书.pdf').waitFor();
  await shot('applicant');
  const sandbox = apl.locator('section[data-app]').filter({ has: page.locator('.badge', { hasText: '沙箱' }) });
  await sandbox.getByTestId('expiring-soon').waitFor();
  await sandbox.scrollIntoViewIfNeeded();
  await rawShot('app-credentials');

  // Propose one more grant to the production app (maker).
  await prod.getByRole('button', { name: '提议授权' }).click();
  await dlg.getByRole('button', { name: '提议授权' }).click();
  await page.locator('.toast').filter({ hasText: '已提议授权' }).waitFor();
  await prod.getByTestId('apl-pending').waitFor();
  await step('proposed');
  await prod.scrollIntoViewIfNeeded();
  await shot('grant-proposed');

  // Back in the queue: the reviewer may not decide their own proposal.
  await page.getByRole('link', { name: '申请方审核', exact: true }).click();
  const prow = page.locator('tr[data-proposal]').first();
  await prow.waitFor();
  if (!(await prow.locator('button[data-action="approve-proposal"]').isDisabled())) throw new Error('the proposer may approve their own proposal');
  await prow.getByTestId('proposal-why').filter({ hasText: '须由另一位审核人员' }).waitFor();
  // The earlier toasts would hide the row in the screenshot.
  await page.evaluate(() => { for (const el of document.querySelectorAll('.toast')) el.remove(); });
  await page.getByTestId('review-proposals').scrollIntoViewIfNeeded();
  await shot('proposal-own');
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.locator('form.login-form').waitFor();

  // The second reviewer approves it (checker).
  await login(page, env('LJ_SECOND_USER'), env('LJ_SECOND_PASSWORD'), env('LJ_SECOND_TOTP'));
  await page.getByTestId('who').waitFor();
  const prow2 = page.locator('tr[data-proposal]').first();
  await prow2.waitFor();
  await page.getByTestId('review-proposals').scrollIntoViewIfNeeded();
  await shot('second-reviewer');
  await prow2.locator('button[data-action="approve-proposal"]').click();
  await dlg.getByLabel('理由（选填，记入审计）').fill('复核通过');
  await dlg.getByRole('button', { name: '批准', exact: true }).click();
  await page.locator('.toast').filter({ hasText: '已批准授权' }).waitFor();
  await page.getByTestId('review-proposals').getByText('当前没有待复核的授权提议').waitFor();
  await step('granted');
  await shot('second-approved');

  // The final state: the production app has the third grant.
  await page.getByRole('link', { name: '申请方与应用', exact: true }).click();
  const list = page.getByTestId('apl-list');
  await list.locator('tbody tr').nth(1).waitFor(); // the demo applicant and this one
  await page.getByLabel('名称包含').fill('审核测试');
  await page.getByRole('button', { name: '查找', exact: true }).click();
  await list.locator('tbody tr').nth(1).waitFor({ state: 'detached' });
  await list.getByRole('link', { name: `查看申请方 ${applicant}` }).waitFor();
  await page.evaluate(() => { for (const el of document.querySelectorAll('.toast')) el.remove(); });
  await shot('applicants-search');
  await page.getByRole('link', { name: `查看申请方 ${applicant}` }).click();
  const grants = page.getByTestId('apl-detail').locator('table[data-testid^="grants-"] tbody tr');
  await grants.nth(2).waitFor();
  await page.evaluate(() => { for (const el of document.querySelectorAll('.toast')) el.remove(); });
  await page.getByTestId('apl-detail').locator('table[data-testid^="grants-"]').scrollIntoViewIfNeeded();
  await shot('final-grants');

  // A narrow screen: no sideways scrolling of the page.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByTestId('apl-detail').locator('table[data-testid^="creds-"]').scrollIntoViewIfNeeded();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  if (wide) throw new Error('the applicant page scrolls sideways on a narrow screen');
  await shot('applicant-narrow');
  await page.setViewportSize({ width: 1280, height: 800 });

  // English.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Applicants and apps', exact: true }).waitFor();
  await page.getByTestId('apl-detail').getByRole('heading', { name: 'API grants' }).first().waitFor();
  await shot('applicant-en');
  await page.getByRole('button', { name: '中文' }).click();
  await page.getByRole('heading', { name: '申请方与应用', exact: true }).waitFor();
});
