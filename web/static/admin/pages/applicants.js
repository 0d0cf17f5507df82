// Applicants and apps (申请方与应用): the applicants (GET /applicants, with
// name, USCC and status filters), one applicant's details, agreement
// acceptance (its production requests) and apps (GET /apps?applicant_id),
// each app's credentials (GET /apps/{id}/credentials: kind, serial,
// validity, state; "expiring soon" within 30 days) and grants (GET
// /apps/{id}/grants). A grant to a production app is maker-checker: a
// reviewer or operator proposes it (PUT /apps/{id}/grants/{api}: 202 with a
// grant proposal) and another reviewer approves or rejects it on the
// review page (pages/review.js).

import { h, clear, toast } from '../../js/dom.js';
import { t, lang, fmtTime } from '../../js/i18n.js';
import { who, decisionDialog, strings as reviewStrings } from './review.js';
import { ADMIN_API } from '../../js/api.js';
import { documentsTable } from '../../js/documents.js';

const SOON_DAYS = 30;

const own = {
  'zh-CN': {
    'apl.title': '申请方与应用',
    'apl.intro': '接入的第三方机构（申请方）、它们的应用、凭证和 API 授权。',
    'apl.search': '查找申请方',
    'apl.f.name': '名称包含',
    'apl.f.uscc': '统一社会信用代码',
    'apl.f.status': '状态',
    'apl.f.any': '全部',
    'apl.find': '查找',
    'apl.col.name': '申请方',
    'apl.col.status': '状态',
    'apl.col.contact': '联系人',
    'apl.col.created': '注册时间',
    'apl.col.action': '操作',
    'apl.open': '查看',
    'apl.openName': '查看申请方 {name}',
    'apl.empty': '没有符合条件的申请方。请放宽条件后再查找；申请方由开发者在开发者门户注册。',
    'apl.st.sandbox': '沙箱',
    'apl.st.pending_review': '待审核',
    'apl.st.approved': '已投产',
    'apl.st.rejected': '已驳回',
    'apl.st.suspended': '已暂停',
    'apl.st.exited': '已退出',
    'apl.st.registered': '已注册',
    'apl.back': '← 返回申请方列表',
    'apl.details': '资料',
    'apl.d.uscc': '统一社会信用代码',
    'apl.d.status': '状态',
    'apl.d.reason': '状态说明',
    'apl.d.contact': '联系人',
    'apl.d.callback': '通知回调地址',
    'apl.d.redirect': 'OAuth 回调地址',
    'apl.d.ip': 'IP 白名单',
    'apl.d.any': '不限',
    'apl.d.none': '无',
    'apl.d.created': '注册',
    'apl.agreement': '服务协议与投产申请',
    'apl.ag.line': '版本 {v}（SM3 {sm3}…），{at} 接受',
    'apl.ag.none': '尚未提交投产申请，因此还没有接受服务协议。',
    'apl.ag.open': '查看申请',
    'apl.apps': '应用',
    'apl.noApps': '该申请方还没有应用。',
    'apl.env.sandbox': '沙箱',
    'apl.env.production': '生产',
    'apl.app': '应用 {id}',
    'apl.appMeta': '{env} · {status} · 创建于 {at}',
    'apl.creds': '凭证',
    'apl.noCreds': '该应用还没有凭证：申请方的开发者在开发者门户创建 App_Secret 或上传 SM2 公钥、证书。',
    'apl.c.kind': '类型',
    'apl.c.serial': '序号',
    'apl.c.valid': '有效期',
    'apl.c.state': '状态',
    'apl.c.validRange': '{from} 至 {to}',
    'apl.kind.secret': 'App_Secret',
    'apl.kind.sm2_sign': 'SM2 签名公钥',
    'apl.kind.sm2_enc': 'SM2 加密公钥',
    'apl.kind.certificate': '客户端证书',
    'apl.cs.active': '有效',
    'apl.cs.not_yet_valid': '尚未生效',
    'apl.cs.expired': '已过期',
    'apl.cs.revoked': '已吊销',
    'apl.soon': '{n} 天后到期',
    'apl.soonTitle': '{days} 天内到期：请提醒申请方及时更换凭证。',
    'apl.as.active': '启用',
    'apl.as.suspended': '已暂停',
    'apl.as.exited': '已退出',
    'apl.as.revoked': '已停用',
    'apl.grants': 'API 授权',
    'apl.sandboxAll': '沙箱应用可调用所有已发布的 API（访问沙箱核心系统），无需逐个授权。',
    'apl.noGrants': '该应用还没有 API 授权。',
    'apl.g.api': 'API',
    'apl.g.by': '授权人',
    'apl.g.at': '授权时间',
    'apl.pending': '待复核的授权提议',
    'apl.pendingLine': '{api}：{by} 于 {at} 提议，须由另一位审核人员在“申请方审核”中批准',
    'apl.propose': '提议新增授权',
    'apl.proposeHint': '对生产应用的授权须两人完成：您提议后，由另一位审核人员批准。',
    'apl.f.api': 'API',
    'apl.proposeBtn': '提议授权',
    'apl.proposed': '已提议授权 {api}：等待另一位审核人员批准。',
    'apl.noMoreApis': '所有已发布的 API 都已授权或已在提议中。',
    'apl.mayNotPropose': '只有审核人员或运维人员可以提议授权。',
    'apl.proposeTitle': '提议授权？',
    'apl.proposeBody': '提议授予应用 {app} API {api}。生效前须由另一位审核人员批准。',
    'apl.proposeReason': '说明（选填）',
  },
  en: {
    'apl.title': 'Applicants and apps',
    'apl.intro': 'The third parties connected (applicants), their apps, credentials and API grants.',
    'apl.search': 'Find applicants',
    'apl.f.name': 'Name contains',
    'apl.f.uscc': 'Unified social credit code',
    'apl.f.status': 'Status',
    'apl.f.any': 'Any',
    'apl.find': 'Find',
    'apl.col.name': 'Applicant',
    'apl.col.status': 'Status',
    'apl.col.contact': 'Contact',
    'apl.col.created': 'Registered',
    'apl.col.action': 'Action',
    'apl.open': 'Open',
    'apl.openName': 'Open applicant {name}',
    'apl.empty': 'No applicant matches. Widen the search; developers register applicants in the developer portal.',
    'apl.st.sandbox': 'Sandbox',
    'apl.st.pending_review': 'Pending review',
    'apl.st.approved': 'In production',
    'apl.st.rejected': 'Rejected',
    'apl.st.suspended': 'Suspended',
    'apl.st.exited': 'Exited',
    'apl.st.registered': 'Registered',
    'apl.back': '← Back to the applicants',
    'apl.details': 'Details',
    'apl.d.uscc': 'Unified social credit code',
    'apl.d.status': 'Status',
    'apl.d.reason': 'Status note',
    'apl.d.contact': 'Contact',
    'apl.d.callback': 'Notice callback URL',
    'apl.d.redirect': 'OAuth redirect URIs',
    'apl.d.ip': 'IP allow-list',
    'apl.d.any': 'any',
    'apl.d.none': 'none',
    'apl.d.created': 'Registered',
    'apl.agreement': 'Agreement and production requests',
    'apl.ag.line': 'version {v} (SM3 {sm3}…), accepted {at}',
    'apl.ag.none': 'No production request yet, so no agreement accepted yet.',
    'apl.ag.open': 'Open the request',
    'apl.apps': 'Apps',
    'apl.noApps': 'This applicant has no app yet.',
    'apl.env.sandbox': 'Sandbox',
    'apl.env.production': 'Production',
    'apl.app': 'App {id}',
    'apl.appMeta': '{env} · {status} · created {at}',
    'apl.creds': 'Credentials',
    'apl.noCreds': 'This app has no credential yet: the applicant\'s developer creates an App_Secret or uploads SM2 keys or a certificate in the developer portal.',
    'apl.c.kind': 'Kind',
    'apl.c.serial': 'Serial',
    'apl.c.valid': 'Valid',
    'apl.c.state': 'State',
    'apl.c.validRange': '{from} to {to}',
    'apl.kind.secret': 'App_Secret',
    'apl.kind.sm2_sign': 'SM2 signing key',
    'apl.kind.sm2_enc': 'SM2 encryption key',
    'apl.kind.certificate': 'Client certificate',
    'apl.cs.active': 'Active',
    'apl.cs.not_yet_valid': 'Not yet valid',
    'apl.cs.expired': 'Expired',
    'apl.cs.revoked': 'Revoked',
    'apl.soon': 'expires in {n} days',
    'apl.soonTitle': 'Expires within {days} days: remind the applicant to replace it.',
    'apl.as.active': 'active',
    'apl.as.suspended': 'suspended',
    'apl.as.exited': 'exited',
    'apl.as.revoked': 'revoked',
    'apl.grants': 'API grants',
    'apl.sandboxAll': 'A sandbox app may call every published API (against the sandbox core bank) without grants.',
    'apl.noGrants': 'This app has no API grant yet.',
    'apl.g.api': 'API',
    'apl.g.by': 'Granted by',
    'apl.g.at': 'Granted',
    'apl.pending': 'Grant proposals waiting',
    'apl.pendingLine': '{api}: proposed by {by} at {at}; another reviewer must approve it under Applicant review',
    'apl.propose': 'Propose a grant',
    'apl.proposeHint': 'A grant to a production app takes two people: you propose, another reviewer approves.',
    'apl.f.api': 'API',
    'apl.proposeBtn': 'Propose the grant',
    'apl.proposed': 'Grant of {api} proposed: waiting for another reviewer.',
    'apl.noMoreApis': 'Every published API is granted or proposed already.',
    'apl.mayNotPropose': 'Only reviewers and operators propose grants.',
    'apl.proposeTitle': 'Propose the grant?',
    'apl.proposeBody': 'Propose granting app {app} API {api}. Another reviewer must approve it before it takes effect.',
    'apl.proposeReason': 'Note (optional)',
  },
};

// strings: this page's and the review page's (who() and decisionDialog() use them).
export const strings = {
  'zh-CN': { ...reviewStrings['zh-CN'], ...own['zh-CN'] },
  en: { ...reviewStrings.en, ...own.en },
};

const colon = () => (lang() === 'en' ? ': ' : '：');
const STATUSES = ['sandbox', 'pending_review', 'approved', 'rejected', 'suspended', 'exited'];

export function render({ root, me, api, describe }) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const fail = (err) => { errorBox.textContent = describe(err); errorBox.hidden = false; };
  const stBadge = (s) => h('span', { class: 'badge ' + (s === 'approved' ? 'badge-ok' : s === 'suspended' || s === 'exited' || s === 'rejected' ? 'badge-paused' : s === 'pending_review' ? 'badge-warn' : ''), 'data-status': s }, t('apl.st.' + s));
  root.append(h('h1', {}, t('apl.title')), h('p', { class: 'muted' }, t('apl.intro')), errorBox);
  const id = params.get('id');
  if (id) detail(id); else list();

  function list() {
    const name = h('input', { id: 'apl-name', name: 'name', type: 'text', maxlength: 200, value: params.get('name') || '' });
    const uscc = h('input', { id: 'apl-uscc', name: 'uscc', maxlength: 18, class: 'mono', value: params.get('uscc') || '' });
    const status = h('select', { id: 'apl-status', name: 'status' }, h('option', { value: '' }, t('apl.f.any')), STATUSES.map((s) => h('option', { value: s }, t('apl.st.' + s))));
    status.value = params.get('status') || '';
    const body = h('div', { 'data-testid': 'apl-list' }, h('p', { class: 'loading' }, t('loading')));
    const form = h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); load(); } },
      h('div', { class: 'field' }, h('label', { for: 'apl-name' }, t('apl.f.name')), name),
      h('div', { class: 'field' }, h('label', { for: 'apl-uscc' }, t('apl.f.uscc')), uscc),
      h('div', { class: 'field' }, h('label', { for: 'apl-status' }, t('apl.f.status')), status),
      h('div', { class: 'field apl-find' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('apl.find'))));
    root.append(h('section', { class: 'card', 'aria-labelledby': 'apl-h' }, h('h2', { id: 'apl-h' }, t('apl.search')), form, body));
    async function load() {
      const q = new URLSearchParams({ limit: '200' });
      if (name.value.trim()) q.set('name', name.value.trim());
      if (uscc.value.trim()) q.set('uscc', uscc.value.trim().toUpperCase());
      if (status.value) q.set('status', status.value);
      let res;
      try { res = await api.get('/applicants?' + q); } catch (err) { fail(err); clear(body); return; }
      errorBox.hidden = true;
      const items = res.items || [];
      clear(body);
      if (!items.length) { body.append(h('p', { class: 'empty' }, t('apl.empty'))); return; }
      const nl = (k) => h('span', { class: 'narrow-label' }, t(k) + colon());
      body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
        h('thead', {}, h('tr', {}, ['name', 'status', 'contact', 'created', 'action'].map((c) => h('th', { scope: 'col' }, t('apl.col.' + c))))),
        h('tbody', {}, items.map((a) => h('tr', { 'data-applicant': a.id },
          h('th', { scope: 'row', class: 'wide' }, a.name, h('div', { class: 'small muted mono' }, a.uscc)),
          h('td', { class: 'nowrap' }, stBadge(a.status)),
          h('td', { class: 'small' }, nl('apl.col.contact'), a.contact_name + ' · ' + a.contact_email),
          h('td', { class: 'nowrap small' }, nl('apl.col.created'), fmtTime(a.created_at)),
          h('td', { class: 'nowrap' }, h('a', { class: 'btn', href: '#/applicants?id=' + encodeURIComponent(a.id), 'aria-label': t('apl.openName', { name: a.name }) }, t('apl.open')))))))));
    }
    load();
  }

  async function detail(aplID) {
    const box = h('div', { 'data-testid': 'apl-detail' }, h('p', { class: 'loading' }, t('loading')));
    root.append(h('p', {}, h('a', { href: '#/applicants' }, t('apl.back'))), box);
    let a, apps, reqs, apis, proposals, docs;
    try {
      [a, apps, reqs, apis, proposals, docs] = await Promise.all([
        api.get('/applicants/' + encodeURIComponent(aplID)),
        api.get('/apps?limit=200&applicant_id=' + encodeURIComponent(aplID)),
        api.get('/production-requests?limit=200&applicant_id=' + encodeURIComponent(aplID)),
        api.get('/apis?status=published&limit=500'),
        api.get('/grant-proposals?status=pending&limit=500'),
        api.get('/applicants/' + encodeURIComponent(aplID) + '/documents?limit=50')]);
    } catch (err) { fail(err); clear(box); return; }
    const names = new Map((apis.items || []).map((x) => [x.id, x.name + ' (' + x.method + ' ' + x.path + ')']));
    const fact = (k, v) => [h('dt', {}, t(k)), h('dd', {}, v === '' || v === null || v === undefined ? h('span', { class: 'muted' }, t('apl.d.none')) : v)];
    const ul = (xs, none) => (xs && xs.length ? h('ul', { class: 'plain-list' }, xs.map((x) => h('li', { class: 'mono' }, x))) : h('span', { class: 'muted' }, t(none)));
    const requests = reqs.items || [];
    clear(box).append(h('div', {},
      h('h2', {}, a.name, ' ', stBadge(a.status)),
      h('div', { class: 'grid-2' },
        h('section', { class: 'card', 'aria-labelledby': 'apl-d' }, h('h2', { id: 'apl-d' }, t('apl.details')),
          h('dl', { class: 'facts' },
            fact('apl.d.uscc', h('span', { class: 'mono' }, a.uscc)),
            fact('apl.d.status', stBadge(a.status)), a.status_reason ? fact('apl.d.reason', a.status_reason) : null,
            fact('apl.d.contact', a.contact_name + ' · ' + a.contact_email + ' · ' + a.contact_phone),
            fact('apl.d.callback', h('span', { class: 'mono' }, a.callback_url)),
            fact('apl.d.redirect', ul(a.redirect_uris, 'apl.d.none')),
            fact('apl.d.ip', ul(a.ip_allow, 'apl.d.any')),
            fact('apl.d.created', fmtTime(a.created_at)))),
        h('section', { class: 'card', 'aria-labelledby': 'apl-ag' }, h('h2', { id: 'apl-ag' }, t('apl.agreement')),
          requests.length ? h('ul', { class: 'plain-list', 'data-testid': 'apl-requests' }, requests.map((r) => h('li', {},
            h('span', { class: 'badge ' + (r.status === 'approved' ? 'badge-ok' : r.status === 'pending_review' ? 'badge-warn' : 'badge-paused') }, t('review.status.' + r.status)), ' ',
            t('apl.ag.line', { v: r.agreement_version, sm3: (r.agreement_sm3 || '').slice(0, 12), at: fmtTime(r.accepted_at) }), ' ',
            h('a', { href: '#/review?id=' + encodeURIComponent(r.id) }, t('apl.ag.open')))))
            : h('p', { class: 'empty' }, t('apl.ag.none')))),
      h('section', { class: 'card', 'aria-labelledby': 'apl-docs', 'data-testid': 'apl-documents' }, h('h2', { id: 'apl-docs' }, t('review.docs')),
        documentsTable(docs.items || [], { base: ADMIN_API, onError: fail,
          path: (d) => '/applicants/' + encodeURIComponent(a.id) + '/documents/' + encodeURIComponent(d.id) })),
      h('h2', {}, t('apl.apps')),
      (apps.items || []).length ? (apps.items || []).map((app) => appCard(app, names, (proposals.items || []).filter((p) => p.app_id === app.id)))
        : h('p', { class: 'empty' }, t('apl.noApps'))));
  }

  function appCard(app, names, pending) {
    const credsBody = h('div', {}, h('p', { class: 'loading' }, t('loading')));
    const grantsBody = h('div', {}, h('p', { class: 'loading' }, t('loading')));
    const prod = app.env === 'production';
    const card = h('section', { class: 'card', 'aria-labelledby': 'app-' + app.id, 'data-app': app.id },
      h('h2', { id: 'app-' + app.id }, t('apl.app', { id: app.id }), ' ', h('span', { class: 'badge' + (prod ? ' badge-ok' : '') }, t('apl.env.' + app.env))),
      h('p', { class: 'muted small' }, t('apl.appMeta', { env: t('apl.env.' + app.env), status: t('apl.as.' + app.status) === 'apl.as.' + app.status ? app.status : t('apl.as.' + app.status), at: fmtTime(app.created_at) })),
      h('h3', { class: 'dash-h3' }, t('apl.creds')), credsBody,
      h('h3', { class: 'dash-h3' }, t('apl.grants')), grantsBody);
    loadCreds();
    loadGrants();
    return card;

    async function loadCreds() {
      let res;
      try { res = await api.get('/apps/' + encodeURIComponent(app.id) + '/credentials?limit=200'); } catch (err) { fail(err); clear(credsBody); return; }
      const items = res.items || [];
      clear(credsBody);
      if (!items.length) { credsBody.append(h('p', { class: 'empty' }, t('apl.noCreds'))); return; }
      const now = Date.now();
      const nl = (k) => h('span', { class: 'narrow-label' }, t(k) + colon());
      credsBody.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack', 'data-testid': 'creds-' + app.id },
        h('thead', {}, h('tr', {}, ['kind', 'serial', 'valid', 'state'].map((c) => h('th', { scope: 'col' }, t('apl.c.' + c))))),
        h('tbody', {}, items.map((c) => {
          const left = (new Date(c.not_after).getTime() - now) / 86400000;
          const soon = c.status === 'active' && left <= SOON_DAYS;
          const st = c.status === 'active' ? 'badge-ok' : c.status === 'not_yet_valid' ? 'badge-warn' : 'badge-paused';
          return h('tr', { 'data-credential': c.id },
            h('th', { scope: 'row' }, t('apl.kind.' + c.kind) === 'apl.kind.' + c.kind ? c.kind : t('apl.kind.' + c.kind)),
            h('td', { class: 'nowrap mono' }, nl('apl.c.serial'), c.serial),
            h('td', { class: 'small' }, nl('apl.c.valid'), t('apl.c.validRange', { from: fmtTime(c.not_before), to: fmtTime(c.not_after) })),
            h('td', { class: 'nowrap' }, h('span', { class: 'badge ' + st }, t('apl.cs.' + c.status)),
              soon ? [' ', h('span', { class: 'badge badge-warn', 'data-testid': 'expiring-soon', title: t('apl.soonTitle', { days: SOON_DAYS }) }, t('apl.soon', { n: Math.max(0, Math.ceil(left)) }))] : null));
        })))));
    }

    async function loadGrants() {
      clear(grantsBody);
      if (!prod) { grantsBody.append(h('p', { class: 'muted small' }, t('apl.sandboxAll'))); return; }
      let res;
      try { res = await api.get('/apps/' + encodeURIComponent(app.id) + '/grants?limit=500'); } catch (err) { fail(err); return; }
      const items = res.items || [];
      if (!items.length) grantsBody.append(h('p', { class: 'empty' }, t('apl.noGrants')));
      else {
        const nl = (k) => h('span', { class: 'narrow-label' }, t(k) + colon());
        grantsBody.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack', 'data-testid': 'grants-' + app.id },
          h('thead', {}, h('tr', {}, ['api', 'by', 'at'].map((c) => h('th', { scope: 'col' }, t('apl.g.' + c))))),
          h('tbody', {}, items.map((g) => h('tr', { 'data-grant': g.api_id },
            h('th', { scope: 'row' }, names.get(g.api_id) || g.api_name || g.api_id),
            h('td', { class: 'small' }, nl('apl.g.by'), who(g.granted_by, me) || g.granted_by),
            h('td', { class: 'nowrap small' }, nl('apl.g.at'), fmtTime(g.granted))))))));
      }
      if (pending.length) {
        grantsBody.append(h('div', { class: 'alert alert-warn', 'data-testid': 'apl-pending' }, h('strong', {}, t('apl.pending')),
          h('ul', { class: 'plain-list' }, pending.map((p) => h('li', {}, t('apl.pendingLine', { api: names.get(p.api_id) || p.api_id, by: who(p.proposed_by, me), at: fmtTime(p.proposed_at) }))))));
      }
      // Propose a new grant (maker); a second reviewer checks it.
      const taken = new Set([...items.map((g) => g.api_id), ...pending.map((p) => p.api_id)]);
      const free = [...names.keys()].filter((k) => !taken.has(k));
      const mayPropose = me.role === 'reviewer' || me.role === 'operator';
      const sel = h('select', { id: 'gp-api-' + app.id, name: 'api_id', disabled: !free.length || !mayPropose }, free.map((k) => h('option', { value: k }, names.get(k))));
      const why = !mayPropose ? t('apl.mayNotPropose') : !free.length ? t('apl.noMoreApis') : null;
      grantsBody.append(h('form', { class: 'apl-propose', onsubmit: async (e) => {
        e.preventDefault();
        const apiLabel = names.get(sel.value);
        const ok = await decisionDialog({ title: t('apl.proposeTitle'), body: t('apl.proposeBody', { app: app.id, api: apiLabel }),
          reasonLabel: t('apl.proposeReason'), required: false, confirmLabel: t('apl.proposeBtn') });
        if (ok === null) return;
        try {
          const p = await api.put('/apps/' + encodeURIComponent(app.id) + '/grants/' + encodeURIComponent(sel.value), {});
          pending.push(p);
          toast(t('apl.proposed', { api: apiLabel }));
        } catch (err) { fail(err); }
        loadGrants();
      } },
      h('h3', { class: 'dash-h3' }, t('apl.propose')),
      h('p', { class: 'hint' }, t('apl.proposeHint')),
      h('div', { class: 'filters' },
        h('div', { class: 'field' }, h('label', { for: 'gp-api-' + app.id }, t('apl.f.api')), sel),
        h('div', { class: 'field apl-find' }, h('button', { type: 'submit', class: 'btn btn-primary', disabled: Boolean(why), title: why }, t('apl.proposeBtn')))),
      why ? h('p', { class: 'hint' }, why) : null));
    }
  }
}
