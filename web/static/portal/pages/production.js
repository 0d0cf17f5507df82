// Production access: my production requests and their status (GET
// /portal/api/v1/production-requests), and a new one (POST
// /applicants/{id}/production-requests): the APIs asked for and the
// current agreement accepted. The bank's reviewer decides.

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';
import { agreementText } from './agreement.js';

export const strings = {
  'zh-CN': {
    'prd.title': '生产申请',
    'prd.intro': '沙箱联调完成后，选择要在生产环境调用的 API 并接受服务协议，提交生产接入申请。银行审核人员批准后会签发生产应用，仅可调用获批的 API。',
    'prd.mine': '我的生产申请',
    'prd.empty': '还没有生产申请。完成沙箱联调后，在下方提交申请。',
    'prd.new': '新建生产申请',
    'prd.applicant': '申请方',
    'prd.apis': '要申请的 API',
    'prd.apisHint': '至少选择一个。沙箱应用可调用全部已发布的 API；生产应用只能调用获批的 API。',
    'prd.noApis': '目录中还没有已发布的 API，暂时无法申请。',
    'prd.note': '给审核人员的说明（选填）',
    'prd.noteHint': '例如业务场景、预计调用量；银行与申请方双方可见。',
    'prd.agreement': '服务协议',
    'prd.accept': '我已阅读并代表申请方接受服务协议（版本 {version}）',
    'prd.readAgreement': '阅读协议全文',
    'prd.mustAccept': '请先阅读并接受服务协议。',
    'prd.mustChoose': '请至少选择一个 API。',
    'prd.noApplicant': '请先在“申请方登记”页登记申请方。',
    'prd.noAgreement': '银行尚未发布服务协议，暂时无法申请生产接入。',
    'prd.submit': '提交申请',
    'prd.busy': '正在提交…',
    'prd.done': '已提交生产申请，等待银行审核。',
    'prd.col.id': '申请',
    'prd.col.applicant': '申请方',
    'prd.col.apis': 'API',
    'prd.col.status': '状态',
    'prd.col.agreement': '接受的协议',
    'prd.col.result': '审核结果',
    'prd.status.pending_review': '审核中',
    'prd.status.approved': '已批准',
    'prd.status.rejected': '已拒绝',
    'prd.status.cancelled': '已取消',
    'prd.prodApp': '生产应用 {app}',
    'prd.waiting': '等待银行审核人员处理',
    'prd.reason': '理由：{reason}',
    'prd.submitted': '提交于 {at}',
  },
  en: {
    'prd.title': 'Production access',
    'prd.intro': 'When your sandbox tests pass, choose the APIs to call in production, accept the agreement and submit a production request. Once a bank reviewer approves it you get a production app that may call the approved APIs only.',
    'prd.mine': 'My production requests',
    'prd.empty': 'No production requests yet. When your sandbox tests pass, submit one below.',
    'prd.new': 'New production request',
    'prd.applicant': 'Applicant',
    'prd.apis': 'APIs to ask for',
    'prd.apisHint': 'Choose at least one. A sandbox app may call every published API; a production app only those approved.',
    'prd.noApis': 'The catalogue has no published API yet, so there is nothing to ask for.',
    'prd.note': 'Note to the reviewers (optional)',
    'prd.noteHint': 'For example the business use and expected volume; read by the bank and the applicant.',
    'prd.agreement': 'Agreement',
    'prd.accept': 'I have read the agreement (version {version}) and accept it on the applicant\'s behalf',
    'prd.readAgreement': 'Read the agreement',
    'prd.mustAccept': 'Read and accept the agreement first.',
    'prd.mustChoose': 'Choose at least one API.',
    'prd.noApplicant': 'Register an applicant first (on the "Applicant" page).',
    'prd.noAgreement': 'The bank has not published an agreement yet, so production access cannot be requested.',
    'prd.submit': 'Submit the request',
    'prd.busy': 'Submitting…',
    'prd.done': 'Production request submitted; the bank will review it.',
    'prd.col.id': 'Request',
    'prd.col.applicant': 'Applicant',
    'prd.col.apis': 'APIs',
    'prd.col.status': 'Status',
    'prd.col.agreement': 'Agreement accepted',
    'prd.col.result': 'Outcome',
    'prd.status.pending_review': 'Under review',
    'prd.status.approved': 'Approved',
    'prd.status.rejected': 'Rejected',
    'prd.status.cancelled': 'Cancelled',
    'prd.prodApp': 'production app {app}',
    'prd.waiting': 'waiting for a bank reviewer',
    'prd.reason': 'Reason: {reason}',
    'prd.submitted': 'submitted {at}',
  },
};

export function render({ root, api, describe, query }) {
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const list = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const formCard = h('section', { class: 'card', 'aria-labelledby': 'prd-new' });
  root.append(h('h1', {}, t('prd.title')), h('p', { class: 'muted' }, t('prd.intro')),
    h('section', { class: 'card', 'aria-labelledby': 'prd-mine' }, h('h2', { id: 'prd-mine' }, t('prd.mine')), errorBox, list),
    formCard);
  const fail = (box, err) => { box.textContent = describe(err); box.hidden = false; };
  let names = new Map();
  let apiNames = new Map();

  const loadList = async () => {
    let reqs;
    try { reqs = await api.get('/production-requests?limit=500'); } catch (err) { fail(errorBox, err); clear(list); return; }
    errorBox.hidden = true;
    clear(list);
    if (reqs.items.length === 0) { list.append(h('p', { class: 'empty' }, t('prd.empty'))); return; }
    list.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['id', 'applicant', 'apis', 'status', 'agreement', 'result'].map((c) => h('th', { scope: 'col' }, t('prd.col.' + c))))),
      h('tbody', {}, reqs.items.map((r) => h('tr', { 'data-request': r.id },
        h('th', { scope: 'row' }, h('div', { class: 'mono small' }, r.id), h('div', { class: 'small muted' }, t('prd.submitted', { at: fmtTime(r.submitted_at) }))),
        h('td', {}, names.get(r.applicant_id) || r.applicant_id),
        h('td', {}, h('ul', { class: 'plain' }, r.api_ids.map((id) => h('li', {}, apiNames.get(id) || id)))),
        h('td', { class: 'nowrap' }, h('span', { class: 'badge' + (r.status === 'approved' ? ' badge-ok' : r.status === 'rejected' ? ' badge-paused' : '') }, t('prd.status.' + r.status))),
        h('td', { class: 'nowrap' }, r.agreement_version, h('div', { class: 'small muted' }, fmtTime(r.accepted_at))),
        h('td', {}, r.status === 'pending_review' ? h('span', { class: 'muted' }, t('prd.waiting')) : null,
          r.production_app_id ? h('div', { class: 'mono small' }, t('prd.prodApp', { app: r.production_app_id })) : null,
          r.decision_reason ? h('div', { class: 'small' }, t('prd.reason', { reason: r.decision_reason })) : null)))))));
  };

  const drawForm = (apls, cat, agr) => {
    const title = h('h2', { id: 'prd-new' }, t('prd.new'));
    clear(formCard).append(title);
    const eligible = apls.filter((a) => a.status === 'sandbox' || a.status === 'rejected' || a.status === 'approved' || a.status === 'pending_review');
    if (eligible.length === 0) { formCard.append(h('p', { class: 'empty' }, t('prd.noApplicant'))); return; }
    if (!agr) { formCard.append(h('p', { class: 'empty' }, t('prd.noAgreement'))); return; }
    if (cat.length === 0) { formCard.append(h('p', { class: 'empty' }, t('prd.noApis'))); return; }
    const formError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const accept = h('input', { id: 'prd-accept', name: 'accept', type: 'checkbox', class: 'check', checked: query.get('accepted') === agr.version });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('prd.submit'));
    const form = h('form', { novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const f = form.elements;
      const ids = [...form.querySelectorAll('input[name="api"]:checked')].map((c) => c.value);
      if (ids.length === 0) { formError.textContent = t('prd.mustChoose'); formError.hidden = false; return; }
      if (!accept.checked) { formError.textContent = t('prd.mustAccept'); formError.hidden = false; accept.focus(); return; }
      submit.disabled = true;
      submit.textContent = t('prd.busy');
      try {
        await api.post('/applicants/' + encodeURIComponent(f.applicant.value) + '/production-requests',
          { api_ids: ids, agreement_version: agr.version, note: f.note.value.trim() });
        formError.hidden = true;
        toast(t('prd.done'));
        form.reset();
        accept.checked = false;
        loadList();
      } catch (err) { fail(formError, err); } finally {
        submit.disabled = false;
        submit.textContent = t('prd.submit');
      }
    } },
    h('div', { class: 'field' }, h('label', { for: 'prd-applicant' }, t('prd.applicant')),
      h('select', { id: 'prd-applicant', name: 'applicant' }, eligible.map((a) => h('option', { value: a.id, selected: a.id === query.get('applicant') }, a.name)))),
    h('fieldset', { class: 'field', 'aria-describedby': 'prd-apis-hint' }, h('legend', {}, t('prd.apis')),
      h('p', { id: 'prd-apis-hint', class: 'hint' }, t('prd.apisHint')),
      h('ul', { class: 'plain check-list' }, cat.map((a) => h('li', {},
        h('input', { id: 'prd-api-' + a.id, type: 'checkbox', name: 'api', value: a.id, class: 'check' }),
        h('label', { for: 'prd-api-' + a.id }, a.name, ' ', h('span', { class: 'badge' }, a.level), ' ', h('span', { class: 'mono small muted' }, a.method + ' ' + a.path)))))),
    h('div', { class: 'field' }, h('label', { for: 'prd-note' }, t('prd.note')),
      h('textarea', { id: 'prd-note', name: 'note', rows: 3, maxlength: 4000, 'aria-describedby': 'prd-note-hint' }),
      h('p', { id: 'prd-note-hint', class: 'hint' }, t('prd.noteHint'))),
    h('fieldset', { class: 'field' }, h('legend', {}, t('prd.agreement')),
      h('details', {}, h('summary', {}, t('prd.readAgreement') + ' · ' + agr.title), agreementText(agr.text)),
      h('div', { class: 'check-field' }, accept, h('label', { for: 'prd-accept' }, t('prd.accept', { version: agr.version })))),
    formError, submit);
    formCard.append(form);
    if (query.get('new')) title.scrollIntoView();
  };

  (async () => {
    let apls, cat, agr = null;
    try {
      [apls, cat] = await Promise.all([api.get('/applicants?limit=500'), api.get('/catalogue?limit=500')]);
      try { agr = await api.get('/agreements/current'); } catch (err) { if (err.code !== 'NOT_FOUND') throw err; }
    } catch (err) { fail(errorBox, err); clear(list); return; }
    names = new Map(apls.items.map((a) => [a.id, a.name]));
    apiNames = new Map(cat.items.map((a) => [a.id, a.name]));
    drawForm(apls.items, cat.items, agr);
    loadList();
  })();
}
