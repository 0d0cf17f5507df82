// The API catalogue (GET /portal/api/v1/catalogue) and, at
// #/catalogue?id=<api>, each API's generated documentation: the catalogue
// entry (level, limits, masking, status) and its operation in the
// catalogue's OpenAPI document (parameters, request and response schemas,
// examples, error codes; portal/catalogue_docs.go).

import { h, clear } from '../../js/dom.js';
import { t, fmtTime, fmtNumber } from '../../js/i18n.js';

export const strings = {
  'zh-CN': {
    'cat.title': 'API 目录',
    'cat.intro': '银行已发布的开放 API。沙箱应用可调用全部 API；生产应用只能调用获批的 API。点击 API 名称查看文档。',
    'cat.filterLevel': '安全等级',
    'cat.filterQ': '搜索名称或路径',
    'cat.all': '全部',
    'cat.empty': '目录中还没有已发布的 API。银行发布后会出现在这里。',
    'cat.noMatch': '没有符合条件的 API。请修改筛选条件。',
    'cat.col.name': 'API',
    'cat.col.path': '方法与路径',
    'cat.col.level': '等级',
    'cat.col.version': '版本',
    'cat.col.status': '状态',
    'cat.published': '可用',
    'cat.deprecated': '已弃用，{at} 下线',
    'cat.deprecatedNoDate': '已弃用',
    'cat.openapi': '下载 OpenAPI 3.1 文档（JSON）',
    'cat.back': '返回 API 目录',
    'cat.notFound': '找不到该 API：它可能已下线。请返回目录查看现有 API。',
    'doc.level.A1': 'A1：产品与服务信息（只读）。可用 LJ1-HMAC-SM3 或 LJ1-SM2-SM3 签名，报文加密可选。',
    'doc.level.A2': 'A2：资金交易与账户信息。仅限 LJ1-SM2-SM3 签名，请求和响应报文全部加密（SM2 + SM4-GCM 信封）。',
    'doc.overview': '概要',
    'doc.method': '方法与路径',
    'doc.version': 'API 版本',
    'doc.level': '安全等级',
    'doc.status': '状态',
    'doc.consent': '需要用户授权',
    'doc.consentScope': '需要客户授权范围 {scope}，请求须携带 LJ-User-Token。',
    'doc.security': '签名方式',
    'doc.params': '请求参数',
    'doc.noParams': '该 API 没有路径、查询或头部参数。',
    'doc.col.name': '名称',
    'doc.col.in': '位置',
    'doc.col.type': '类型',
    'doc.col.required': '必填',
    'doc.col.rules': '约束',
    'doc.col.desc': '说明',
    'doc.in.path': '路径',
    'doc.in.query': '查询',
    'doc.in.header': '头部',
    'doc.yes': '是',
    'doc.no': '否',
    'doc.request': '请求体',
    'doc.noRequest': '该 API 没有请求体。',
    'doc.response': '成功响应（200）',
    'doc.noResponse': '银行尚未描述该 API 的响应结构。',
    'doc.encrypted': '以下为 LJ1 信封内的明文结构。',
    'doc.masked': '以下为网关脱敏后的结构。',
    'doc.example': '示例',
    'doc.requestExample': '请求示例',
    'doc.responseExample': '响应示例',
    'doc.errors': '错误码',
    'doc.businessErrors': '业务错误码（由银行服务返回）',
    'doc.noBusinessErrors': '该 API 未声明业务错误码。',
    'doc.col.code': '错误码',
    'doc.col.status': 'HTTP 状态',
    'doc.lj1Errors': 'LJ1 协议错误码（所有 API 通用，处理方法见开发者手册第 8 节）',
    'doc.limits': '调用限制（每个应用）',
    'doc.rate': '每秒调用数',
    'doc.burst': '突发容量',
    'doc.concurrency': '并发调用数',
    'doc.daily': '每日调用量',
    'doc.unlimited': '不限',
    'doc.limitsNote': '超过限制时返回 RATE_LIMITED 或 QUOTA_EXCEEDED；银行可为您的应用单独调整。',
    'doc.masking': '响应脱敏字段',
    'doc.noMasking': '该 API 的响应不做脱敏。',
  },
  en: {
    'cat.title': 'API catalogue',
    'cat.intro': 'The bank\'s published open APIs. A sandbox app may call all of them; a production app those approved. Choose an API\'s name for its documentation.',
    'cat.filterLevel': 'Security level',
    'cat.filterQ': 'Search the name or path',
    'cat.all': 'All',
    'cat.empty': 'The catalogue has no published API yet. They appear here once the bank publishes them.',
    'cat.noMatch': 'No API matches. Change the filters.',
    'cat.col.name': 'API',
    'cat.col.path': 'Method and path',
    'cat.col.level': 'Level',
    'cat.col.version': 'Version',
    'cat.col.status': 'Status',
    'cat.published': 'Available',
    'cat.deprecated': 'Deprecated; retired {at}',
    'cat.deprecatedNoDate': 'Deprecated',
    'cat.openapi': 'Download the OpenAPI 3.1 document (JSON)',
    'cat.back': 'Back to the catalogue',
    'cat.notFound': 'No such API: it may have been retired. Go back to the catalogue to see the APIs there are.',
    'doc.level.A1': 'A1: product and service information (read-only). LJ1-HMAC-SM3 or LJ1-SM2-SM3 signatures; message encryption optional.',
    'doc.level.A2': 'A2: fund transactions and account information. LJ1-SM2-SM3 signatures only; every request and response body encrypted (SM2 + SM4-GCM envelope).',
    'doc.overview': 'Overview',
    'doc.method': 'Method and path',
    'doc.version': 'API version',
    'doc.level': 'Security level',
    'doc.status': 'Status',
    'doc.consent': 'Customer consent',
    'doc.consentScope': 'Needs the customer\'s consent scope {scope}; send the LJ-User-Token header.',
    'doc.security': 'Signature schemes',
    'doc.params': 'Parameters',
    'doc.noParams': 'This API has no path, query or header parameters.',
    'doc.col.name': 'Name',
    'doc.col.in': 'In',
    'doc.col.type': 'Type',
    'doc.col.required': 'Required',
    'doc.col.rules': 'Rules',
    'doc.col.desc': 'Description',
    'doc.in.path': 'path',
    'doc.in.query': 'query',
    'doc.in.header': 'header',
    'doc.yes': 'yes',
    'doc.no': 'no',
    'doc.request': 'Request body',
    'doc.noRequest': 'This API takes no request body.',
    'doc.response': 'Successful answer (200)',
    'doc.noResponse': 'The bank has not described this API\'s answer yet.',
    'doc.encrypted': 'The structure of the plaintext inside the LJ1 envelope.',
    'doc.masked': 'The structure after the gateway\'s masking.',
    'doc.example': 'Example',
    'doc.requestExample': 'Example request',
    'doc.responseExample': 'Example answer',
    'doc.errors': 'Error codes',
    'doc.businessErrors': 'Business error codes (answered by the bank\'s service)',
    'doc.noBusinessErrors': 'This API declares no business error codes.',
    'doc.col.code': 'Code',
    'doc.col.status': 'HTTP status',
    'doc.lj1Errors': 'LJ1 protocol error codes (every API; what to do: developer manual, section 8)',
    'doc.limits': 'Limits (per app)',
    'doc.rate': 'Calls per second',
    'doc.burst': 'Burst',
    'doc.concurrency': 'Calls in flight',
    'doc.daily': 'Calls per day',
    'doc.unlimited': 'no limit',
    'doc.limitsNote': 'Above a limit the answer is RATE_LIMITED or QUOTA_EXCEEDED; the bank may set your app\'s own.',
    'doc.masking': 'Masked answer fields',
    'doc.noMasking': 'This API\'s answers are not masked.',
  },
};

const OPENAPI = '/portal/api/v1/catalogue/openapi.json';

export function render(ctx) {
  if (ctx.query.get('id')) return renderDoc(ctx, ctx.query.get('id'));
  return renderList(ctx);
}

function statusText(a) {
  if (!a.deprecated) return t('cat.published');
  return a.sunset ? t('cat.deprecated', { at: fmtTime(a.sunset, { dateStyle: 'medium' }) }) : t('cat.deprecatedNoDate');
}

function renderList({ root, api, describe }) {
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const level = h('select', { id: 'cat-level', name: 'level', onchange: () => draw() },
    h('option', { value: '' }, t('cat.all')), h('option', { value: 'A1' }, 'A1'), h('option', { value: 'A2' }, 'A2'));
  const q = h('input', { id: 'cat-q', name: 'q', type: 'search', maxlength: 100, oninput: () => draw() });
  let items = [];
  root.append(h('h1', {}, t('cat.title')), h('p', { class: 'muted' }, t('cat.intro')),
    h('p', {}, h('a', { href: OPENAPI, download: 'lijiang-openapi.json' }, t('cat.openapi'))),
    h('section', { class: 'card' },
      h('div', { class: 'filters' },
        h('div', { class: 'field' }, h('label', { for: 'cat-level' }, t('cat.filterLevel')), level),
        h('div', { class: 'field' }, h('label', { for: 'cat-q' }, t('cat.filterQ')), q)),
      errorBox, body));
  const draw = () => {
    clear(body);
    if (items.length === 0) { body.append(h('p', { class: 'empty' }, t('cat.empty'))); return; }
    const text = q.value.trim().toLowerCase();
    const shown = items.filter((a) => (!level.value || a.level === level.value) &&
      (!text || a.name.toLowerCase().includes(text) || a.path.toLowerCase().includes(text)));
    if (shown.length === 0) { body.append(h('p', { class: 'empty' }, t('cat.noMatch'))); return; }
    body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['name', 'path', 'level', 'version', 'status'].map((c) => h('th', { scope: 'col' }, t('cat.col.' + c))))),
      h('tbody', {}, shown.map((a) => h('tr', { 'data-api': a.id },
        h('th', { scope: 'row' }, h('a', { href: '#/catalogue?id=' + encodeURIComponent(a.id) }, a.name),
          a.description ? h('div', { class: 'small muted' }, a.description) : null),
        h('td', { class: 'mono break' }, a.method + ' ' + a.path),
        h('td', { class: 'nowrap' }, h('span', { class: 'badge' }, a.level)),
        h('td', { class: 'nowrap' }, a.api_version),
        h('td', { class: 'nowrap' }, h('span', { class: 'badge' + (a.deprecated ? ' badge-paused' : ' badge-ok') }, statusText(a)))))))));
  };
  (async () => {
    try { items = (await api.get('/catalogue?limit=500')).items; } catch (err) { errorBox.textContent = describe(err); errorBox.hidden = false; clear(body); return; }
    draw();
  })();
}

// ---- one API's documentation ------------------------------------------------

function typeOf(s) {
  if (!s) return '';
  let ty = Array.isArray(s.type) ? s.type.join(' | ') : (s.type || (s.enum ? 'enum' : ''));
  if (ty === 'array' && s.items) ty = 'array<' + (typeOf(s.items) || 'any') + '>';
  if (s.format) ty += ' (' + s.format + ')';
  return ty;
}

function rulesOf(s) {
  if (!s) return '';
  const r = [];
  if (s.enum) r.push('∈ {' + s.enum.join(', ') + '}');
  if (s.pattern) r.push('pattern ' + s.pattern);
  if (s.minLength !== undefined) r.push('minLength ' + s.minLength);
  if (s.maxLength !== undefined) r.push('maxLength ' + s.maxLength);
  if (s.minimum !== undefined) r.push('≥ ' + s.minimum);
  if (s.maximum !== undefined) r.push('≤ ' + s.maximum);
  if (s.minItems !== undefined) r.push('minItems ' + s.minItems);
  if (s.maxItems !== undefined) r.push('maxItems ' + s.maxItems);
  if (s.default !== undefined) r.push('default ' + JSON.stringify(s.default));
  return r.join('; ');
}

// flatten lists a schema's fields as rows: dotted names, [] for array items.
function flatten(schema, prefix = '', required = true, out = []) {
  if (!schema || typeof schema !== 'object') return out;
  if (prefix) out.push({ name: prefix, schema, required });
  if (schema.type === 'object' || schema.properties) {
    const req = new Set(schema.required || []);
    for (const [k, v] of Object.entries(schema.properties || {})) flatten(v, prefix ? prefix + '.' + k : k, req.has(k), out);
  } else if (schema.type === 'array' && schema.items && (schema.items.properties || schema.items.type === 'object')) {
    const req = new Set(schema.items.required || []);
    for (const [k, v] of Object.entries(schema.items.properties || {})) flatten(v, (prefix || '') + '[].' + k, req.has(k), out);
  }
  return out;
}

function schemaTable(schema) {
  const rows = flatten(schema);
  if (rows.length === 0) return h('p', { class: 'mono small' }, typeOf(schema));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
    h('thead', {}, h('tr', {}, ['name', 'type', 'required', 'rules', 'desc'].map((c) => h('th', { scope: 'col' }, t('doc.col.' + c))))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('th', { scope: 'row', class: 'mono' }, r.name),
      h('td', { class: 'mono nowrap' }, typeOf(r.schema)),
      h('td', { class: 'nowrap' }, r.required ? t('doc.yes') : t('doc.no')),
      h('td', { class: 'mono small' }, rulesOf(r.schema)),
      h('td', {}, r.schema.description || ''))))));
}

function example(labelKey, value) {
  if (value === undefined) return null;
  return h('div', {}, h('h4', {}, t(labelKey)), h('pre', { class: 'code' }, h('code', {}, JSON.stringify(value, null, 2))));
}

function renderDoc({ root, api, describe }, id) {
  const back = h('p', {}, h('a', { href: '#/catalogue' }, '← ' + t('cat.back')));
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  root.append(back, body);
  (async () => {
    let entry, doc;
    try {
      [entry, doc] = await Promise.all([api.get('/catalogue/' + encodeURIComponent(id)), api.get('/catalogue/openapi.json')]);
    } catch (err) {
      clear(body).append(h('p', { class: 'alert alert-error', role: 'alert' }, err.code === 'NOT_FOUND' ? t('cat.notFound') : describe(err)));
      return;
    }
    const op = ((doc.paths || {})[entry.path] || {})[entry.method.toLowerCase()] || {};
    document.title = entry.name + ' · ' + document.title;
    const params = op.parameters || [];
    const reqMedia = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    const ok = (op.responses || {})['200'] || {};
    const okMedia = ok.content && ok.content['application/json'];
    const business = op['x-lijiang-business-errors'] || entry.business_errors || [];
    const lj1 = Object.entries(doc['x-lj1-error-codes'] || {}).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
    const a2 = entry.level === 'A2';
    const lim = entry.limits || {};
    const limit = (v) => (v ? fmtNumber(v, 0) : t('doc.unlimited'));
    const section = (id2, title, ...children) => h('section', { class: 'card', 'aria-labelledby': 'doc-' + id2 }, h('h2', { id: 'doc-' + id2 }, title), ...children);

    clear(body).append(
      h('h1', {}, entry.name),
      entry.description ? h('p', {}, entry.description) : null,
      section('overview', t('doc.overview'),
        h('dl', { class: 'facts' },
          h('dt', {}, t('doc.method')), h('dd', { class: 'mono' }, entry.method + ' ' + entry.path),
          h('dt', {}, t('doc.version')), h('dd', {}, entry.api_version),
          h('dt', {}, t('doc.level')), h('dd', {}, h('span', { class: 'badge' }, entry.level), ' ', t('doc.level.' + entry.level)),
          h('dt', {}, t('doc.status')), h('dd', {}, statusText(entry)),
          h('dt', {}, t('doc.security')), h('dd', { class: 'mono' }, (op.security || []).map((s) => Object.keys(s)[0]).join(', ')),
          entry.acts_for_user ? [h('dt', {}, t('doc.consent')), h('dd', {}, t('doc.consentScope', { scope: entry.consent_scope }))] : null)),
      section('params', t('doc.params'), params.length === 0 ? h('p', { class: 'muted' }, t('doc.noParams')) :
        h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
          h('thead', {}, h('tr', {}, ['name', 'in', 'type', 'required', 'rules', 'desc'].map((c) => h('th', { scope: 'col' }, t('doc.col.' + c))))),
          h('tbody', {}, params.map((p) => h('tr', {},
            h('th', { scope: 'row', class: 'mono' }, p.name),
            h('td', { class: 'nowrap' }, t('doc.in.' + p.in)),
            h('td', { class: 'mono nowrap' }, typeOf(p.schema)),
            h('td', { class: 'nowrap' }, p.required ? t('doc.yes') : t('doc.no')),
            h('td', { class: 'mono small' }, rulesOf(p.schema)),
            h('td', {}, p.description || (p.schema && p.schema.description) || '', p.example !== undefined ? h('div', { class: 'small muted mono' }, t('doc.example') + ': ' + JSON.stringify(p.example)) : null))))))),
      section('request', t('doc.request'), reqMedia
        ? [a2 ? h('p', { class: 'muted' }, t('doc.encrypted')) : null, schemaTable(reqMedia.schema), example('doc.requestExample', reqMedia.example)]
        : h('p', { class: 'muted' }, t('doc.noRequest'))),
      section('response', t('doc.response'), okMedia
        ? [h('p', { class: 'muted' }, a2 ? t('doc.encrypted') : t('doc.masked')), schemaTable(okMedia.schema), example('doc.responseExample', okMedia.example)]
        : h('p', { class: 'muted' }, t('doc.noResponse'))),
      section('errors', t('doc.errors'),
        h('h3', {}, t('doc.businessErrors')),
        business.length === 0 ? h('p', { class: 'muted' }, t('doc.noBusinessErrors')) :
          h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
            h('thead', {}, h('tr', {}, ['code', 'status', 'desc'].map((c) => h('th', { scope: 'col' }, t('doc.col.' + c))))),
            h('tbody', {}, business.map((e) => h('tr', {}, h('th', { scope: 'row', class: 'mono' }, e.code), h('td', {}, String(e.status)), h('td', {}, e.description)))))),
        h('details', {}, h('summary', {}, t('doc.lj1Errors')),
          h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
            h('thead', {}, h('tr', {}, ['code', 'status'].map((c) => h('th', { scope: 'col' }, t('doc.col.' + c))))),
            h('tbody', {}, lj1.map(([c, s]) => h('tr', {}, h('th', { scope: 'row', class: 'mono' }, c), h('td', {}, String(s))))))))),
      section('limits', t('doc.limits'),
        h('dl', { class: 'facts' },
          h('dt', {}, t('doc.rate')), h('dd', {}, limit(lim.rate_per_second)),
          h('dt', {}, t('doc.burst')), h('dd', {}, limit(lim.burst || lim.rate_per_second)),
          h('dt', {}, t('doc.concurrency')), h('dd', {}, limit(lim.concurrency)),
          h('dt', {}, t('doc.daily')), h('dd', {}, limit(lim.daily_quota))),
        h('p', { class: 'small muted' }, t('doc.limitsNote'))),
      section('masking', t('doc.masking'), (entry.masking || []).length === 0 ? h('p', { class: 'muted' }, t('doc.noMasking')) :
        h('ul', {}, entry.masking.map((m) => h('li', {}, h('span', { class: 'mono' }, m.field), ' — ', m.kind)))));
  })();
}
