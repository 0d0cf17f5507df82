// API catalogue (API 目录): every API with its life-cycle status; operators
// (and admins) create an API and edit its spec — contract, parameter
// schemas, masking, retention, limits, upstream — and move it through its
// life cycle (publish, deprecate with a sunset, retire). Each life-cycle
// step is confirmed in a dialog that previews the notice the applicants
// granted the API will get (POST /apis/{id}/notice-preview), and every
// change carries If-Match with the version the page showed, so that a
// change made meanwhile by someone else is refused, never overwritten.
// The page is #/catalogue (the list), #/catalogue?id=<api id> (one API) and
// #/catalogue?new (a new draft).

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';
import { versioned, ApiError } from '../../js/api.js';

export const strings = {
  'zh-CN': {
    'cat.title': 'API 目录',
    'cat.intro': '目录中的每个 API：草稿经发布后才可被授权和调用；弃用时须给出下线时间，获授权的申请方会收到变更通知。',
    'cat.new': '新建 API',
    'cat.filter.status': '目录状态',
    'cat.filter.q': '按名称或路径搜索',
    'cat.filter.all': '全部',
    'cat.col.api': 'API',
    'cat.col.path': '方法与路径',
    'cat.col.level': '等级',
    'cat.col.status': '目录状态',
    'cat.col.updated': '最近修改',
    'cat.col.action': '操作',
    'cat.edit': '编辑',
    'cat.view': '查看',
    'cat.editName': '编辑 {name}',
    'cat.empty': '没有符合条件的 API。运维人员可点击“新建 API”创建草稿，填写后发布。',
    'cat.emptyFiltered': '没有符合筛选条件的 API。请清除筛选条件后再试。',
    'cat.sunsetOn': '将于 {at} 下线',
    'cat.back': '← 返回 API 目录',
    'cat.newTitle': '新建 API（草稿）',
    'cat.version': '版本 {v}',
    'cat.notYours': '仅运维人员或系统管理员可以修改目录；您可以查看内容。',
    'cat.sec.basic': '基本信息',
    'cat.sec.params': '参数 Schema',
    'cat.sec.masking': '脱敏与留存',
    'cat.sec.limits': '默认限流（每个获授权应用）',
    'cat.sec.upstream': '上游服务',
    'cat.sec.lifecycle': '生命周期',
    'cat.sec.notices': '已发出的变更通知',
    'cat.f.name': '名称',
    'cat.f.description': '说明',
    'cat.f.api_version': '接口版本',
    'cat.f.api_versionHint': '如 v1；路径的第一段必须与之相同。',
    'cat.f.method': '方法',
    'cat.f.path': '路径模板',
    'cat.f.pathHint': '如 /v1/accounts/{account_no}/balance',
    'cat.f.level': '等级',
    'cat.f.levelA1': 'A1：公开数据',
    'cat.f.levelA2': 'A2：客户数据（SM2 签名、报文加密）',
    'cat.f.acts_for_user': '代客户调用（需客户授权，仅 A2）',
    'cat.f.consent_scope': '授权范围（consent scope）',
    'cat.f.params.path': '路径参数 Schema（JSON）',
    'cat.f.params.query': '查询参数 Schema（JSON）',
    'cat.f.params.body': '请求体 Schema（JSON）',
    'cat.f.paramsHint': 'JSON Schema 对象；留空表示没有该类参数。服务器会逐项校验并指出出错的关键字。',
    'cat.f.masking': '脱敏规则（JSON 数组）',
    'cat.f.maskingHint': '例如 [{"field": "$.account_no", "kind": "account_no"}]；kind 可为 name、id_no、account_no、phone、email、custom 等。',
    'cat.f.retention': '审计留存报文',
    'cat.f.retention.none': '不留存报文',
    'cat.f.retention.masked': '留存脱敏后的报文',
    'cat.f.retention.sealed': '加密封存完整报文',
    'cat.f.rate_per_second': '每秒调用数（0 为不限）',
    'cat.f.burst': '突发量（0 同每秒调用数）',
    'cat.f.concurrency': '并发数（0 为不限）',
    'cat.f.daily_quota': '每日调用量（0 为不限）',
    'cat.f.max_body_bytes': '请求体上限（字节，0 为默认 1048576）',
    'cat.f.max_json_depth': 'JSON 嵌套深度上限（0 为默认 32）',
    'cat.f.targets': '目标地址（每行一个）',
    'cat.f.targetsHint': 'https:// 或 http:// 基础地址，依次尝试；沙箱填 sandbox:。A2 API 的 http:// 只能是本机地址，或勾选“可信网络区域”。',
    'cat.f.timeout_ms': '超时（毫秒，100–60000）',
    'cat.f.ca_pem': '上游 CA 证书（PEM，留空使用系统根证书）',
    'cat.f.client_cert_pem': '客户端证书（PEM，用于双向 TLS）',
    'cat.f.client_key_pem': '客户端证书私钥（PEM）',
    'cat.f.client_key_pemHint': '私钥提交后立即加密封存，不会再显示。证书不变时留空即保留原私钥；更换证书时必须同时提供新私钥。',
    'cat.f.trusted_zone': '上游位于可信网络区域（允许 A2 API 使用 http://）',
    'cat.f.link': '当前上游链路：{link}',
    'cat.f.summary': '变更说明（将发送给获授权的申请方）',
    'cat.f.summaryHint': '已发布或已弃用的 API 修改时必填。',
    'cat.jsonError': '{field} 不是合法的 JSON：{msg}',
    'cat.save': '保存修改',
    'cat.discard': '放弃修改',
    'cat.create': '创建草稿',
    'cat.saved': '已保存 {name}（版本 {v}）。',
    'cat.created': '已创建草稿 {name}。',
    'cat.serverSays': '服务器说明：{msg}',
    'cat.conflict': '该 API 已被他人修改（您看到的是版本 {v}）。请点击“重新加载”查看最新内容后再修改。',
    'cat.reload': '重新加载',
    'cat.status': '当前状态：',
    'cat.published': '发布于 {at}',
    'cat.deprecated': '弃用于 {at}',
    'cat.publish': '发布',
    'cat.undeprecate': '撤销弃用',
    'cat.deprecate': '弃用',
    'cat.moveSunset': '调整下线时间',
    'cat.retire': '下线',
    'cat.why.publish': '只有草稿或已弃用的 API 可以发布。',
    'cat.why.deprecate': '只有已发布或已弃用的 API 可以设定下线时间。',
    'cat.why.retire': '草稿可随时下线；已弃用的 API 须等到下线时间（{at}）之后。',
    'cat.why.retireDeprecate': '已发布的 API 须先弃用并给出下线时间。',
    'cat.why.save': '先保存或放弃编辑器中的修改，再进行生命周期操作。',
    'cat.lc.intro': '每一步操作前都会预览申请方将收到的通知。',
    'cat.dlg.publish': '发布 {name}？',
    'cat.dlg.deprecate': '弃用 {name}？',
    'cat.dlg.retire': '下线 {name}？',
    'cat.dlg.changed': '保存对 {name} 的修改？',
    'cat.dlg.body.publish': '发布后，获授权的应用即可调用该 API。',
    'cat.dlg.body.deprecate': '弃用后该 API 仍可调用，直到下线时间；获授权的申请方会收到弃用通知。',
    'cat.dlg.body.retire': '下线后所有调用返回 API_RETIRED，全部授权被移除，此操作不可撤销。',
    'cat.dlg.body.changed': '修改立即生效，获授权的申请方会收到变更通知。',
    'cat.dlg.sunset': '下线时间（本地时间）',
    'cat.dlg.summary': '给申请方的说明（选填）',
    'cat.dlg.preview': '通知预览',
    'cat.dlg.recipients': '将发送给 {n} 个获授权的申请方。',
    'cat.dlg.noRecipients': '目前没有申请方获授权该 API，因此不会发出通知；下面是通知的内容。',
    'cat.dlg.loading': '正在生成预览…',
    'cat.dlg.ok.publish': '确认发布',
    'cat.dlg.ok.deprecate': '确认弃用',
    'cat.dlg.ok.retire': '确认下线',
    'cat.dlg.ok.changed': '确认保存',
    'cat.did.publish': '已发布 {name}。',
    'cat.did.deprecate': '已弃用 {name}，将于 {at} 下线。',
    'cat.did.retire': '已下线 {name}。',
    'cat.notices.empty': '该 API 还没有发出过变更通知。',
    'cat.notices.col.title': '通知',
    'cat.notices.col.applicant': '申请方',
    'cat.notices.col.created': '时间',
    'cat.notices.col.delivery': 'Webhook 投递',
    'cat.delivery.pending': '等待投递',
    'cat.delivery.retrying': '等待重试（已尝试 {n} 次）',
    'cat.delivery.delivered': '已送达',
    'cat.delivery.failed': '投递失败：{err}',
    'cat.delivery.skipped': '未投递（申请方未设置回调地址，可在开发者门户查看）',
    'cat.delivery.none': '—',
    'cat.status.draft': '草稿',
    'cat.status.published': '已发布',
    'cat.status.deprecated': '已弃用',
    'cat.status.retired': '已下线',
  },
  en: {
    'cat.title': 'API catalogue',
    'cat.intro': 'Every API of the catalogue: a draft can be granted and called once published; deprecating it needs a sunset, and the applicants granted it are sent a change notice.',
    'cat.new': 'New API',
    'cat.filter.status': 'Catalogue status',
    'cat.filter.q': 'Search by name or path',
    'cat.filter.all': 'All',
    'cat.col.api': 'API',
    'cat.col.path': 'Method and path',
    'cat.col.level': 'Level',
    'cat.col.status': 'Catalogue status',
    'cat.col.updated': 'Last changed',
    'cat.col.action': 'Action',
    'cat.edit': 'Edit',
    'cat.view': 'View',
    'cat.editName': 'Edit {name}',
    'cat.empty': 'No APIs match. Operators create a draft with "New API", fill it in and publish it.',
    'cat.emptyFiltered': 'No API matches the filter. Clear it and try again.',
    'cat.sunsetOn': 'retires {at}',
    'cat.back': '← Back to the catalogue',
    'cat.newTitle': 'New API (draft)',
    'cat.version': 'version {v}',
    'cat.notYours': 'Only operators and administrators change the catalogue; you can read it.',
    'cat.sec.basic': 'Basics',
    'cat.sec.params': 'Parameter schemas',
    'cat.sec.masking': 'Masking and retention',
    'cat.sec.limits': 'Default limits (per granted app)',
    'cat.sec.upstream': 'Upstream',
    'cat.sec.lifecycle': 'Life cycle',
    'cat.sec.notices': 'Change notices sent',
    'cat.f.name': 'Name',
    'cat.f.description': 'Description',
    'cat.f.api_version': 'API version',
    'cat.f.api_versionHint': 'e.g. v1; the path\'s first segment must be the same.',
    'cat.f.method': 'Method',
    'cat.f.path': 'Path template',
    'cat.f.pathHint': 'e.g. /v1/accounts/{account_no}/balance',
    'cat.f.level': 'Level',
    'cat.f.levelA1': 'A1: public data',
    'cat.f.levelA2': 'A2: a customer\'s data (SM2 signatures, encrypted bodies)',
    'cat.f.acts_for_user': 'Acts for a customer (needs their consent; A2 only)',
    'cat.f.consent_scope': 'Consent scope',
    'cat.f.params.path': 'Path parameters schema (JSON)',
    'cat.f.params.query': 'Query parameters schema (JSON)',
    'cat.f.params.body': 'Request body schema (JSON)',
    'cat.f.paramsHint': 'A JSON Schema object; empty: no such parameters. The server checks each and names the keyword it refuses.',
    'cat.f.masking': 'Masking rules (JSON array)',
    'cat.f.maskingHint': 'e.g. [{"field": "$.account_no", "kind": "account_no"}]; kinds include name, id_no, account_no, phone, email and custom.',
    'cat.f.retention': 'What the audit keeps of messages',
    'cat.f.retention.none': 'No message bodies',
    'cat.f.retention.masked': 'Masked bodies',
    'cat.f.retention.sealed': 'Whole bodies, sealed',
    'cat.f.rate_per_second': 'Calls per second (0: no limit)',
    'cat.f.burst': 'Burst (0: as calls per second)',
    'cat.f.concurrency': 'Calls in flight (0: no limit)',
    'cat.f.daily_quota': 'Calls per day (0: no limit)',
    'cat.f.max_body_bytes': 'Largest request body (bytes; 0: 1048576)',
    'cat.f.max_json_depth': 'Deepest JSON nesting (0: 32)',
    'cat.f.targets': 'Targets (one a line)',
    'cat.f.targetsHint': 'https:// or http:// base URLs tried in turn; sandbox: for the sandbox. An A2 API\'s http:// targets must be loopback unless the trusted zone is ticked.',
    'cat.f.timeout_ms': 'Timeout (ms, 100–60000)',
    'cat.f.ca_pem': 'Upstream CA certificates (PEM; empty: the system\'s roots)',
    'cat.f.client_cert_pem': 'Client certificate (PEM, for mutual TLS)',
    'cat.f.client_key_pem': 'Client certificate\'s private key (PEM)',
    'cat.f.client_key_pemHint': 'Sealed at once and never shown again. Leave empty to keep the current key while the certificate stays the same; a new certificate needs its key.',
    'cat.f.trusted_zone': 'The upstream is inside a trusted network zone (lets an A2 API use http://)',
    'cat.f.link': 'Upstream link now: {link}',
    'cat.f.summary': 'Summary of the change (sent to the applicants granted the API)',
    'cat.f.summaryHint': 'Required once the API is published or deprecated.',
    'cat.jsonError': '{field} is not valid JSON: {msg}',
    'cat.save': 'Save changes',
    'cat.discard': 'Discard changes',
    'cat.create': 'Create draft',
    'cat.saved': '{name} saved (version {v}).',
    'cat.created': 'Draft {name} created.',
    'cat.serverSays': 'The server says: {msg}',
    'cat.conflict': 'Someone changed this API meanwhile (you saw version {v}). Choose "Reload" to see the latest, then make your change again.',
    'cat.reload': 'Reload',
    'cat.status': 'Status: ',
    'cat.published': 'published {at}',
    'cat.deprecated': 'deprecated {at}',
    'cat.publish': 'Publish',
    'cat.undeprecate': 'Withdraw the deprecation',
    'cat.deprecate': 'Deprecate',
    'cat.moveSunset': 'Move the sunset',
    'cat.retire': 'Retire',
    'cat.why.publish': 'Only a draft or a deprecated API can be published.',
    'cat.why.deprecate': 'Only a published or deprecated API gets a sunset.',
    'cat.why.retire': 'A draft can be retired at any time; a deprecated API once its sunset ({at}) has come.',
    'cat.why.retireDeprecate': 'Deprecate a published API with a sunset first.',
    'cat.why.save': 'Save or discard the changes in the editor first.',
    'cat.lc.intro': 'Each step shows a preview of the notice the applicants will get before you confirm.',
    'cat.dlg.publish': 'Publish {name}?',
    'cat.dlg.deprecate': 'Deprecate {name}?',
    'cat.dlg.retire': 'Retire {name}?',
    'cat.dlg.changed': 'Save the changes to {name}?',
    'cat.dlg.body.publish': 'Once published, granted apps may call the API.',
    'cat.dlg.body.deprecate': 'A deprecated API stays callable until its sunset; the applicants granted it are sent a notice.',
    'cat.dlg.body.retire': 'Once retired, every call answers API_RETIRED and every grant is removed. This cannot be undone.',
    'cat.dlg.body.changed': 'The change takes effect at once; the applicants granted the API are sent a notice.',
    'cat.dlg.sunset': 'Sunset (your local time)',
    'cat.dlg.summary': 'A note to the applicants (optional)',
    'cat.dlg.preview': 'Notice preview',
    'cat.dlg.recipients': 'Sent to {n} applicant(s) granted the API.',
    'cat.dlg.noRecipients': 'No applicant is granted the API yet, so no notice is sent; this is what it says.',
    'cat.dlg.loading': 'Making the preview…',
    'cat.dlg.ok.publish': 'Publish it',
    'cat.dlg.ok.deprecate': 'Deprecate it',
    'cat.dlg.ok.retire': 'Retire it',
    'cat.dlg.ok.changed': 'Save it',
    'cat.did.publish': '{name} is published.',
    'cat.did.deprecate': '{name} is deprecated; it retires {at}.',
    'cat.did.retire': '{name} is retired.',
    'cat.notices.empty': 'No change notice has been sent about this API yet.',
    'cat.notices.col.title': 'Notice',
    'cat.notices.col.applicant': 'Applicant',
    'cat.notices.col.created': 'Sent',
    'cat.notices.col.delivery': 'Webhook delivery',
    'cat.delivery.pending': 'pending',
    'cat.delivery.retrying': 'to be retried ({n} attempt(s) so far)',
    'cat.delivery.delivered': 'delivered',
    'cat.delivery.failed': 'failed: {err}',
    'cat.delivery.skipped': 'not sent (the applicant has no callback URL; it is in the developer portal)',
    'cat.delivery.none': '—',
    'cat.status.draft': 'Draft',
    'cat.status.published': 'Published',
    'cat.status.deprecated': 'Deprecated',
    'cat.status.retired': 'Retired',
  },
};

// Read-only fields of an API as GET answers it; a PUT leaves them out.
const READ_ONLY = ['id', 'upstream_link', 'status', 'version', 'sunset', 'created', 'updated', 'published', 'deprecated', 'retired', 'created_by', 'updated_by'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const LIMITS = ['rate_per_second', 'burst', 'concurrency', 'daily_quota'];

const statusBadge = (s) => h('span', { class: 'badge badge-status-' + s }, t('cat.status.' + s));

function query() {
  const q = location.hash.split('?')[1] || '';
  return new URLSearchParams(q);
}

export function render({ root, api, describe, can }) {
  const mayEdit = can('operator');
  const q = query();
  if (q.has('id')) return editor({ root, api, describe, mayEdit, id: q.get('id') });
  if (q.has('new')) return editor({ root, api, describe, mayEdit, id: null });
  return list({ root, api, describe, mayEdit });
}

// ---- the list --------------------------------------------------------------

function list({ root, api, describe, mayEdit }) {
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const status = h('select', { id: 'cat-status', name: 'status', onchange: () => load() },
    h('option', { value: '' }, t('cat.filter.all')),
    ['draft', 'published', 'deprecated', 'retired'].map((s) => h('option', { value: s }, t('cat.status.' + s))));
  let timer = null;
  const text = h('input', { id: 'cat-q', name: 'q', type: 'search', autocomplete: 'off',
    oninput: () => { clearTimeout(timer); timer = setTimeout(load, 250); } });
  root.append(...[
    h('div', { class: 'page-head' },
      h('h1', {}, t('cat.title')),
      h('a', { class: 'btn btn-primary' + (mayEdit ? '' : ' is-disabled'), href: mayEdit ? '#/catalogue?new' : null, role: mayEdit ? null : 'link',
        'aria-disabled': mayEdit ? null : 'true', title: mayEdit ? null : t('cat.notYours'), 'data-action': 'new' }, t('cat.new'))),
    h('p', { class: 'muted' }, t('cat.intro')),
    mayEdit ? null : h('p', { class: 'alert alert-info' }, t('cat.notYours')),
    h('section', { class: 'card' },
      h('div', { class: 'filters' },
        h('div', { class: 'field' }, h('label', { for: 'cat-status' }, t('cat.filter.status')), status),
        h('div', { class: 'field' }, h('label', { for: 'cat-q' }, t('cat.filter.q')), text)),
      errorBox, body)].filter(Boolean));

  const load = async () => {
    const params = new URLSearchParams({ limit: '500' });
    if (status.value) params.set('status', status.value);
    if (text.value.trim()) params.set('q', text.value.trim());
    let res;
    try { res = await api.get('/apis?' + params); } catch (err) { errorBox.textContent = describe(err); errorBox.hidden = false; clear(body); return; }
    errorBox.hidden = true;
    clear(body);
    if (res.items.length === 0) {
      body.append(h('p', { class: 'empty' }, status.value || text.value.trim() ? t('cat.emptyFiltered') : t('cat.empty')));
      return;
    }
    body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['api', 'path', 'level', 'status', 'updated', 'action'].map((c) => h('th', { scope: 'col' }, t('cat.col.' + c))))),
      h('tbody', {}, res.items.map((a) => h('tr', { 'data-api': a.id },
        h('th', { scope: 'row' }, h('div', {}, a.name), h('div', { class: 'small muted mono' }, a.id)),
        h('td', { class: 'mono' }, a.method + ' ' + a.path),
        h('td', { class: 'nowrap' }, h('span', { class: 'badge' }, a.level)),
        h('td', {}, statusBadge(a.status),
          a.sunset ? h('div', { class: 'small muted' }, t('cat.sunsetOn', { at: fmtTime(a.sunset) })) : null),
        h('td', { class: 'small' }, fmtTime(a.updated), h('div', { class: 'muted' }, t('cat.version', { v: a.version }))),
        h('td', { class: 'nowrap' }, h('a', { class: 'btn', href: '#/catalogue?id=' + encodeURIComponent(a.id),
          'aria-label': t('cat.editName', { name: a.name }) }, mayEdit && a.status !== 'retired' ? t('cat.edit') : t('cat.view')))))))));
  };
  load();
  return () => clearTimeout(timer);
}

// ---- the editor ------------------------------------------------------------

// field makes a labelled input; kind is 'input', 'textarea' or 'select'.
function field(id, labelText, control, hint) {
  control.id = id;
  if (!control.name) control.name = id.replace(/^cat-/, '');
  const hintEl = hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null;
  const err = h('p', { class: 'field-error', id: id + '-err', role: 'alert', hidden: true });
  control.setAttribute('aria-describedby', [hint ? id + '-hint' : null, id + '-err'].filter(Boolean).join(' '));
  return h('div', { class: 'field', 'data-field': control.name }, h('label', { for: id }, labelText), control, hintEl, err);
}

function check(id, labelText, checked) {
  const box = h('input', { type: 'checkbox', id, name: id.replace(/^cat-/, ''), checked: !!checked });
  return h('div', { class: 'field field-check', 'data-field': box.name }, box, h('label', { for: id }, labelText));
}

// append adds the children that are not null (Element.append would add
// "null" as text).
const append = (el, ...kids) => el.append(...kids.filter((k) => k !== null && k !== undefined && k !== false));

const pretty = (v) => (v === undefined || v === null ? '' : JSON.stringify(v, null, 2));

function editor({ root, api, describe, mayEdit, id }) {
  let rec = null; // the API as last read (null: new)
  let dirty = false;
  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const head = h('div', {});
  const form = h('form', { class: 'cat-form', novalidate: true });
  const lifecycle = h('section', { class: 'card', 'aria-labelledby': 'cat-lc', hidden: true });
  const notices = h('section', { class: 'card', 'aria-labelledby': 'cat-notices', hidden: true });
  root.append(...[h('p', {}, h('a', { href: '#/catalogue' }, t('cat.back'))), head,
    mayEdit ? null : h('p', { class: 'alert alert-info' }, t('cat.notYours')), errorBox, lifecycle, form, notices].filter(Boolean));

  const showError = (err, version) => {
    clear(errorBox);
    if (err instanceof ApiError && err.code === 'CONFLICT' && version) {
      errorBox.append(h('p', {}, t('cat.conflict', { v: version })),
        h('button', { type: 'button', class: 'btn', onclick: () => load() }, t('cat.reload')));
    } else {
      errorBox.append(h('p', {}, describe(err)));
      if (err instanceof ApiError && err.message && err.code === 'INVALID') errorBox.append(h('p', { class: 'small mono' }, t('cat.serverSays', { msg: err.message })));
    }
    errorBox.hidden = false;
    // Put the API's message beside the field it names.
    if (err instanceof ApiError && err.field) {
      const f = fieldFor(err.field);
      if (f) {
        const e = f.querySelector('.field-error');
        e.textContent = err.message; e.hidden = false;
        f.classList.add('has-error');
        const c = f.querySelector('input, textarea, select');
        if (c) { c.setAttribute('aria-invalid', 'true'); c.focus(); }
      }
    }
    errorBox.scrollIntoView({ block: 'nearest' });
  };
  const clearErrors = () => {
    errorBox.hidden = true;
    for (const f of form.querySelectorAll('.has-error')) {
      f.classList.remove('has-error');
      f.querySelector('.field-error').hidden = true;
      const c = f.querySelector('[aria-invalid]'); if (c) c.removeAttribute('aria-invalid');
    }
  };
  // fieldFor finds the form field of an API field name ("params.body",
  // "upstream.targets[0]", "masking[1].kind", "limits.burst"…).
  const fieldFor = (name) => {
    const n = name.replace(/\[\d+\].*$/, '');
    const tries = [n, n.replace(/^upstream\./, ''), n.replace(/^limits\./, ''), n.split('.').slice(0, 2).join('.'), n.split('.')[0]];
    for (const k of tries) {
      const f = form.querySelector(`[data-field="${CSS.escape(k)}"]`);
      if (f) return f;
    }
    return null;
  };

  const load = async () => {
    clear(form); clear(head); clearErrors();
    if (id) {
      form.append(h('p', { class: 'loading' }, t('loading')));
      try { rec = await api.get('/apis/' + encodeURIComponent(id)); } catch (err) { clear(form); showError(err); return; }
    }
    draw();
  };

  const draw = () => {
    dirty = false;
    clear(form); clear(head);
    const a = rec || { name: '', description: '', api_version: 'v1', method: 'GET', path: '/v1/', level: 'A1', acts_for_user: false, consent_scope: '',
      params: {}, masking: [], retention: 'masked', limits: { rate_per_second: 0, burst: 0, concurrency: 0, daily_quota: 0 },
      upstream: { targets: ['sandbox:'], timeout_ms: 3000 } };
    document.title = (rec ? a.name : t('cat.newTitle')) + ' · ' + t('cat.title');
    head.append(h('div', { class: 'page-head' }, h('h1', {}, rec ? a.name : t('cat.newTitle')),
      rec ? h('div', { class: 'cat-meta' }, statusBadge(a.status), ' ', h('span', { class: 'badge' }, a.level), ' ',
        h('span', { class: 'small muted mono' }, a.id + ' · ' + t('cat.version', { v: a.version }))) : null));
    const ro = !mayEdit || (rec && rec.status === 'retired');
    const inp = (name, value, attrs = {}) => h('input', { name, value: value ?? '', disabled: ro, ...attrs });
    const area = (name, value, rows = 4, attrs = {}) => { const x = h('textarea', { name, rows, disabled: ro, spellcheck: 'false', ...attrs }); x.value = value ?? ''; return x; };
    const sel = (name, value, options) => { const x = h('select', { name, disabled: ro }, options.map(([v, l]) => h('option', { value: v }, l))); x.value = value; return x; };
    const up = a.upstream || {};
    const params = a.params || {};
    append(form,
      h('fieldset', { class: 'card' }, h('legend', {}, t('cat.sec.basic')),
        h('div', { class: 'grid-2' },
          field('cat-name', t('cat.f.name'), inp('name', a.name, { maxlength: 128, required: true })),
          field('cat-api_version', t('cat.f.api_version'), inp('api_version', a.api_version, { required: true }), t('cat.f.api_versionHint')),
          field('cat-method', t('cat.f.method'), sel('method', a.method, METHODS.map((m) => [m, m]))),
          field('cat-path', t('cat.f.path'), inp('path', a.path, { class: 'mono', required: true }), t('cat.f.pathHint')),
          field('cat-level', t('cat.f.level'), sel('level', a.level, [['A1', t('cat.f.levelA1')], ['A2', t('cat.f.levelA2')]])),
          field('cat-consent_scope', t('cat.f.consent_scope'), inp('consent_scope', a.consent_scope, { class: 'mono' }))),
        check('cat-acts_for_user', t('cat.f.acts_for_user'), a.acts_for_user),
        field('cat-description', t('cat.f.description'), area('description', a.description, 3, { spellcheck: 'true' }))),
      h('fieldset', { class: 'card' }, h('legend', {}, t('cat.sec.params')),
        h('p', { class: 'hint' }, t('cat.f.paramsHint')),
        ['path', 'query', 'body'].map((k) => field('cat-params-' + k, t('cat.f.params.' + k), area('params.' + k, pretty(params[k]), params[k] ? 8 : 3, { class: 'mono code' })))),
      h('fieldset', { class: 'card' }, h('legend', {}, t('cat.sec.masking')),
        field('cat-masking', t('cat.f.masking'), area('masking', pretty(a.masking || []), 4, { class: 'mono code' }), t('cat.f.maskingHint')),
        field('cat-retention', t('cat.f.retention'), sel('retention', a.retention, ['none', 'masked', 'sealed'].map((r) => [r, t('cat.f.retention.' + r)])))),
      h('fieldset', { class: 'card' }, h('legend', {}, t('cat.sec.limits')),
        h('div', { class: 'grid-3' },
          LIMITS.map((k) => field('cat-limits-' + k, t('cat.f.' + k), inp('limits.' + k, (a.limits || {})[k] ?? 0, { type: 'number', min: 0, step: 1, inputmode: 'numeric' }))),
          field('cat-max_body_bytes', t('cat.f.max_body_bytes'), inp('max_body_bytes', a.max_body_bytes || 0, { type: 'number', min: 0, step: 1 })),
          field('cat-max_json_depth', t('cat.f.max_json_depth'), inp('max_json_depth', a.max_json_depth || 0, { type: 'number', min: 0, max: 64, step: 1 })))),
      h('fieldset', { class: 'card' }, h('legend', {}, t('cat.sec.upstream')),
        rec && rec.upstream_link ? h('p', { class: 'small muted' }, t('cat.f.link', { link: rec.upstream_link })) : null,
        h('div', { class: 'grid-2' },
          field('cat-targets', t('cat.f.targets'), area('targets', (up.targets || []).join('\n'), 3, { class: 'mono' }), t('cat.f.targetsHint')),
          field('cat-timeout_ms', t('cat.f.timeout_ms'), inp('timeout_ms', up.timeout_ms ?? 3000, { type: 'number', min: 100, max: 60000, step: 1 }))),
        check('cat-trusted_zone', t('cat.f.trusted_zone'), up.trusted_zone),
        field('cat-ca_pem', t('cat.f.ca_pem'), area('ca_pem', up.ca_pem, 3, { class: 'mono code' })),
        field('cat-client_cert_pem', t('cat.f.client_cert_pem'), area('client_cert_pem', up.client_cert_pem, 3, { class: 'mono code' })),
        field('cat-client_key_pem', t('cat.f.client_key_pem'), area('client_key_pem', '', 3, { class: 'mono code', autocomplete: 'off' }), t('cat.f.client_key_pemHint'))),
      rec && rec.status !== 'draft' && rec.status !== 'retired'
        ? h('fieldset', { class: 'card' }, h('legend', {}, t('cat.f.summary')),
          field('cat-summary', t('cat.f.summary'), area('summary', '', 2, { maxlength: 1000, spellcheck: 'true' }), t('cat.f.summaryHint')))
        : null,
      ro ? null : h('div', { class: 'form-actions' },
        rec ? h('button', { type: 'button', class: 'btn', 'data-action': 'discard', onclick: () => { clearErrors(); draw(); } }, t('cat.discard')) : null,
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'save' }, rec ? t('cat.save') : t('cat.create'))));
    form.querySelector('input[name="acts_for_user"]').disabled = ro;
    form.querySelector('input[name="trusted_zone"]').disabled = ro;
    form.oninput = () => { dirty = true; drawLifecycle(); };
    drawLifecycle();
    drawNotices();
  };

  // spec builds the request body from the form, over the record (so fields
  // the form does not show — examples, response schema, headers — are kept).
  const spec = () => {
    const body = rec ? JSON.parse(JSON.stringify(rec)) : {};
    for (const k of READ_ONLY) delete body[k];
    const val = (n) => form.querySelector(`[name="${n}"]`).value;
    const num = (n) => { const v = val(n).trim(); return v === '' ? 0 : Number(v); };
    const json = (n, label) => {
      const v = val(n).trim();
      if (v === '') return undefined;
      try { return JSON.parse(v); } catch (e) {
        const err = new ApiError(400, { code: 'INVALID', field: n, message: t('cat.jsonError', { field: label, msg: e.message }) }, '');
        throw err;
      }
    };
    body.name = val('name').trim();
    body.description = val('description');
    body.api_version = val('api_version').trim();
    body.method = val('method');
    body.path = val('path').trim();
    body.level = val('level');
    body.acts_for_user = form.querySelector('[name="acts_for_user"]').checked;
    body.consent_scope = val('consent_scope').trim();
    if (!body.consent_scope) delete body.consent_scope;
    body.params = { ...(body.params || {}) };
    for (const k of ['path', 'query', 'body']) {
      const v = json('params.' + k, t('cat.f.params.' + k));
      if (v === undefined) delete body.params[k]; else body.params[k] = v;
    }
    body.masking = json('masking', t('cat.f.masking')) || [];
    body.retention = val('retention');
    body.limits = Object.fromEntries(LIMITS.map((k) => [k, num('limits.' + k)]));
    body.max_body_bytes = num('max_body_bytes');
    body.max_json_depth = num('max_json_depth');
    const upstream = { targets: val('targets').split('\n').map((s) => s.trim()).filter(Boolean), timeout_ms: num('timeout_ms') };
    if (val('ca_pem').trim()) upstream.ca_pem = val('ca_pem');
    if (val('client_cert_pem').trim()) upstream.client_cert_pem = val('client_cert_pem');
    if (val('client_key_pem').trim()) upstream.client_key_pem = val('client_key_pem');
    if (form.querySelector('[name="trusted_zone"]').checked) upstream.trusted_zone = true;
    body.upstream = upstream;
    const summary = form.querySelector('[name="summary"]');
    if (summary && summary.value.trim()) body.summary = summary.value.trim();
    return body;
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    let body;
    try { body = spec(); } catch (err) { showError(err); return; }
    const button = form.querySelector('[data-action="save"]');
    if (!rec) {
      button.disabled = true;
      try {
        const created = await api.post('/apis', body);
        toast(t('cat.created', { name: created.name }));
        location.hash = '#/catalogue?id=' + encodeURIComponent(created.id);
      } catch (err) { showError(err); } finally { button.disabled = false; }
      return;
    }
    const save = async () => {
      const saved = await versioned('PUT', '/apis/' + encodeURIComponent(rec.id), rec.version, body);
      rec = saved;
      toast(t('cat.saved', { name: saved.name, v: saved.version }));
      draw();
    };
    if (rec.status === 'draft') {
      button.disabled = true;
      try { await save(); } catch (err) { showError(err, rec.version); } finally { button.disabled = false; }
      return;
    }
    // A published API: its applicants are told; preview first.
    await lifecycleDialog('changed', { summary: body.summary || '', act: async () => save() });
  });

  // ---- life cycle --------------------------------------------------------

  const drawLifecycle = () => {
    clear(lifecycle);
    if (!rec) { lifecycle.hidden = true; return; }
    lifecycle.hidden = false;
    const s = rec.status;
    const now = Date.now();
    const sunsetPassed = rec.sunset && new Date(rec.sunset).getTime() <= now;
    const btn = (action, labelText, cls, why) => {
      // Not the operator's, or edits pending: one note says why for all.
      const blocked = !mayEdit || dirty;
      const whyNow = blocked ? null : why;
      return h('div', { class: 'lc-action' },
        h('button', { type: 'button', class: 'btn ' + cls, 'data-action': action, disabled: blocked || !!whyNow, title: whyNow || (blocked ? (mayEdit ? t('cat.why.save') : t('cat.notYours')) : null),
          'aria-describedby': whyNow ? 'lc-why-' + action : blocked && mayEdit ? 'lc-why' : null, onclick: () => lifecycleDialog(action) }, labelText),
        whyNow ? h('span', { class: 'small muted', id: 'lc-why-' + action }, whyNow) : null);
    };
    append(lifecycle, h('h2', { id: 'cat-lc' }, t('cat.sec.lifecycle')),
      h('p', {}, t('cat.status'), statusBadge(s),
        rec.published ? h('span', { class: 'small muted' }, ' · ' + t('cat.published', { at: fmtTime(rec.published) })) : null,
        rec.deprecated ? h('span', { class: 'small muted' }, ' · ' + t('cat.deprecated', { at: fmtTime(rec.deprecated) })) : null,
        rec.sunset ? h('strong', { class: 'small' }, ' · ' + t('cat.sunsetOn', { at: fmtTime(rec.sunset) })) : null),
      s === 'retired' ? null : h('p', { class: 'small muted' }, t('cat.lc.intro')),
      s !== 'retired' && dirty && mayEdit ? h('p', { class: 'alert alert-warn', id: 'lc-why' }, t('cat.why.save')) : null,
      s === 'retired' ? null : h('div', { class: 'lc-actions' },
        btn('publish', s === 'deprecated' ? t('cat.undeprecate') : t('cat.publish'), 'btn-primary', s === 'draft' || s === 'deprecated' ? null : t('cat.why.publish')),
        btn('deprecate', s === 'deprecated' ? t('cat.moveSunset') : t('cat.deprecate'), '', s === 'published' || s === 'deprecated' ? null : t('cat.why.deprecate')),
        btn('retire', t('cat.retire'), 'btn-danger', s === 'draft' || (s === 'deprecated' && sunsetPassed) ? null
          : s === 'published' ? t('cat.why.retireDeprecate') : t('cat.why.retire', { at: rec.sunset ? fmtTime(rec.sunset) : '' }))));
  };

  // lifecycleDialog confirms a life-cycle step (or, kind 'changed', a save
  // of a published API) after previewing its notice.
  const lifecycleDialog = (kind, { summary = '', act } = {}) => new Promise((resolve) => {
    const name = rec.name;
    const pad = (n) => String(n).padStart(2, '0');
    const local = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const initial = rec.sunset && new Date(rec.sunset) > new Date() ? new Date(rec.sunset) : new Date(Date.now() + 90 * 864e5);
    const sunset = kind === 'deprecate' ? h('input', { type: 'datetime-local', id: 'dlg-sunset', name: 'sunset', value: local(initial), required: true }) : null;
    const note = kind === 'changed' ? null : h('textarea', { id: 'dlg-summary', name: 'summary', rows: 2, maxlength: 1000 });
    const recipients = h('p', { class: 'small', id: 'dlg-recipients' });
    const ptitle = h('p', { class: 'notice-title' });
    const pbody = h('pre', { class: 'notice-body' });
    const perr = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const preview = h('section', { class: 'notice-preview', 'aria-labelledby': 'dlg-preview', 'aria-live': 'polite', 'data-testid': 'notice-preview' },
      h('h3', { id: 'dlg-preview' }, t('cat.dlg.preview')), recipients, ptitle, pbody);
    const ok = h('button', { type: 'button', class: kind === 'retire' ? 'btn btn-danger' : 'btn btn-primary', 'data-action': 'confirm', disabled: true }, t('cat.dlg.ok.' + kind));
    const cancel = h('button', { type: 'button', class: 'btn' }, t('btn.cancel'));
    const titleKey = kind === 'changed' ? 'cat.dlg.changed' : 'cat.dlg.' + (kind === 'publish' ? 'publish' : kind);
    const dlg = h('dialog', { class: 'dialog dialog-wide', 'aria-labelledby': 'dlg-title', 'aria-describedby': 'dlg-body' },
      h('h2', { id: 'dlg-title' }, t(titleKey, { name })),
      h('p', { id: 'dlg-body' }, t('cat.dlg.body.' + kind)),
      sunset ? h('div', { class: 'field' }, h('label', { for: 'dlg-sunset' }, t('cat.dlg.sunset')), sunset) : null,
      note ? h('div', { class: 'field' }, h('label', { for: 'dlg-summary' }, t('cat.dlg.summary')), note) : null,
      preview, perr,
      h('div', { class: 'dialog-actions' }, cancel, ok));
    const previewKind = { publish: 'published', deprecate: 'deprecated', retire: 'retired', changed: 'changed' }[kind];
    const req = () => {
      const r = { kind: previewKind, summary: note ? note.value.trim() : summary };
      if (!r.summary) delete r.summary;
      if (sunset) r.sunset = sunset.value ? new Date(sunset.value).toISOString() : '';
      return r;
    };
    let seq = 0;
    const refresh = async () => {
      const my = ++seq;
      ok.disabled = true;
      recipients.textContent = t('cat.dlg.loading');
      try {
        const r = req();
        if (sunset && !sunset.value) throw new ApiError(400, { code: 'INVALID', field: 'sunset' }, '');
        const p = await api.post('/apis/' + encodeURIComponent(rec.id) + '/notice-preview', r);
        if (my !== seq) return;
        perr.hidden = true;
        recipients.textContent = p.applicants > 0 ? t('cat.dlg.recipients', { n: p.applicants }) : t('cat.dlg.noRecipients');
        ptitle.textContent = p.title;
        pbody.textContent = p.body;
        ok.disabled = false;
      } catch (err) {
        if (my !== seq) return;
        recipients.textContent = '';
        perr.textContent = describe(err) + (err.message && err.code === 'INVALID' ? ' ' + t('cat.serverSays', { msg: err.message }) : '');
        perr.hidden = false;
      }
    };
    let timer = null;
    const later = () => { clearTimeout(timer); timer = setTimeout(refresh, 300); };
    if (sunset) sunset.addEventListener('input', later);
    if (note) note.addEventListener('input', later);
    cancel.addEventListener('click', () => dlg.close());
    ok.addEventListener('click', async () => {
      ok.disabled = true;
      try {
        if (act) await act();
        else {
          const r = req();
          delete r.kind;
          const path = '/apis/' + encodeURIComponent(rec.id) + '/' + kind;
          rec = await versioned('POST', path, rec.version, r);
          toast(t('cat.did.' + kind, { name, at: rec.sunset ? fmtTime(rec.sunset) : '' }));
          draw();
        }
        dlg.close();
      } catch (err) {
        dlg.close();
        showError(err, rec.version);
      }
    });
    dlg.addEventListener('close', () => { clearTimeout(timer); dlg.remove(); resolve(); });
    document.body.append(dlg);
    dlg.showModal();
    (sunset || note || cancel).focus();
    refresh();
  });

  // ---- notices sent ------------------------------------------------------

  const drawNotices = async () => {
    if (!rec) { notices.hidden = true; return; }
    notices.hidden = false;
    clear(notices).append(h('h2', { id: 'cat-notices' }, t('cat.sec.notices')));
    let res;
    try { res = await api.get('/notices?limit=20&api_id=' + encodeURIComponent(rec.id)); } catch (err) {
      notices.append(h('p', { class: 'alert alert-error', role: 'alert' }, describe(err))); return;
    }
    if (res.items.length === 0) { notices.append(h('p', { class: 'empty' }, t('cat.notices.empty'))); return; }
    const delivery = (d) => {
      if (!d) return t('cat.delivery.none');
      if (d.status === 'pending') return d.attempts ? t('cat.delivery.retrying', { n: d.attempts }) : t('cat.delivery.pending');
      if (d.status === 'failed') return t('cat.delivery.failed', { err: d.last_error || ('HTTP ' + d.last_status) });
      return t('cat.delivery.' + d.status);
    };
    notices.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['title', 'applicant', 'created', 'delivery'].map((c) => h('th', { scope: 'col' }, t('cat.notices.col.' + c))))),
      h('tbody', {}, res.items.map((n) => h('tr', {},
        h('td', { class: 'wide' }, h('div', {}, n.title)),
        h('td', { class: 'mono small' }, n.applicant_id),
        h('td', { class: 'nowrap small' }, fmtTime(n.created)),
        h('td', { class: 'small' }, h('span', { class: 'badge badge-delivery-' + (n.delivery ? n.delivery.status : 'none') }, delivery(n.delivery)))))))));
  };

  const beforeUnload = (e) => { if (dirty) e.preventDefault(); };
  window.addEventListener('beforeunload', beforeUnload);
  load();
  return () => window.removeEventListener('beforeunload', beforeUnload);
}
