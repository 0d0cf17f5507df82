// Reporting a security defect: a private report to the bank (POST
// /portal/api/v1/security-reports), which the bank's users read in the
// admin API; my reports (GET /security-reports); and the manual's guidance
// (section 11): what to include, what never to send, test in the sandbox.

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';
import { markdown } from './manual.js';

export const strings = {
  'zh-CN': {
    'sec.title': '报告安全缺陷',
    'sec.intro': '如果您发现网关、LJ1 协议、SDK 或开发者手册存在安全缺陷（例如本应被拒绝的响应被接受，或可以读取其他应用的数据），请在此私下报告给银行，不要公开披露。报告只有银行工作人员可以看到。',
    'sec.how': '报告须知',
    'sec.include': '请写明：您的操作步骤、预期结果、实际结果、相关调用的 LJ-Request-Id 和时间。',
    'sec.never': '切勿填写：私钥、App_Secret、用户令牌或客户的个人信息。',
    'sec.sandbox': '请在沙箱环境中验证，不要在生产环境中测试。在银行修复之前，请勿公开该缺陷。',
    'sec.form': '提交报告',
    'sec.formTitle': '标题',
    'sec.formTitleHint': '一句话概括，3 至 200 个字符。',
    'sec.formBody': '详细说明',
    'sec.formBodyHint': '至少 20 个字符：操作步骤、预期结果、实际结果、LJ-Request-Id 与时间。',
    'sec.formApp': '测试所用的应用（选填）',
    'sec.noApp': '（不涉及具体应用）',
    'sec.submit': '提交报告',
    'sec.busy': '正在提交…',
    'sec.done': '报告已提交（编号 {id}）。银行安全团队会跟进处理。',
    'sec.mine': '我提交的报告',
    'sec.empty': '您还没有提交过安全缺陷报告。',
    'sec.manual': '开发者手册原文（第 11 节）',
  },
  en: {
    'sec.title': 'Report a security defect',
    'sec.intro': 'If you find a weakness in the gateway, the LJ1 protocol, the SDK or the developer manual (for example a response that should have been rejected, or a way to read another app\'s data), report it privately to the bank here; do not disclose it publicly. Only the bank\'s staff can read reports.',
    'sec.how': 'Before you report',
    'sec.include': 'Include what you did, what you expected, what happened, and the LJ-Request-Id and time of the calls.',
    'sec.never': 'Never include private keys, App_Secrets, user tokens or customers\' personal data.',
    'sec.sandbox': 'Test in the sandbox, not in production. Do not disclose the defect before the bank has fixed it.',
    'sec.form': 'Send a report',
    'sec.formTitle': 'Title',
    'sec.formTitleHint': 'A one-line summary, 3 to 200 characters.',
    'sec.formBody': 'Details',
    'sec.formBodyHint': 'At least 20 characters: what you did, what you expected, what happened, LJ-Request-Id and time.',
    'sec.formApp': 'The app you tested with (optional)',
    'sec.noApp': '(no particular app)',
    'sec.submit': 'Send the report',
    'sec.busy': 'Sending…',
    'sec.done': 'Report sent (number {id}). The bank\'s security team will follow it up.',
    'sec.mine': 'My reports',
    'sec.empty': 'You have not sent any security defect report.',
    'sec.manual': 'The developer manual\'s text (section 11)',
  },
};

export function render({ root, api, describe }) {
  const quote = h('div', {});
  const list = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const formError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const appSelect = h('select', { id: 'sec-app', name: 'app_id' }, h('option', { value: '' }, t('sec.noApp')));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('sec.submit'));
  const form = h('form', { novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const f = form.elements;
    submit.disabled = true;
    submit.textContent = t('sec.busy');
    try {
      const r = await api.post('/security-reports', { title: f.title.value.trim(), body: f.body.value.trim(), app_id: f.app_id.value });
      formError.hidden = true;
      toast(t('sec.done', { id: r.id }));
      form.reset();
      load();
    } catch (err) {
      formError.textContent = describe(err);
      formError.hidden = false;
      if (err.field && f[err.field]) f[err.field].focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t('sec.submit');
    }
  } },
  h('div', { class: 'field' }, h('label', { for: 'sec-title' }, t('sec.formTitle')),
    h('input', { id: 'sec-title', name: 'title', type: 'text', required: true, maxlength: 200, 'aria-describedby': 'sec-title-hint' }),
    h('p', { id: 'sec-title-hint', class: 'hint' }, t('sec.formTitleHint'))),
  h('div', { class: 'field' }, h('label', { for: 'sec-body' }, t('sec.formBody')),
    h('textarea', { id: 'sec-body', name: 'body', rows: 8, required: true, maxlength: 20000, 'aria-describedby': 'sec-body-hint' }),
    h('p', { id: 'sec-body-hint', class: 'hint' }, t('sec.formBodyHint'))),
  h('div', { class: 'field narrow' }, h('label', { for: 'sec-app' }, t('sec.formApp')), appSelect),
  formError, submit);

  root.append(h('h1', {}, t('sec.title')), h('p', {}, t('sec.intro')),
    h('section', { class: 'card', 'aria-labelledby': 'sec-how' }, h('h2', { id: 'sec-how' }, t('sec.how')),
      h('ul', {}, h('li', {}, t('sec.include')), h('li', {}, h('strong', {}, t('sec.never'))), h('li', {}, t('sec.sandbox')))),
    h('section', { class: 'card', 'aria-labelledby': 'sec-form' }, h('h2', { id: 'sec-form' }, t('sec.form')), form),
    h('section', { class: 'card', 'aria-labelledby': 'sec-mine' }, h('h2', { id: 'sec-mine' }, t('sec.mine')), list),
    h('section', { class: 'card', 'aria-labelledby': 'sec-manual' }, h('h2', { id: 'sec-manual' }, t('sec.manual')), quote));

  const load = async () => {
    let mine;
    try { mine = await api.get('/security-reports?limit=100'); } catch (err) {
      clear(list).append(h('p', { class: 'alert alert-error', role: 'alert' }, describe(err))); return;
    }
    clear(list);
    if (mine.items.length === 0) { list.append(h('p', { class: 'empty' }, t('sec.empty'))); return; }
    list.append(h('ul', { class: 'plain' }, mine.items.map((r) => h('li', { class: 'report', 'data-report': r.id },
      h('strong', {}, r.title), h('div', { class: 'small muted' }, fmtTime(r.created), ' · ', h('span', { class: 'mono' }, r.id))))));
  };
  (async () => {
    try {
      const apps = await api.get('/apps?limit=500');
      appSelect.append(...apps.items.map((a) => h('option', { value: a.id }, a.id + ' (' + a.env + ')')));
    } catch { /* optional */ }
  })();
  (async () => {
    try {
      const m = await api.get('/manual');
      const part = m.markdown.split(/\n(?=## )/).find((s) => /^## 11\./.test(s));
      if (part) clear(quote).append(h('div', { lang: 'en', class: 'manual' }, markdown(part.replace(/^## [^\n]*\n/, ''))));
    } catch { /* the guidance above says it all */ }
  })();
  load();
}
