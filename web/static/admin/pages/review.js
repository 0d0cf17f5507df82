// Review queue (申请方审核): the production requests waiting for a
// reviewer (GET /production-requests?status=pending_review) with the
// applicant's details and the agreement it accepted, approved or rejected
// with a reason (POST /production-requests/{id}/approve|reject, If-Match);
// and the proposed grants to production apps (GET /grant-proposals), which
// a second reviewer approves or rejects. Separation of duties is the
// platform's (platform/applicants_cmds.go, grant_proposals.go): only the
// reviewer role decides (not admin), and never on what they submitted,
// edited or proposed; the page shows why a button is disabled and who must
// act.

import { h, clear, toast } from '../../js/dom.js';
import { t, lang, fmtTime } from '../../js/i18n.js';
import { versioned, ADMIN_API } from '../../js/api.js';
import { documentsTable } from '../../js/documents.js';

export const strings = {
  'zh-CN': {
    'review.title': '申请方审核',
    'review.intro': '申请方提交的投产申请在此等待审核：核对申请方的资料和所接受的服务协议后批准或驳回。批准后平台为其创建生产应用，并授予所申请的 API。对生产应用的新授权须由另一位审核人员复核。',
    'review.adminOnlyView': '只有审核人员可以批准或驳回（职责分离：系统管理员能创建审核人员，所以不能自己审批）。您可以查看；请审核人员处理。',
    'review.requests': '投产申请',
    'review.status': '状态',
    'review.status.pending_review': '待审核',
    'review.status.approved': '已批准',
    'review.status.rejected': '已驳回',
    'review.status.cancelled': '已取消',
    'review.status.all': '全部',
    'review.col.applicant': '申请方',
    'review.col.apis': '申请的 API',
    'review.col.submitted': '提交时间',
    'review.col.by': '提交人',
    'review.col.status': '状态',
    'review.col.action': '操作',
    'review.open': '审核',
    'review.view': '查看',
    'review.openName': '查看 {name} 的投产申请',
    'review.apiCount': '{n} 个',
    'review.emptyPending': '当前没有待审核的投产申请。申请方在开发者门户提交后会出现在这里。',
    'review.empty': '没有该状态的投产申请。',
    'review.proposals': '待复核的授权',
    'review.proposalsIntro': '对生产应用授予 API 须由两个人完成：一位审核人员提议，另一位审核人员批准或驳回。',
    'review.p.app': '应用',
    'review.p.api': 'API',
    'review.p.by': '提议',
    'review.p.limits': '限额',
    'review.p.defaultLimits': '沿用 API 的限额',
    'review.noProposals': '当前没有待复核的授权提议。',
    'review.you': '您',
    'review.bank': '银行用户 {id}',
    'review.developer': '申请方开发者（{id}）',
    'review.back': '← 返回审核列表',
    'review.detail': '投产申请 {id}',
    'review.applicant': '申请方资料',
    'review.a.name': '名称',
    'review.a.uscc': '统一社会信用代码',
    'review.a.status': '申请方状态',
    'review.a.contact': '联系人',
    'review.a.email': '联系邮箱',
    'review.a.phone': '联系电话',
    'review.a.callback': '通知回调地址',
    'review.a.redirect': 'OAuth 回调地址',
    'review.a.ip': 'IP 白名单',
    'review.a.any': '不限',
    'review.a.none': '无',
    'review.a.page': '查看申请方与应用 →',
    'review.docs': '申请方资质文件',
    'review.docsIntro': '营业执照、授权书等，由申请方的开发者在开发者门户上传；下载后核对，SM3 摘要可用于比对。',
    'review.ast.registered': '已注册',
    'review.ast.sandbox': '沙箱',
    'review.ast.pending_review': '待审核',
    'review.ast.approved': '已投产',
    'review.ast.rejected': '已驳回',
    'review.ast.suspended': '已暂停',
    'review.ast.exited': '已退出',
    'review.request': '申请内容',
    'review.r.status': '状态',
    'review.r.submitted': '提交',
    'review.r.editors': '修改过的人',
    'review.r.agreement': '接受的服务协议',
    'review.r.agreementLine': '版本 {v}，{at} 由 {by} 接受',
    'review.r.sm3': '协议 SM3 摘要',
    'review.r.note': '申请说明（申请方可见）',
    'review.r.internal': '银行内部备注',
    'review.r.apis': '申请的 API',
    'review.r.decision': '审核结果',
    'review.r.decisionLine': '{by} 于 {at}',
    'review.r.reason': '理由',
    'review.r.app': '生产应用',
    'review.decide': '审核决定',
    'review.approve': '批准',
    'review.reject': '驳回',
    'review.notReviewer': '只有审核人员可以决定；系统管理员不能审批。请审核人员处理。',
    'review.ownRequest': '您提交或修改过此申请（职责分离）：须由另一位审核人员决定。',
    'review.ownProposal': '这是您提议的授权（职责分离）：须由另一位审核人员批准或驳回。',
    'review.notApplicantPending': '申请方当前状态为“{status}”，不能审批此申请。',
    'review.approveTitle': '批准投产申请？',
    'review.approveBody': '将为 {name} 创建生产应用，并授予所申请的 {n} 个 API。申请方会收到通知。',
    'review.rejectTitle': '驳回投产申请？',
    'review.rejectBody': '{name} 会收到驳回通知和理由，可修改后重新申请。',
    'review.reasonApprove': '理由（选填，记入审计）',
    'review.reasonReject': '驳回理由（必填，申请方可见）',
    'review.reasonRequired': '请填写驳回理由：申请方需要知道如何修改。',
    'review.approved': '已批准，生产应用 {app} 已创建。',
    'review.rejected': '已驳回。',
    'review.pApproveTitle': '批准授权提议？',
    'review.pApproveBody': '应用 {app} 将获得 API {api} 的授权。',
    'review.pRejectTitle': '驳回授权提议？',
    'review.pRejectBody': '不会授予应用 {app} 该 API。',
    'review.pApproved': '已批准授权：{api}。',
    'review.pRejected': '已驳回授权提议。',
    'review.approveName': '批准 {name}',
    'review.rejectName': '驳回 {name}',
  },
  en: {
    'review.title': 'Applicant review',
    'review.intro': 'Production requests from applicants wait here: check the applicant\'s details and the service agreement it accepted, then approve or reject. Approval creates a production app granted the requested APIs. A new grant to a production app needs a second reviewer.',
    'review.adminOnlyView': 'Only reviewers approve or reject (separation of duties: administrators create reviewers, so they may not decide themselves). You can look; ask a reviewer to act.',
    'review.requests': 'Production requests',
    'review.status': 'Status',
    'review.status.pending_review': 'Pending review',
    'review.status.approved': 'Approved',
    'review.status.rejected': 'Rejected',
    'review.status.cancelled': 'Cancelled',
    'review.status.all': 'All',
    'review.col.applicant': 'Applicant',
    'review.col.apis': 'APIs asked for',
    'review.col.submitted': 'Submitted',
    'review.col.by': 'By',
    'review.col.status': 'Status',
    'review.col.action': 'Action',
    'review.open': 'Review',
    'review.view': 'View',
    'review.openName': 'Open the production request of {name}',
    'review.apiCount': '{n}',
    'review.emptyPending': 'No production request is waiting for review. They appear here when applicants submit them in the developer portal.',
    'review.empty': 'No production request has this status.',
    'review.proposals': 'Grants to check',
    'review.proposalsIntro': 'Granting an API to a production app takes two people: one reviewer proposes, another approves or rejects.',
    'review.p.app': 'App',
    'review.p.api': 'API',
    'review.p.by': 'Proposed',
    'review.p.limits': 'Limits',
    'review.p.defaultLimits': 'the API\'s limits',
    'review.noProposals': 'No grant proposal is waiting.',
    'review.you': 'you',
    'review.bank': 'bank user {id}',
    'review.developer': 'applicant\'s developer ({id})',
    'review.back': '← Back to the review queue',
    'review.detail': 'Production request {id}',
    'review.applicant': 'Applicant',
    'review.a.name': 'Name',
    'review.a.uscc': 'Unified social credit code',
    'review.a.status': 'Applicant status',
    'review.a.contact': 'Contact',
    'review.a.email': 'Contact e-mail',
    'review.a.phone': 'Contact phone',
    'review.a.callback': 'Notice callback URL',
    'review.a.redirect': 'OAuth redirect URIs',
    'review.a.ip': 'IP allow-list',
    'review.a.any': 'any',
    'review.a.none': 'none',
    'review.a.page': 'Applicant and apps →',
    'review.docs': 'Applicant\'s documents',
    'review.docsIntro': 'The business licence, authorisation letter and the like, uploaded by the applicant\'s developer in the developer portal; download them to check, the SM3 digest to compare.',
    'review.ast.registered': 'Registered',
    'review.ast.sandbox': 'Sandbox',
    'review.ast.pending_review': 'Pending review',
    'review.ast.approved': 'In production',
    'review.ast.rejected': 'Rejected',
    'review.ast.suspended': 'Suspended',
    'review.ast.exited': 'Exited',
    'review.request': 'The request',
    'review.r.status': 'Status',
    'review.r.submitted': 'Submitted',
    'review.r.editors': 'Edited by',
    'review.r.agreement': 'Service agreement accepted',
    'review.r.agreementLine': 'version {v}, accepted {at} by {by}',
    'review.r.sm3': 'Agreement SM3 digest',
    'review.r.note': 'Note (the applicant sees it)',
    'review.r.internal': 'Bank\'s internal note',
    'review.r.apis': 'APIs asked for',
    'review.r.decision': 'Decision',
    'review.r.decisionLine': '{by} at {at}',
    'review.r.reason': 'Reason',
    'review.r.app': 'Production app',
    'review.decide': 'Decide',
    'review.approve': 'Approve',
    'review.reject': 'Reject',
    'review.notReviewer': 'Only reviewers decide; administrators may not. Ask a reviewer.',
    'review.ownRequest': 'You submitted or edited this request (separation of duties): another reviewer must decide it.',
    'review.ownProposal': 'You proposed this grant (separation of duties): another reviewer must approve or reject it.',
    'review.notApplicantPending': 'The applicant is "{status}": this request cannot be decided.',
    'review.approveTitle': 'Approve the production request?',
    'review.approveBody': 'A production app is created for {name}, granted the {n} APIs asked for. The applicant is notified.',
    'review.rejectTitle': 'Reject the production request?',
    'review.rejectBody': '{name} is notified with your reason and may ask again.',
    'review.reasonApprove': 'Reason (optional, audited)',
    'review.reasonReject': 'Reason for rejecting (required; the applicant reads it)',
    'review.reasonRequired': 'Give a reason: the applicant needs to know what to change.',
    'review.approved': 'Approved: production app {app} is created.',
    'review.rejected': 'Rejected.',
    'review.pApproveTitle': 'Approve the grant proposal?',
    'review.pApproveBody': 'App {app} is granted API {api}.',
    'review.pRejectTitle': 'Reject the grant proposal?',
    'review.pRejectBody': 'App {app} is not granted the API.',
    'review.pApproved': 'Grant approved: {api}.',
    'review.pRejected': 'Grant proposal rejected.',
    'review.approveName': 'Approve {name}',
    'review.rejectName': 'Reject {name}',
  },
};

// decisionDialog asks for a decision's reason (required when required) in
// a <dialog>; it resolves to the reason, or null when cancelled.
export function decisionDialog({ title, body, reasonLabel, required, confirmLabel, danger }) {
  return new Promise((resolve) => {
    const reason = h('textarea', { id: 'dec-reason', name: 'reason', rows: 3, maxlength: 2000, required, 'aria-describedby': 'dec-err' });
    const err = h('p', { id: 'dec-err', class: 'alert alert-error', role: 'alert', hidden: true });
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary' }, confirmLabel);
    const cancel = h('button', { type: 'button', class: 'btn' }, t('btn.cancel'));
    let result = null;
    const form = h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: 'dec-title' }, title),
      h('p', { id: 'dec-body' }, body),
      h('label', { for: 'dec-reason' }, reasonLabel), reason, err,
      h('div', { class: 'dialog-actions' }, cancel, ok));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dec-title', 'aria-describedby': 'dec-body', 'data-testid': 'decision-dialog' }, form);
    ok.addEventListener('click', (e) => {
      const v = reason.value.trim();
      if (required && !v) {
        e.preventDefault();
        err.textContent = t('review.reasonRequired');
        err.hidden = false;
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
        return;
      }
      result = v;
    });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    reason.focus();
  });
}

// who names an actor key ("admin:<id>", "developer:<id>").
export function who(key, me) {
  if (!key) return '';
  if (key === 'admin:' + me.id) return t('review.you');
  const [kind, id] = key.split(':');
  return kind === 'developer' ? t('review.developer', { id }) : t('review.bank', { id: id || kind });
}

const colon = () => (lang() === 'en' ? ': ' : '：');

export function render({ root, me, api, describe }) {
  const isReviewer = me.role === 'reviewer';
  const myKey = 'admin:' + me.id;
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const fail = (err) => { errorBox.textContent = describe(err); errorBox.hidden = false; };
  const apiNames = new Map();
  const apiName = (id) => apiNames.get(id) || id;
  const loadAPIs = async () => {
    try {
      const list = await api.get('/apis?limit=500');
      for (const a of list.items || []) apiNames.set(a.id, a.name + ' (' + a.method + ' ' + a.path + ')');
    } catch { /* names are a convenience: ids stay */ }
  };

  root.append(h('h1', {}, t('review.title')), h('p', { class: 'muted' }, t('review.intro')),
    isReviewer ? '' : h('p', { class: 'alert alert-info', 'data-testid': 'review-readonly' }, t('review.adminOnlyView')), errorBox);

  const id = params.get('id');
  if (id) detail(id); else queue();

  // ---- the queue --------------------------------------------------------------
  function queue() {
    const status = h('select', { id: 'rq-status', name: 'status' },
      ['pending_review', 'approved', 'rejected', 'cancelled', 'all'].map((s) => h('option', { value: s }, t('review.status.' + s))));
    status.value = params.get('status') || 'pending_review';
    const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
    const pbody = h('div', {}, h('p', { class: 'loading' }, t('loading')));
    status.addEventListener('change', () => loadRequests());
    root.append(
      h('section', { class: 'card', 'aria-labelledby': 'rq-h', 'data-testid': 'review-requests' }, h('h2', { id: 'rq-h' }, t('review.requests')),
        h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'rq-status' }, t('review.status')), status)), body),
      h('section', { class: 'card', 'aria-labelledby': 'gp-h', 'data-testid': 'review-proposals' }, h('h2', { id: 'gp-h' }, t('review.proposals')),
        h('p', { class: 'muted small' }, t('review.proposalsIntro')), pbody));

    const applicants = new Map();
    async function loadRequests() {
      let list;
      try {
        const q = status.value === 'all' ? '' : '&status=' + status.value;
        list = await api.get('/production-requests?limit=200' + q);
        const al = await api.get('/applicants?limit=500');
        for (const a of al.items || []) applicants.set(a.id, a);
      } catch (err) { fail(err); clear(body); return; }
      const items = list.items || [];
      clear(body);
      if (!items.length) { body.append(h('p', { class: 'empty' }, t(status.value === 'pending_review' ? 'review.emptyPending' : 'review.empty'))); return; }
      const nl = (k) => h('span', { class: 'narrow-label' }, t(k) + colon());
      body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
        h('thead', {}, h('tr', {}, ['applicant', 'apis', 'submitted', 'by', 'status', 'action'].map((c) => h('th', { scope: 'col' }, t('review.col.' + c))))),
        h('tbody', {}, items.map((r) => {
          const a = applicants.get(r.applicant_id);
          const name = a ? a.name : r.applicant_id;
          return h('tr', { 'data-request': r.id },
            h('th', { scope: 'row', class: 'wide' }, name, a ? h('div', { class: 'small muted mono' }, a.uscc) : null),
            h('td', { class: 'nowrap' }, nl('review.col.apis'), t('review.apiCount', { n: (r.api_ids || []).length })),
            h('td', { class: 'nowrap small' }, nl('review.col.submitted'), fmtTime(r.submitted_at)),
            h('td', { class: 'small' }, nl('review.col.by'), who(r.submitted_by, me)),
            h('td', { class: 'nowrap' }, statusBadge(r.status)),
            h('td', { class: 'nowrap' }, h('a', { class: 'btn' + (r.status === 'pending_review' ? ' btn-primary' : ''), href: '#/review?id=' + encodeURIComponent(r.id),
              'aria-label': t('review.openName', { name }) }, t(r.status === 'pending_review' ? 'review.open' : 'review.view'))));
        })))));
    }

    async function loadProposals() {
      let list;
      try { list = await api.get('/grant-proposals?status=pending&limit=200'); } catch (err) { fail(err); clear(pbody); return; }
      const items = list.items || [];
      clear(pbody);
      if (!items.length) { pbody.append(h('p', { class: 'empty' }, t('review.noProposals'))); return; }
      pbody.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
        h('thead', {}, h('tr', {}, ['api', 'limits', 'by'].map((c) => h('th', { scope: 'col' }, t('review.p.' + c))), h('th', { scope: 'col' }, t('review.col.action')))),
        h('tbody', {}, items.map((p) => proposalRow(p, () => { loadProposals(); }))))));
    }

    loadAPIs().then(() => { loadRequests(); loadProposals(); });
  }

  function statusBadge(s) {
    const cls = s === 'approved' ? 'badge-ok' : s === 'rejected' || s === 'cancelled' ? 'badge-paused' : 'badge-warn';
    return h('span', { class: 'badge ' + cls, 'data-status': s }, t('review.status.' + s));
  }

  // proposalRow is a pending grant proposal with approve and reject, which
  // only a reviewer who did not propose it may use.
  function proposalRow(p, reload) {
    const why = !isReviewer ? t('review.notReviewer') : p.proposed_by === myKey ? t('review.ownProposal') : null;
    const api_ = apiName(p.api_id);
    const decide = async (approve) => {
      const reason = await decisionDialog({
        title: t(approve ? 'review.pApproveTitle' : 'review.pRejectTitle'),
        body: t(approve ? 'review.pApproveBody' : 'review.pRejectBody', { app: p.app_id, api: api_ }),
        reasonLabel: t(approve ? 'review.reasonApprove' : 'review.reasonReject'), required: !approve,
        confirmLabel: t(approve ? 'review.approve' : 'review.reject'), danger: !approve });
      if (reason === null) return;
      try {
        await api.post('/grant-proposals/' + encodeURIComponent(p.id) + (approve ? '/approve' : '/reject'), { reason });
        toast(approve ? t('review.pApproved', { api: api_ }) : t('review.pRejected'));
      } catch (err) { fail(err); }
      reload();
    };
    const lim = p.limits && Object.keys(p.limits).length ? JSON.stringify(p.limits) : t('review.p.defaultLimits');
    return h('tr', { 'data-proposal': p.id },
      h('th', { scope: 'row', class: 'wide' }, api_, h('div', { class: 'small muted mono' }, t('review.p.app') + colon() + p.app_id)),
      h('td', { class: 'small' }, lim),
      h('td', { class: 'small' }, who(p.proposed_by, me), h('div', { class: 'muted' }, fmtTime(p.proposed_at))),
      h('td', {}, h('div', { class: 'actions-row' },
        h('button', { type: 'button', class: 'btn btn-primary', disabled: Boolean(why), title: why, 'aria-label': t('review.approveName', { name: api_ }), 'data-action': 'approve-proposal', onclick: () => decide(true) }, t('review.approve')),
        h('button', { type: 'button', class: 'btn btn-danger', disabled: Boolean(why), title: why, 'aria-label': t('review.rejectName', { name: api_ }), 'data-action': 'reject-proposal', onclick: () => decide(false) }, t('review.reject'))),
      why ? h('p', { class: 'hint review-why', 'data-testid': 'proposal-why' }, why) : null));
  }

  // ---- one request ------------------------------------------------------------
  async function detail(reqID) {
    const box = h('div', { 'data-testid': 'review-detail' }, h('p', { class: 'loading' }, t('loading')));
    root.append(h('p', {}, h('a', { href: '#/review' }, t('review.back'))), box);
    let r, a, docs;
    try {
      await loadAPIs();
      r = await api.get('/production-requests/' + encodeURIComponent(reqID));
      [a, docs] = await Promise.all([api.get('/applicants/' + encodeURIComponent(r.applicant_id)),
        api.get('/applicants/' + encodeURIComponent(r.applicant_id) + '/documents?limit=50')]);
    } catch (err) { fail(err); clear(box); return; }
    const docPath = (d) => '/applicants/' + encodeURIComponent(a.id) + '/documents/' + encodeURIComponent(d.id);
    const fact = (k, v) => [h('dt', {}, t(k)), h('dd', {}, v === '' || v === null || v === undefined ? h('span', { class: 'muted' }, t('review.a.none')) : v)];
    const list = (xs, none) => (xs && xs.length ? h('ul', { class: 'plain-list' }, xs.map((x) => h('li', { class: 'mono' }, x))) : h('span', { class: 'muted' }, t(none)));
    const pending = r.status === 'pending_review';
    const why = !isReviewer ? t('review.notReviewer')
      : r.submitted_by === myKey || (r.editors || []).includes(myKey) ? t('review.ownRequest')
        : a.status !== 'pending_review' ? t('review.notApplicantPending', { status: t('review.ast.' + a.status) }) : null;
    const decide = async (approve) => {
      const reason = await decisionDialog({
        title: t(approve ? 'review.approveTitle' : 'review.rejectTitle'),
        body: t(approve ? 'review.approveBody' : 'review.rejectBody', { name: a.name, n: (r.api_ids || []).length }),
        reasonLabel: t(approve ? 'review.reasonApprove' : 'review.reasonReject'), required: !approve,
        confirmLabel: t(approve ? 'review.approve' : 'review.reject'), danger: !approve });
      if (reason === null) return;
      try {
        const out = await versioned('POST', '/production-requests/' + encodeURIComponent(r.id) + (approve ? '/approve' : '/reject'), r.version, { reason });
        toast(approve ? t('review.approved', { app: out.production_app.id }) : t('review.rejected'));
      } catch (err) { fail(err); errorBox.scrollIntoView({ block: 'center' }); return; }
      clear(root);
      render({ root, me, api, describe });
    };
    clear(box).append(h('div', {},
      h('h2', {}, t('review.detail', { id: r.id }), ' ', statusBadge(r.status)),
      h('div', { class: 'grid-2' },
        h('section', { class: 'card', 'aria-labelledby': 'rv-apl' }, h('h2', { id: 'rv-apl' }, t('review.applicant')),
          h('dl', { class: 'facts', 'data-testid': 'review-applicant' },
            fact('review.a.name', a.name), fact('review.a.uscc', h('span', { class: 'mono' }, a.uscc)),
            fact('review.a.status', h('span', { class: 'badge' }, t('review.ast.' + a.status))),
            fact('review.a.contact', a.contact_name), fact('review.a.email', a.contact_email), fact('review.a.phone', a.contact_phone),
            fact('review.a.callback', h('span', { class: 'mono' }, a.callback_url)),
            fact('review.a.redirect', list(a.redirect_uris, 'review.a.none')),
            fact('review.a.ip', list(a.ip_allow, 'review.a.any'))),
          h('p', {}, h('a', { href: '#/applicants?id=' + encodeURIComponent(a.id) }, t('review.a.page')))),
        h('section', { class: 'card', 'aria-labelledby': 'rv-req' }, h('h2', { id: 'rv-req' }, t('review.request')),
          h('dl', { class: 'facts' },
            fact('review.r.submitted', who(r.submitted_by, me) + ' · ' + fmtTime(r.submitted_at)),
            fact('review.r.editors', (r.editors || []).length ? (r.editors || []).map((e) => who(e, me)).join('、') : ''),
            fact('review.r.agreement', t('review.r.agreementLine', { v: r.agreement_version, at: fmtTime(r.accepted_at), by: who(r.accepted_by, me) || r.accepted_by })),
            fact('review.r.sm3', h('span', { class: 'mono review-hash' }, r.agreement_sm3)),
            fact('review.r.note', r.note), fact('review.r.internal', r.internal_note || ''),
            r.reviewed_by ? fact('review.r.decision', t('review.r.decisionLine', { by: who(r.reviewed_by, me), at: fmtTime(r.reviewed_at) })) : null,
            r.decision_reason ? fact('review.r.reason', r.decision_reason) : null,
            r.production_app_id ? fact('review.r.app', h('span', { class: 'mono' }, r.production_app_id)) : null),
          h('h3', { class: 'dash-h3' }, t('review.r.apis')),
          h('ul', { class: 'plain-list', 'data-testid': 'review-apis' }, (r.api_ids || []).map((x) => h('li', {}, apiName(x)))))),
      h('section', { class: 'card', 'aria-labelledby': 'rv-docs', 'data-testid': 'review-documents' }, h('h2', { id: 'rv-docs' }, t('review.docs')),
        h('p', { class: 'muted' }, t('review.docsIntro')),
        documentsTable(docs.items || [], { base: ADMIN_API, path: docPath, onError: fail })),
      pending ? h('section', { class: 'card', 'aria-labelledby': 'rv-dec' }, h('h2', { id: 'rv-dec' }, t('review.decide')),
        h('div', { class: 'actions-row' },
          h('button', { type: 'button', class: 'btn btn-primary', disabled: Boolean(why), title: why, 'data-action': 'approve', onclick: () => decide(true) }, t('review.approve')),
          h('button', { type: 'button', class: 'btn btn-danger', disabled: Boolean(why), title: why, 'data-action': 'reject', onclick: () => decide(false) }, t('review.reject'))),
        why ? h('p', { class: 'hint', 'data-testid': 'decide-why' }, why) : null) : null));
  }
}
