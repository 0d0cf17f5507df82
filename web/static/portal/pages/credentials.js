// An app's credentials: the App_Secret (POST /portal/api/v1/apps/{id}/
// secrets, shown once, never stored by the page), SM2 public keys (POST
// /keys) and client certificates (POST /certificates), pasted as PEM or read
// from a file; the list (never a secret) and revocation after confirming.

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';
import { confirmDialog } from '../../js/dialog.js';

export const strings = {
  'zh-CN': {
    'cred.title': '沙箱凭证',
    'cred.intro': '沙箱应用可调用全部已发布的 API（连接沙箱核心系统，不涉及真实资金）。A1 接口可用 App_Secret（HMAC-SM3）签名；A2 接口须用 SM2 签名，并上传 SM2 加密公钥。',
    'cred.app': '应用',
    'cred.env.sandbox': '沙箱',
    'cred.env.production': '生产',
    'cred.noApps': '您还没有应用。请先在“申请方登记”页登记申请方，沙箱应用会立即创建。',
    'cred.list': '凭证列表',
    'cred.empty': '该应用还没有凭证。请在下方创建 App_Secret 或上传 SM2 公钥。',
    'cred.col.serial': '序列号',
    'cred.col.kind': '类型',
    'cred.col.status': '状态',
    'cred.col.validity': '有效期',
    'cred.col.action': '操作',
    'cred.kind.secret': 'App_Secret',
    'cred.kind.sm2_sign': 'SM2 签名公钥',
    'cred.kind.sm2_enc': 'SM2 加密公钥',
    'cred.kind.client_cert': '客户端证书',
    'cred.status.active': '有效',
    'cred.status.not_yet_valid': '尚未生效',
    'cred.status.expired': '已过期',
    'cred.status.revoked': '已吊销',
    'cred.validity': '{from} 至 {to}',
    'cred.revoke': '吊销',
    'cred.revokeName': '吊销凭证 {serial}',
    'cred.revokeTitle': '确认吊销凭证 {serial}？',
    'cred.revokeBody': '吊销立即生效：使用该凭证签名的调用会被拒绝，且无法恢复。',
    'cred.revokeReason': '原因（选填）',
    'cred.revokeOk': '确认吊销',
    'cred.revoked': '已吊销凭证 {serial}。',
    'cred.secret': 'App_Secret',
    'cred.secretIntro': '创建一个新的 App_Secret（256 位）。它只会显示这一次，银行也无法再次查看；丢失后只能新建一个并吊销旧的。',
    'cred.secretCreate': '创建 App_Secret',
    'cred.secretBusy': '正在创建…',
    'cred.secretShown': '新的 App_Secret（序列号 {serial}）',
    'cred.secretWarn': '请立即复制并妥善保存：关闭本提示或离开本页后将无法再次查看。不要把它写进代码仓库、日志或发给任何人。',
    'cred.copy': '复制',
    'cred.copied': '已复制到剪贴板。',
    'cred.copyFailed': '无法自动复制。请选中上面的文字手动复制。',
    'cred.secretDone': '我已保存，隐藏',
    'cred.key': '上传 SM2 公钥',
    'cred.keyIntro': '私钥始终留在您自己的系统中（可用 lijiang keygen 或 OpenSSL 3 生成），这里只上传公钥。',
    'cred.keyKind': '用途',
    'cred.keyText': '公钥（PEM “PUBLIC KEY” 或 04||X||Y 十六进制）',
    'cred.cert': '上传客户端证书（双向 TLS）',
    'cred.certIntro': '登记后，该应用的每次 TLS 握手都必须出示此证书。',
    'cred.certText': '证书（一个 PEM X.509 证书）',
    'cred.file': '或从文件读取',
    'cred.fileRead': '已读取文件 {name}。',
    'cred.fileTooBig': '文件过大（超过 64 KB），这不像公钥或证书。请检查后重试。',
    'cred.upload': '上传',
    'cred.uploaded': '已上传，序列号 {serial}。',
    'cred.missingPem': '请粘贴 PEM 文本或选择文件。',
  },
  en: {
    'cred.title': 'Sandbox credentials',
    'cred.intro': 'A sandbox app may call every published API (against the sandbox core bank: no real money). A1 APIs accept App_Secret (HMAC-SM3) signatures; A2 APIs need SM2 signatures and an uploaded SM2 encryption key.',
    'cred.app': 'App',
    'cred.env.sandbox': 'sandbox',
    'cred.env.production': 'production',
    'cred.noApps': 'You have no app yet. Register an applicant on the "Applicant" page: its sandbox app is created at once.',
    'cred.list': 'Credentials',
    'cred.empty': 'This app has no credentials yet. Create an App_Secret or upload an SM2 public key below.',
    'cred.col.serial': 'Serial',
    'cred.col.kind': 'Kind',
    'cred.col.status': 'Status',
    'cred.col.validity': 'Valid',
    'cred.col.action': 'Action',
    'cred.kind.secret': 'App_Secret',
    'cred.kind.sm2_sign': 'SM2 signing key',
    'cred.kind.sm2_enc': 'SM2 encryption key',
    'cred.kind.client_cert': 'Client certificate',
    'cred.status.active': 'Active',
    'cred.status.not_yet_valid': 'Not yet valid',
    'cred.status.expired': 'Expired',
    'cred.status.revoked': 'Revoked',
    'cred.validity': '{from} to {to}',
    'cred.revoke': 'Revoke',
    'cred.revokeName': 'Revoke credential {serial}',
    'cred.revokeTitle': 'Revoke credential {serial}?',
    'cred.revokeBody': 'Revocation is immediate: calls signed with it are refused, and it cannot be undone.',
    'cred.revokeReason': 'Reason (optional)',
    'cred.revokeOk': 'Revoke it',
    'cred.revoked': 'Credential {serial} is revoked.',
    'cred.secret': 'App_Secret',
    'cred.secretIntro': 'Create a new App_Secret (256 bits). It is shown this once; not even the bank can show it again. If you lose it, create a new one and revoke the old.',
    'cred.secretCreate': 'Create an App_Secret',
    'cred.secretBusy': 'Creating…',
    'cred.secretShown': 'Your new App_Secret (serial {serial})',
    'cred.secretWarn': 'Copy it now and keep it safe: once you hide this or leave the page it cannot be shown again. Never put it in a code repository or a log, nor send it to anyone.',
    'cred.copy': 'Copy',
    'cred.copied': 'Copied to the clipboard.',
    'cred.copyFailed': 'Could not copy automatically. Select the text above and copy it by hand.',
    'cred.secretDone': 'I have saved it: hide',
    'cred.key': 'Upload an SM2 public key',
    'cred.keyIntro': 'The private key stays on your own systems (make one with lijiang keygen or OpenSSL 3); upload only the public key.',
    'cred.keyKind': 'Use',
    'cred.keyText': 'Public key (PEM "PUBLIC KEY" or hex 04||X||Y)',
    'cred.cert': 'Upload a client certificate (mutual TLS)',
    'cred.certIntro': 'Once registered, every TLS handshake of the app must present it.',
    'cred.certText': 'Certificate (one PEM X.509 certificate)',
    'cred.file': 'Or read it from a file',
    'cred.fileRead': 'Read {name}.',
    'cred.fileTooBig': 'The file is over 64 KB: that is not a public key or certificate. Check it and try again.',
    'cred.upload': 'Upload',
    'cred.uploaded': 'Uploaded, serial {serial}.',
    'cred.missingPem': 'Paste the PEM text or choose a file.',
  },
};

export function render({ root, api, describe, query, go }) {
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  root.append(h('h1', {}, t('cred.title')), h('p', { class: 'muted' }, t('cred.intro')), errorBox, body);
  const fail = (box, err) => { box.textContent = describe(err); box.hidden = false; };
  let secretPanel = null;

  (async () => {
    let apps;
    try { apps = await api.get('/apps?limit=500'); } catch (err) { fail(errorBox, err); clear(body); return; }
    clear(body);
    if (apps.items.length === 0) { body.append(h('p', { class: 'empty' }, t('cred.noApps'))); return; }
    const items = [...apps.items].sort((a, b) => (a.env === b.env ? 0 : a.env === 'sandbox' ? -1 : 1));
    const appID = items.some((a) => a.id === query.get('app')) ? query.get('app') : items[0].id;
    const select = h('select', { id: 'cred-app', name: 'app', onchange: () => go('#/credentials?app=' + encodeURIComponent(select.value)) },
      items.map((a) => h('option', { value: a.id, selected: a.id === appID }, a.id + ' (' + t('cred.env.' + a.env) + ')')));
    const list = h('div', {});
    const listError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const base = '/apps/' + encodeURIComponent(appID);

    const loadList = async () => {
      let creds;
      try { creds = await api.get(base + '/credentials?limit=500'); } catch (err) { fail(listError, err); return; }
      listError.hidden = true;
      clear(list);
      if (creds.items.length === 0) { list.append(h('p', { class: 'empty' }, t('cred.empty'))); return; }
      list.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
        h('thead', {}, h('tr', {}, ['serial', 'kind', 'status', 'validity', 'action'].map((c) => h('th', { scope: 'col' }, t('cred.col.' + c))))),
        h('tbody', {}, creds.items.map((c) => h('tr', { 'data-serial': c.serial },
          h('th', { scope: 'row', class: 'mono' }, c.serial, c.cert_subject ? h('div', { class: 'small muted' }, c.cert_subject) : null),
          h('td', { class: 'nowrap' }, t('cred.kind.' + c.kind)),
          h('td', { class: 'nowrap' }, h('span', { class: 'badge' + (c.status === 'active' ? ' badge-ok' : '') }, t('cred.status.' + c.status))),
          h('td', {}, t('cred.validity', { from: fmtTime(c.not_before), to: fmtTime(c.not_after) })),
          h('td', { class: 'nowrap' }, c.status === 'revoked' ? null : h('button', { type: 'button', class: 'btn btn-danger', 'aria-label': t('cred.revokeName', { serial: c.serial }),
            onclick: async () => {
              const ok = await confirmDialog({ title: t('cred.revokeTitle', { serial: c.serial }), body: t('cred.revokeBody'),
                confirmLabel: t('cred.revokeOk'), danger: true, reasonLabel: t('cred.revokeReason') });
              if (!ok) return;
              try {
                await api.post(base + '/credentials/' + encodeURIComponent(c.id) + '/revoke', { reason: ok.reason });
                toast(t('cred.revoked', { serial: c.serial }));
              } catch (err) { fail(listError, err); }
              loadList();
            } }, t('cred.revoke')))))))));
    };

    // The App_Secret: in this panel only, until the developer hides it.
    const secretError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const secretSlot = h('div', {});
    const createBtn = h('button', { type: 'button', class: 'btn btn-primary', onclick: async () => {
      createBtn.disabled = true;
      createBtn.textContent = t('cred.secretBusy');
      try {
        const r = await api.post(base + '/secrets', {});
        secretError.hidden = true;
        showSecret(r.credential.serial, r.app_secret);
        loadList();
      } catch (err) { fail(secretError, err); } finally {
        createBtn.disabled = false;
        createBtn.textContent = t('cred.secretCreate');
      }
    } }, t('cred.secretCreate'));
    const showSecret = (serial, secret) => {
      const value = h('code', { id: 'cred-secret-value', class: 'secret-value mono', 'data-testid': 'app-secret' }, secret);
      secretPanel = h('div', { class: 'alert alert-warn secret-panel', role: 'alert' },
        h('h3', {}, t('cred.secretShown', { serial })),
        h('p', {}, h('strong', {}, t('cred.secretWarn'))),
        h('div', { class: 'secret-row' }, value,
          h('button', { type: 'button', class: 'btn', 'aria-describedby': 'cred-secret-value', onclick: async () => {
            try { await navigator.clipboard.writeText(secret); toast(t('cred.copied')); } catch { toast(t('cred.copyFailed'), 'error'); }
          } }, t('cred.copy'))),
        h('button', { type: 'button', class: 'btn', onclick: () => { hideSecret(); createBtn.focus(); } }, t('cred.secretDone')));
      clear(secretSlot).append(secretPanel);
      secretPanel.querySelector('button').focus();
    };
    const hideSecret = () => { if (secretPanel) { secretPanel.remove(); secretPanel = null; } };

    // PEM text from a text area or a file (FileReader).
    const pemField = (id, labelKey) => {
      const area = h('textarea', { id, name: 'pem', rows: 6, class: 'mono', spellcheck: 'false', placeholder: '-----BEGIN …-----' });
      const status = h('p', { class: 'hint', 'aria-live': 'polite' });
      const file = h('input', { id: id + '-file', type: 'file', accept: '.pem,.crt,.cer,.pub,.txt', onchange: () => {
        const f = file.files[0];
        if (!f) return;
        if (f.size > 65536) { status.textContent = t('cred.fileTooBig'); return; }
        const rd = new FileReader();
        rd.onload = () => { area.value = String(rd.result); status.textContent = t('cred.fileRead', { name: f.name }); };
        rd.readAsText(f);
      } });
      return { area, node: h('div', {},
        h('div', { class: 'field' }, h('label', { for: id }, t(labelKey)), area),
        h('div', { class: 'field' }, h('label', { for: id + '-file' }, t('cred.file')), file, status)) };
    };
    const uploadForm = (idp, path, extra, makeBody) => {
      const pem = pemField(idp + '-pem', idp === 'key' ? 'cred.keyText' : 'cred.certText');
      const err = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
      const form = h('form', { novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        if (!pem.area.value.trim()) { err.textContent = t('cred.missingPem'); err.hidden = false; pem.area.focus(); return; }
        try {
          const c = await api.post(base + path, makeBody(form, pem.area.value.trim()));
          err.hidden = true;
          toast(t('cred.uploaded', { serial: c.serial }));
          form.reset();
          loadList();
        } catch (e2) { fail(err, e2); }
      } }, extra, pem.node, err, h('button', { type: 'submit', class: 'btn btn-primary' }, t('cred.upload')));
      return form;
    };
    const keyForm = uploadForm('key', '/keys',
      h('div', { class: 'field' }, h('label', { for: 'key-kind' }, t('cred.keyKind')),
        h('select', { id: 'key-kind', name: 'kind' }, h('option', { value: 'sm2_sign' }, t('cred.kind.sm2_sign')), h('option', { value: 'sm2_enc' }, t('cred.kind.sm2_enc')))),
      (form, pem) => ({ kind: form.elements.kind.value, public_key: pem }));
    const certForm = uploadForm('cert', '/certificates', null, (form, pem) => ({ certificate: pem }));

    body.append(
      h('div', { class: 'field narrow' }, h('label', { for: 'cred-app' }, t('cred.app')), select),
      h('section', { class: 'card', 'aria-labelledby': 'cred-secret' }, h('h2', { id: 'cred-secret' }, t('cred.secret')),
        h('p', { class: 'muted' }, t('cred.secretIntro')), secretError, secretSlot, createBtn),
      h('section', { class: 'card', 'aria-labelledby': 'cred-list' }, h('h2', { id: 'cred-list' }, t('cred.list')), listError, list),
      h('div', { class: 'grid-2' },
        h('section', { class: 'card', 'aria-labelledby': 'cred-key' }, h('h2', { id: 'cred-key' }, t('cred.key')), h('p', { class: 'muted' }, t('cred.keyIntro')), keyForm),
        h('section', { class: 'card', 'aria-labelledby': 'cred-cert' }, h('h2', { id: 'cred-cert' }, t('cred.cert')), h('p', { class: 'muted' }, t('cred.certIntro')), certForm)));
    loadList();
  })();
  // Leaving the page forgets the secret: it lived in this page's DOM only.
  return () => { hideSecret(); };
}
