// The service agreement (GET /portal/api/v1/agreements/current): its text,
// version and SM3 digest. Accepting it is recorded with a production
// request (POST /applicants/{id}/production-requests names the version), so
// "accept" here leads on to that request with the version filled in.

import { h, clear } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';

export const strings = {
  'zh-CN': {
    'agr.title': '服务协议',
    'agr.intro': '申请生产接入前，须代表申请方接受银行当前版本的开放银行服务协议。接受记录（版本、SM3 摘要、时间、接受人）随生产申请一并保存。',
    'agr.version': '版本 {version}，发布于 {at}',
    'agr.sm3': 'SM3 摘要',
    'agr.none': '银行尚未发布服务协议，暂时无法申请生产接入。请稍后再来，或联系银行开放平台运营人员。',
    'agr.applicant': '代表哪个申请方接受',
    'agr.noApplicant': '请先在“申请方登记”页登记申请方，再接受协议。',
    'agr.accept': '我已阅读并代表所选申请方接受本协议（版本 {version}）',
    'agr.continue': '接受并继续：选择要申请的 API',
    'agr.mustAccept': '请先勾选“我已阅读并接受”。',
  },
  en: {
    'agr.title': 'Agreement',
    'agr.intro': 'Before asking for production access you accept the bank\'s current open banking agreement on the applicant\'s behalf. The acceptance (version, SM3 digest, time, who) is kept with the production request.',
    'agr.version': 'Version {version}, published {at}',
    'agr.sm3': 'SM3 digest',
    'agr.none': 'The bank has not published an agreement yet, so production access cannot be requested. Come back later or contact the bank\'s open-platform team.',
    'agr.applicant': 'Accept on behalf of',
    'agr.noApplicant': 'Register an applicant first (on the "Applicant" page), then accept the agreement.',
    'agr.accept': 'I have read this agreement (version {version}) and accept it on behalf of the chosen applicant',
    'agr.continue': 'Accept and continue: choose the APIs',
    'agr.mustAccept': 'Tick "I have read … and accept" first.',
  },
};

// agreementText draws the agreement's plain text: a paragraph per block.
export function agreementText(text) {
  return h('div', { class: 'agreement-text' }, String(text || '').split(/\n\s*\n/).map((p) => h('p', {}, p)));
}

export function render({ root, api, describe, query, go }) {
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  root.append(h('h1', {}, t('agr.title')), h('p', { class: 'muted' }, t('agr.intro')), errorBox, body);
  (async () => {
    let agr, apls;
    try {
      apls = await api.get('/applicants?limit=500');
      agr = await api.get('/agreements/current');
    } catch (err) {
      clear(body);
      if (err.code === 'NOT_FOUND') { body.append(h('p', { class: 'empty' }, t('agr.none'))); return; }
      errorBox.textContent = describe(err); errorBox.hidden = false; return;
    }
    clear(body);
    const eligible = apls.items.filter((a) => a.status !== 'exited' && a.status !== 'suspended');
    const note = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const check = h('input', { id: 'agr-accept', name: 'accept', type: 'checkbox', class: 'check', onchange: () => { if (check.checked) note.hidden = true; } });
    const select = h('select', { id: 'agr-applicant', name: 'applicant' },
      eligible.map((a) => h('option', { value: a.id, selected: a.id === query.get('applicant') }, a.name)));
    body.append(h('section', { class: 'card', 'aria-labelledby': 'agr-heading' },
      h('h2', { id: 'agr-heading' }, agr.title),
      h('p', { class: 'small muted' }, t('agr.version', { version: agr.version, at: fmtTime(agr.created_at) })),
      agreementText(agr.text),
      h('p', { class: 'small muted' }, t('agr.sm3') + ': ', h('span', { class: 'mono break' }, agr.sm3))),
    h('section', { class: 'card' },
      eligible.length === 0
        ? h('p', { class: 'empty' }, t('agr.noApplicant'))
        : h('form', { novalidate: true, onsubmit: (e) => {
          e.preventDefault();
          if (!check.checked) { note.textContent = t('agr.mustAccept'); note.hidden = false; check.focus(); return; }
          go('#/production?new=1&accepted=' + encodeURIComponent(agr.version) + '&applicant=' + encodeURIComponent(select.value));
        } },
        h('div', { class: 'field' }, h('label', { for: 'agr-applicant' }, t('agr.applicant')), select),
        h('div', { class: 'field check-field' }, check, h('label', { for: 'agr-accept' }, t('agr.accept', { version: agr.version }))),
        note,
        h('button', { type: 'submit', class: 'btn btn-primary' }, t('agr.continue')))));
  })();
}
