// The applicant: the organisation a developer registers (POST
// /portal/api/v1/applicants), which the bank reviews; its sandbox app is
// created at once. Lists my applicants with their status and sandbox app.

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';

export const strings = {
  'zh-CN': {
    'apl.title': '申请方登记',
    'apl.intro': '申请方是接入银行开放 API 的机构。登记后立即获得一个沙箱应用，可用于联调；生产接入需银行审核。',
    'apl.mine': '我的申请方',
    'apl.empty': '您还没有登记申请方。请填写下方表单登记您的机构。',
    'apl.register': '登记申请方',
    'apl.registerAnother': '再登记一个申请方',
    'apl.name': '机构名称',
    'apl.nameHint': '营业执照上的全称，2 至 200 个字符。',
    'apl.uscc': '统一社会信用代码',
    'apl.usccHint': '18 位，含校验位；登记后不可更改。',
    'apl.contact_name': '联系人姓名',
    'apl.contact_email': '联系人电子邮箱',
    'apl.contact_phone': '联系人手机号',
    'apl.contact_phoneHint': '中国大陆手机号，可带 +86。',
    'apl.callback_url': '通知回调地址',
    'apl.callback_urlHint': 'https:// 地址，用于接收 API 变更等通知（webhook）。',
    'apl.redirect_uris': 'OAuth 回调地址（选填）',
    'apl.redirect_urisHint': '每行一个 https:// 地址，不含 #片段。',
    'apl.ip_allow': 'IP 白名单（选填）',
    'apl.ip_allowHint': '每行一个地址或 CIDR 前缀；留空表示不限制来源地址。',
    'apl.documents': '资质文件',
    'apl.documentsHint': '营业执照、法定代表人授权书等资质文件请按服务协议约定的方式提交给银行审核人员；门户目前不接收文件上传。',
    'apl.submit': '登记',
    'apl.busy': '正在登记…',
    'apl.done': '已登记 {name}。沙箱应用 {app} 已创建，可前往“沙箱凭证”获取 App_Secret。',
    'apl.col.name': '机构',
    'apl.col.status': '状态',
    'apl.col.contact': '联系人',
    'apl.col.created': '登记时间',
    'apl.col.next': '下一步',
    'apl.status.registered': '已登记',
    'apl.status.sandbox': '沙箱联调中',
    'apl.status.pending_review': '生产接入审核中',
    'apl.status.approved': '已批准',
    'apl.status.rejected': '已拒绝',
    'apl.status.suspended': '已暂停',
    'apl.status.exited': '已退出',
    'apl.toCredentials': '获取沙箱凭证',
    'apl.toProduction': '申请生产接入',
  },
  en: {
    'apl.title': 'Applicant',
    'apl.intro': 'An applicant is the organisation that uses the bank\'s open APIs. Once registered it has a sandbox app at once, for testing; production access is reviewed by the bank.',
    'apl.mine': 'My applicants',
    'apl.empty': 'You have not registered an applicant yet. Fill in the form below to register your organisation.',
    'apl.register': 'Register an applicant',
    'apl.registerAnother': 'Register another applicant',
    'apl.name': 'Organisation name',
    'apl.nameHint': 'The full name on the business licence, 2 to 200 characters.',
    'apl.uscc': 'Unified social credit code',
    'apl.usccHint': '18 characters, check character included; it cannot change later.',
    'apl.contact_name': 'Contact name',
    'apl.contact_email': 'Contact e-mail',
    'apl.contact_phone': 'Contact mobile number',
    'apl.contact_phoneHint': 'A mainland China mobile number, +86 optional.',
    'apl.callback_url': 'Notice callback URL',
    'apl.callback_urlHint': 'An https:// URL receiving notices such as API changes (webhooks).',
    'apl.redirect_uris': 'OAuth redirect URIs (optional)',
    'apl.redirect_urisHint': 'One https:// URI a line, without a #fragment.',
    'apl.ip_allow': 'IP allow-list (optional)',
    'apl.ip_allowHint': 'One address or CIDR prefix a line; empty allows any address.',
    'apl.documents': 'Documents',
    'apl.documentsHint': 'Send the business licence, the legal representative\'s authorisation and other documents to the bank\'s reviewers as the agreement says; the portal does not take file uploads yet.',
    'apl.submit': 'Register',
    'apl.busy': 'Registering…',
    'apl.done': '{name} is registered. Its sandbox app {app} is ready: get its App_Secret under "Sandbox credentials".',
    'apl.col.name': 'Organisation',
    'apl.col.status': 'Status',
    'apl.col.contact': 'Contact',
    'apl.col.created': 'Registered',
    'apl.col.next': 'Next',
    'apl.status.registered': 'Registered',
    'apl.status.sandbox': 'Sandbox',
    'apl.status.pending_review': 'Production access under review',
    'apl.status.approved': 'Approved',
    'apl.status.rejected': 'Rejected',
    'apl.status.suspended': 'Suspended',
    'apl.status.exited': 'Exited',
    'apl.toCredentials': 'Get sandbox credentials',
    'apl.toProduction': 'Ask for production access',
  },
};

const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);

export function render({ root, me, api, describe, go }) {
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const list = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const formCard = h('section', { class: 'card', 'aria-labelledby': 'apl-register' });
  root.append(h('h1', {}, t('apl.title')), h('p', { class: 'muted' }, t('apl.intro')),
    h('section', { class: 'card', 'aria-labelledby': 'apl-mine' }, h('h2', { id: 'apl-mine' }, t('apl.mine')), errorBox, list),
    formCard);
  const fail = (box, err) => { box.textContent = describe(err); box.hidden = false; };

  const field = (name, type = 'text', extra = {}, hint = true) => {
    const id = 'apl-' + name;
    const input = type === 'textarea'
      ? h('textarea', { id, name, rows: 3, 'aria-describedby': id + '-hint', ...extra })
      : h('input', { id, name, type, 'aria-describedby': hint ? id + '-hint' : null, ...extra });
    return h('div', { class: 'field' }, h('label', { for: id }, t('apl.' + name)), input,
      hint ? h('p', { id: id + '-hint', class: 'hint' }, t('apl.' + name + 'Hint')) : null);
  };

  const drawForm = (first) => {
    const formError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('apl.submit'));
    const form = h('form', { novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const f = form.elements;
      const body = {
        name: f.name.value.trim(), uscc: f.uscc.value.trim().toUpperCase(), contact_name: f.contact_name.value.trim(),
        contact_email: f.contact_email.value.trim(), contact_phone: f.contact_phone.value.trim(), callback_url: f.callback_url.value.trim(),
        redirect_uris: lines(f.redirect_uris.value), ip_allow: lines(f.ip_allow.value),
      };
      submit.disabled = true;
      submit.textContent = t('apl.busy');
      try {
        const r = await api.post('/applicants', body);
        formError.hidden = true;
        toast(t('apl.done', { name: r.applicant.name, app: r.sandbox_app.id }));
        form.reset();
        load();
      } catch (err) {
        fail(formError, err);
        if (err.field && f[err.field.split(/[.[]/)[0]]) f[err.field.split(/[.[]/)[0]].focus();
      } finally {
        submit.disabled = false;
        submit.textContent = t('apl.submit');
      }
    } },
    field('name', 'text', { required: true, maxlength: 200, autocomplete: 'organization' }),
    field('uscc', 'text', { required: true, maxlength: 18, class: 'mono', autocomplete: 'off' }),
    field('contact_name', 'text', { required: true, maxlength: 100, autocomplete: 'name' }, false),
    field('contact_email', 'email', { required: true, maxlength: 254, value: me.email, autocomplete: 'email' }, false),
    field('contact_phone', 'tel', { required: true, maxlength: 20, autocomplete: 'tel' }),
    field('callback_url', 'url', { required: true, maxlength: 2000, placeholder: 'https://' }),
    field('redirect_uris', 'textarea', { class: 'mono' }),
    field('ip_allow', 'textarea', { class: 'mono' }),
    h('div', { class: 'field' }, h('h3', {}, t('apl.documents')), h('p', { class: 'hint' }, t('apl.documentsHint'))),
    formError, submit);
    const title = first ? t('apl.register') : t('apl.registerAnother');
    clear(formCard).append(first
      ? h('div', {}, h('h2', { id: 'apl-register' }, title), form)
      : h('details', {}, h('summary', { id: 'apl-register' }, title), form));
  };

  const load = async () => {
    let apls, apps;
    try {
      [apls, apps] = await Promise.all([api.get('/applicants?limit=500'), api.get('/apps?env=sandbox&limit=500')]);
    } catch (err) { fail(errorBox, err); clear(list); return; }
    errorBox.hidden = true;
    clear(list);
    drawForm(apls.items.length === 0);
    if (apls.items.length === 0) { list.append(h('p', { class: 'empty' }, t('apl.empty'))); return; }
    const sandbox = new Map(apps.items.map((a) => [a.applicant_id, a.id]));
    list.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['name', 'status', 'contact', 'created', 'next'].map((c) => h('th', { scope: 'col' }, t('apl.col.' + c))))),
      h('tbody', {}, apls.items.map((a) => h('tr', { 'data-applicant': a.id },
        h('th', { scope: 'row' }, h('div', {}, a.name), h('div', { class: 'small muted mono' }, a.uscc)),
        h('td', { class: 'nowrap' }, h('span', { class: 'badge' + (a.status === 'approved' ? ' badge-ok' : '') }, t('apl.status.' + a.status)),
          a.status_reason ? h('div', { class: 'small muted' }, a.status_reason) : null),
        h('td', {}, h('div', {}, a.contact_name), h('div', { class: 'small muted' }, a.contact_email)),
        h('td', { class: 'nowrap' }, fmtTime(a.created_at)),
        h('td', { class: 'nowrap' },
          sandbox.get(a.id) ? h('button', { type: 'button', class: 'btn', onclick: () => go('#/credentials?app=' + encodeURIComponent(sandbox.get(a.id))) }, t('apl.toCredentials')) : null,
          ' ', h('button', { type: 'button', class: 'btn', onclick: () => go('#/agreement?applicant=' + encodeURIComponent(a.id)) }, t('apl.toProduction')))))))));
  };
  load();
}
