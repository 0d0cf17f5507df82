// The applicant: the organisation a developer registers (POST
// /portal/api/v1/applicants), which the bank reviews; its sandbox app is
// created at once. Lists my applicants with their status and sandbox app.

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';
import { PORTAL_API } from '../../js/api.js';
import { confirmDialog } from '../../js/dialog.js';
import { documentsTable, DOC_KINDS, DOC_TYPES, DOC_MAX_BYTES } from '../../js/documents.js';

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
    'apl.documentsHint': '登记后，请在本页上方“资质文件”中上传营业执照、法定代表人授权书等文件，供银行审核。',
    'apl.docs.title': '资质文件 · {name}',
    'apl.docs.intro': '银行审核生产接入申请时查阅这些文件。仅接受 PDF、PNG 或 JPEG，每个不超过 2 MB，最多 20 个。',
    'apl.docs.kind': '文件类型',
    'apl.docs.file': '选择文件',
    'apl.docs.upload': '上传',
    'apl.docs.busy': '正在上传…',
    'apl.docs.uploaded': '已上传 {name}。',
    'apl.docs.noFile': '请先选择要上传的文件。',
    'apl.docs.tooLarge': '文件超过 2 MB：请压缩或分成几个文件后再上传。',
    'apl.docs.badType': '只接受 PDF、PNG 或 JPEG 文件：请转换格式后再上传。',
    'apl.docs.empty': '尚未上传文件。请上传营业执照和授权书，银行审核时需要查阅。',
    'apl.docs.removeTitle': '删除文件',
    'apl.docs.removeBody': '删除 {name}？银行将无法再查阅它。',
    'apl.docs.removed': '已删除 {name}。',
    'apl.docs.keep': '申请方已获批准：银行保留审核时所依据的文件，不能删除；如有更新，请上传新文件。',
    'apl.docs.exited': '申请方已退出，不能再上传文件。',
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
    'apl.documentsHint': 'Once registered, upload the business licence, the legal representative\'s authorisation and other documents under "Documents" above, for the bank\'s review.',
    'apl.docs.title': 'Documents · {name}',
    'apl.docs.intro': 'The bank reads these documents when it reviews a production request. PDF, PNG or JPEG only, at most 2 MB each, up to 20.',
    'apl.docs.kind': 'Kind of document',
    'apl.docs.file': 'File',
    'apl.docs.upload': 'Upload',
    'apl.docs.busy': 'Uploading…',
    'apl.docs.uploaded': '{name} is uploaded.',
    'apl.docs.noFile': 'Choose the file to upload first.',
    'apl.docs.tooLarge': 'The file is larger than 2 MB: compress it or split it into several files, then upload again.',
    'apl.docs.badType': 'Only PDF, PNG or JPEG files are taken: convert the file, then upload again.',
    'apl.docs.empty': 'No document uploaded yet. Upload the business licence and the authorisation letter: the bank reads them in its review.',
    'apl.docs.removeTitle': 'Remove document',
    'apl.docs.removeBody': 'Remove {name}? The bank will no longer be able to read it.',
    'apl.docs.removed': '{name} is removed.',
    'apl.docs.keep': 'The applicant is approved: the bank keeps the documents it reviewed, so they cannot be removed; upload a new file for any update.',
    'apl.docs.exited': 'The applicant has exited: no more documents can be uploaded.',
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
  const docCards = h('div', {});
  root.append(h('h1', {}, t('apl.title')), h('p', { class: 'muted' }, t('apl.intro')),
    h('section', { class: 'card', 'aria-labelledby': 'apl-mine' }, h('h2', { id: 'apl-mine' }, t('apl.mine')), errorBox, list),
    docCards, formCard);
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
    clear(docCards).append(...apls.items.map(documentsCard));
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

  // documentsCard: one applicant's documents, their upload and removal.
  function documentsCard(a) {
    const base = '/applicants/' + encodeURIComponent(a.id) + '/documents';
    const hid = 'apl-docs-' + a.id;
    const box = h('div', {}, h('p', { class: 'loading' }, t('loading')));
    const docError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const kept = ['approved', 'suspended', 'exited'].includes(a.status);
    const reload = async () => {
      let docs;
      try { docs = await api.get(base + '?limit=50'); } catch (err) { fail(docError, err); clear(box); return; }
      clear(box).append(documentsTable(docs.items, {
        base: PORTAL_API, path: (d) => base + '/' + encodeURIComponent(d.id), empty: t('apl.docs.empty'),
        onError: (err) => fail(docError, err), removeWhy: kept ? t('apl.docs.keep') : null, onRemove: remove,
      }));
    };
    const remove = async (d) => {
      const ok = await confirmDialog({ title: t('apl.docs.removeTitle'), body: t('apl.docs.removeBody', { name: d.file_name }), confirmLabel: t('doc.remove'), danger: true });
      if (!ok) return;
      try { await api.del(base + '/' + encodeURIComponent(d.id)); } catch (err) { fail(docError, err); return; }
      docError.hidden = true;
      toast(t('apl.docs.removed', { name: d.file_name }));
      reload();
    };
    const kindID = hid + '-kind';
    const fileID = hid + '-file';
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', disabled: a.status === 'exited', title: a.status === 'exited' ? t('apl.docs.exited') : null }, t('apl.docs.upload'));
    const kind = h('select', { id: kindID, name: 'kind' }, DOC_KINDS.map((k) => h('option', { value: k }, t('doc.kind.' + k))));
    const file = h('input', { id: fileID, name: 'file', type: 'file', accept: DOC_TYPES.join(',') + ',.pdf,.png,.jpg,.jpeg', 'aria-describedby': fileID + '-hint' });
    const upload = async (e) => {
      e.preventDefault();
      const f = file.files[0];
      const local = !f ? 'apl.docs.noFile' : f.size > DOC_MAX_BYTES ? 'apl.docs.tooLarge' : !DOC_TYPES.includes(f.type) ? 'apl.docs.badType' : null;
      if (local) { docError.textContent = t(local); docError.hidden = false; file.focus(); return; }
      submit.disabled = true;
      submit.textContent = t('apl.docs.busy');
      try {
        const content = await new Promise((resolve, reject) => {
          const r = new FileReader();
          r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
          r.onerror = () => reject(r.error);
          r.readAsDataURL(f);
        });
        const d = await api.post(base, { kind: kind.value, file_name: f.name, media_type: f.type, content });
        docError.hidden = true;
        toast(t('apl.docs.uploaded', { name: d.file_name }));
        form.reset();
        reload();
      } catch (err) {
        fail(docError, err);
      } finally {
        submit.disabled = false;
        submit.textContent = t('apl.docs.upload');
      }
    };
    const form = h('form', { class: 'inline-form', novalidate: true, onsubmit: upload },
      h('div', { class: 'field' }, h('label', { for: kindID }, t('apl.docs.kind')), kind),
      h('div', { class: 'field' }, h('label', { for: fileID }, t('apl.docs.file')), file),
      h('div', { class: 'field' }, submit));
    reload();
    return h('section', { class: 'card', 'aria-labelledby': hid, 'data-documents': a.id },
      h('h2', { id: hid }, t('apl.docs.title', { name: a.name })), h('p', { class: 'muted', id: fileID + '-hint' }, t('apl.docs.intro')),
      docError, box, a.status === 'exited' ? h('p', { class: 'hint' }, t('apl.docs.exited')) : form);
  }
  load();
}
