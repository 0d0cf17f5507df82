// Change notices to my applicants (GET /portal/api/v1/notices): API
// changes, deprecations and retirements, credential expiry, decisions;
// the same notices go to the applicant's callback URL (webhooks).

import { h, clear } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';

export const strings = {
  'zh-CN': {
    'ntc.title': '变更通知',
    'ntc.intro': '银行发给您的申请方的通知（API 变更、弃用与下线、凭证即将到期、审核结果等），最新的在前。同样的通知也会推送到申请方登记的回调地址。',
    'ntc.empty': '还没有通知。API 发生变更或有审核结果时，通知会出现在这里。',
    'ntc.applicant': '申请方：{name}',
    'ntc.api': 'API：{id}',
    'ntc.delivery.delivered': '已推送到回调地址',
    'ntc.delivery.pending': '正在推送到回调地址（第 {n} 次尝试）',
    'ntc.delivery.failed': '推送到回调地址失败：请检查回调地址是否可用',
  },
  en: {
    'ntc.title': 'Change notices',
    'ntc.intro': 'The bank\'s notices to your applicants (API changes, deprecations and retirements, credentials expiring, review decisions), newest first. The same notices go to each applicant\'s callback URL.',
    'ntc.empty': 'No notices yet. They appear here when an API changes or a request is decided.',
    'ntc.applicant': 'Applicant: {name}',
    'ntc.api': 'API: {id}',
    'ntc.delivery.delivered': 'delivered to the callback URL',
    'ntc.delivery.pending': 'being delivered to the callback URL (attempt {n})',
    'ntc.delivery.failed': 'delivery to the callback URL failed: check that the URL works',
  },
};

export function render({ root, api, describe }) {
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  root.append(h('h1', {}, t('ntc.title')), h('p', { class: 'muted' }, t('ntc.intro')), body);
  (async () => {
    let ntc, apls;
    try {
      [ntc, apls] = await Promise.all([api.get('/notices?limit=200'), api.get('/applicants?limit=500')]);
    } catch (err) { clear(body).append(h('p', { class: 'alert alert-error', role: 'alert' }, describe(err))); return; }
    const names = new Map(apls.items.map((a) => [a.id, a.name]));
    clear(body);
    if (ntc.items.length === 0) { body.append(h('p', { class: 'empty' }, t('ntc.empty'))); return; }
    body.append(h('ol', { class: 'plain notices' }, ntc.items.map((n) => h('li', { class: 'card', 'data-notice': n.id },
      h('h2', {}, n.title),
      h('p', { class: 'small muted' }, fmtTime(n.created), ' · ', t('ntc.applicant', { name: names.get(n.applicant_id) || n.applicant_id }),
        n.api_id ? ' · ' + t('ntc.api', { id: n.api_id }) : '', ' · ', h('span', { class: 'mono' }, n.kind)),
      h('p', { class: 'notice-body' }, n.body),
      n.delivery ? h('p', { class: 'small muted' }, t('ntc.delivery.' + (['delivered', 'pending'].includes(n.delivery.status) ? n.delivery.status : 'failed'), { n: n.delivery.attempts + 1 })) : null))));
  })();
}
