// Operations: every API of the catalogue with its pause state; operators
// (and admins) pause one after a confirmation, and resume it, in one click
// each (POST /admin/api/v1/apis/{id}/pause and /resume). Other roles see
// the state and why the buttons are not theirs.

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';
import { confirmDialog } from '../../js/dialog.js';

export const strings = {
  'zh-CN': {
    'ops.title': '运行控制',
    'ops.intro': '暂停某个 API 后，所有节点在 1 秒内对它的全部调用返回 API_PAUSED；恢复后立即重新放行。每次操作都会记入变更记录。',
    'ops.apis': 'API 暂停与恢复',
    'ops.col.api': 'API',
    'ops.col.path': '方法与路径',
    'ops.col.level': '等级',
    'ops.col.status': '目录状态',
    'ops.col.state': '运行状态',
    'ops.col.action': '操作',
    'ops.running': '运行中',
    'ops.paused': '已暂停',
    'ops.pausedBy': '{by} 于 {at} 暂停',
    'ops.pausedUntil': '，将于 {at} 自动恢复',
    'ops.reason': '原因：{reason}',
    'ops.pause': '暂停',
    'ops.resume': '恢复',
    'ops.pauseName': '暂停 {name}',
    'ops.resumeName': '恢复 {name}',
    'ops.confirmTitle': '确认暂停 {name}？',
    'ops.confirmBody': '暂停后，所有应用对 {method} {path} 的调用都会被拒绝（API_PAUSED），直到有人恢复它。',
    'ops.confirmReason': '原因（选填，记入变更记录，不会展示给调用方）',
    'ops.confirmOk': '确认暂停',
    'ops.didPause': '已暂停 {name}。调用将返回 API_PAUSED。',
    'ops.didResume': '已恢复 {name}，调用已重新放行。',
    'ops.notYours': '仅运维人员或系统管理员可以暂停或恢复 API；您可以查看状态。',
    'ops.empty': '目录中还没有 API。运维人员可通过管理 API（POST /admin/api/v1/apis）创建并发布 API。',
    'ops.status.draft': '草稿',
    'ops.status.published': '已发布',
    'ops.status.deprecated': '已弃用',
    'ops.status.retired': '已下线',
    'ops.system': '系统（限流策略）',
    'ops.you': '您',
    'ops.user': '管理用户 {id}',
  },
  en: {
    'ops.title': 'Operations',
    'ops.intro': 'A paused API answers every call with API_PAUSED on every node within a second; resuming lets calls through at once. Each action is in the change record.',
    'ops.apis': 'Pause and resume APIs',
    'ops.col.api': 'API',
    'ops.col.path': 'Method and path',
    'ops.col.level': 'Level',
    'ops.col.status': 'Catalogue status',
    'ops.col.state': 'State',
    'ops.col.action': 'Action',
    'ops.running': 'Running',
    'ops.paused': 'Paused',
    'ops.pausedBy': 'paused by {by} at {at}',
    'ops.pausedUntil': '; resumes by itself at {at}',
    'ops.reason': 'Reason: {reason}',
    'ops.pause': 'Pause',
    'ops.resume': 'Resume',
    'ops.pauseName': 'Pause {name}',
    'ops.resumeName': 'Resume {name}',
    'ops.confirmTitle': 'Pause {name}?',
    'ops.confirmBody': 'Every app\'s call of {method} {path} will be refused (API_PAUSED) until someone resumes it.',
    'ops.confirmReason': 'Reason (optional; kept in the change record, never shown to callers)',
    'ops.confirmOk': 'Pause it',
    'ops.didPause': '{name} is paused. Calls answer API_PAUSED.',
    'ops.didResume': '{name} is resumed; calls go through again.',
    'ops.notYours': 'Only operators and administrators pause or resume APIs; you can see the state.',
    'ops.empty': 'The catalogue has no APIs yet. Operators create and publish them through the admin API (POST /admin/api/v1/apis).',
    'ops.status.draft': 'Draft',
    'ops.status.published': 'Published',
    'ops.status.deprecated': 'Deprecated',
    'ops.status.retired': 'Retired',
    'ops.system': 'the system (a limit)',
    'ops.you': 'you',
    'ops.user': 'bank user {id}',
  },
};

export function render({ root, me, api, describe, can }) {
  const who = (by) => {
    if (by === 'system') return t('ops.system');
    if (by === 'admin:' + me.id) return t('ops.you');
    return by.startsWith('admin:') ? t('ops.user', { id: by.slice(6) }) : by;
  };
  const mayAct = can('operator');
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  root.append(
    h('h1', {}, t('ops.title')),
    h('p', { class: 'muted' }, t('ops.intro')),
    h('section', { class: 'card', 'aria-labelledby': 'ops-apis' },
      h('h2', { id: 'ops-apis' }, t('ops.apis')),
      mayAct ? null : h('p', { class: 'alert alert-info' }, t('ops.notYours')),
      errorBox, body));

  const fail = (err) => { errorBox.textContent = describe(err); errorBox.hidden = false; };

  const load = async () => {
    let apis, pauses;
    try {
      [apis, pauses] = await Promise.all([api.get('/apis?limit=500'), api.get('/pauses')]);
    } catch (err) { fail(err); clear(body); return; }
    errorBox.hidden = true;
    const paused = new Map(pauses.items.filter((p) => p.target === 'api').map((p) => [p.id, p]));
    const items = apis.items.filter((a) => a.status !== 'retired');
    clear(body);
    if (items.length === 0) { body.append(h('p', { class: 'empty' }, t('ops.empty'))); return; }
    body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['api', 'path', 'level', 'status', 'state', 'action'].map((c) => h('th', { scope: 'col' }, t('ops.col.' + c))))),
      h('tbody', {}, items.map((a) => row(a, paused.get(a.id)))))));
  };

  const row = (a, p) => {
    const name = a.name || a.id;
    let action;
    if (p) {
      action = h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'resume', 'data-api': a.id, disabled: !mayAct,
        'aria-label': t('ops.resumeName', { name }), title: mayAct ? null : t('ops.notYours'), onclick: async (e) => {
          e.currentTarget.disabled = true;
          try { await api.post('/apis/' + encodeURIComponent(a.id) + '/resume', {}); toast(t('ops.didResume', { name })); } catch (err) { fail(err); }
          load();
        } }, t('ops.resume'));
    } else {
      action = h('button', { type: 'button', class: 'btn btn-danger', 'data-action': 'pause', 'data-api': a.id, disabled: !mayAct,
        'aria-label': t('ops.pauseName', { name }), title: mayAct ? null : t('ops.notYours'), onclick: async () => {
          const ok = await confirmDialog({ title: t('ops.confirmTitle', { name }), body: t('ops.confirmBody', { method: a.method, path: a.path }),
            confirmLabel: t('ops.confirmOk'), danger: true, reasonLabel: t('ops.confirmReason') });
          if (!ok) return;
          try {
            await api.post('/apis/' + encodeURIComponent(a.id) + '/pause', ok.reason ? { reason: ok.reason } : {});
            toast(t('ops.didPause', { name }));
          } catch (err) { fail(err); }
          load();
        } }, t('ops.pause'));
    }
    const state = p
      ? h('div', {}, h('span', { class: 'badge badge-paused' }, t('ops.paused')),
        h('div', { class: 'small muted' }, t('ops.pausedBy', { by: who(p.by), at: fmtTime(p.at) }) +
          (p.resume_at ? t('ops.pausedUntil', { at: fmtTime(p.resume_at) }) : '')),
        p.reason ? h('div', { class: 'small muted' }, t('ops.reason', { reason: p.reason })) : null)
      : h('span', { class: 'badge badge-ok' }, t('ops.running'));
    return h('tr', { 'data-api': a.id },
      h('th', { scope: 'row' }, h('div', {}, name), h('div', { class: 'small muted mono' }, a.id)),
      h('td', { class: 'mono' }, a.method + ' ' + a.path),
      h('td', { class: 'nowrap' }, h('span', { class: 'badge' }, a.level)),
      h('td', { class: 'nowrap' }, t('ops.status.' + a.status)),
      h('td', { class: 'wide' }, state),
      h('td', { class: 'nowrap' }, action));
  };

  load();
}
