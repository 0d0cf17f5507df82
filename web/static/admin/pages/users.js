// Admin users and sessions: the bank's users of this console with role,
// second factor, last login, failed logins and lock-out (GET
// /admin/api/v1/users); admins create one (POST /users: the initial password
// and TOTP secret are shown once, here, and never again), disable, enable or
// unlock one (PATCH /users/{id} with If-Match), and end an open session
// (DELETE /sessions/{id}). Auditors see both lists.

import { h, clear, toast } from '../../js/dom.js';
import { t, lang, fmtTime } from '../../js/i18n.js';
import { raw } from '../../js/api.js';
import { confirmDialog } from '../../js/dialog.js';

const ROLES = ['admin', 'operator', 'reviewer', 'auditor'];

export const strings = {
  'zh-CN': {
    'users.title': '管理员',
    'users.intro': '管理控制台的银行内部用户。登录需要用户名、密码和动态验证码（TOTP）。连续多次登录失败会暂时锁定账户。',
    'users.list': '用户',
    'users.col.user': '用户',
    'users.col.role': '角色',
    'users.col.status': '状态',
    'users.col.factor': '第二因素',
    'users.col.last': '最近登录',
    'users.col.failed': '失败次数',
    'users.col.action': '操作',
    'users.status.active': '启用',
    'users.status.disabled': '已停用',
    'users.factor.TOTP': '动态验证码（TOTP）',
    'users.factor.none': '无',
    'users.never': '从未登录',
    'users.locked': '已锁定至 {at}',
    'users.you': '（您）',
    'users.disable': '停用',
    'users.enable': '启用',
    'users.unlock': '解锁',
    'users.disableName': '停用 {name}',
    'users.enableName': '启用 {name}',
    'users.unlockName': '解锁 {name}',
    'users.disableTitle': '确认停用 {name}？',
    'users.disableBody': '停用后 {name} 无法再登录；已登录的会话请在下方“会话”中结束。可随时重新启用。',
    'users.disableOk': '确认停用',
    'users.disabled': '已停用 {name}。',
    'users.enabled': '已启用 {name}。',
    'users.unlocked': '已解锁 {name}。',
    'users.notSelf': '不能停用自己的账户：请另一位系统管理员操作。',
    'users.adminOnly': '仅系统管理员可以创建、停用或解锁用户和结束会话；您可以查看。',
    'users.empty': '还没有用户。',
    'users.create': '新建用户',
    'users.f.username': '用户名',
    'users.f.usernameHint': '3–32 个字符：以小写字母开头，可含小写字母、数字、点、横线或下划线；登录时使用。',
    'users.f.display': '姓名（选填）',
    'users.f.role': '角色',
    'users.createBtn': '创建用户',
    'users.created.title': '已创建用户 {name}：请立即交付以下初始凭据',
    'users.created.warn': '初始密码和 TOTP 密钥只显示这一次，关闭后无法再查看（服务器只保存其加密形式）。请通过安全渠道交给本人：本人把 TOTP 密钥输入认证器 App（或用绑定地址生成二维码）完成绑定。不要截图或保存到共享位置。',
    'users.created.password': '初始密码',
    'users.created.secret': 'TOTP 密钥（输入认证器 App）',
    'users.created.uri': 'TOTP 绑定地址（otpauth://）',
    'users.created.done': '我已交付，关闭',
    'users.sessions': '会话',
    'users.sessionsIntro': '当前打开的会话（管理员和开发者）。结束会话会让对方立即退出。',
    'users.s.user': '用户',
    'users.s.kind': '类型',
    'users.s.addr': '来源地址',
    'users.s.created': '开始',
    'users.s.seen': '最近活动',
    'users.s.expires': '到期',
    'users.s.action': '操作',
    'users.kind.admin': '管理员',
    'users.kind.developer': '开发者',
    'users.end': '结束会话',
    'users.endName': '结束 {name} 的会话',
    'users.endTitle': '确认结束 {name} 的会话？',
    'users.endBody': '对方将立即退出，需要重新登录。',
    'users.endSelf': '这是您自己的会话之一：结束当前会话会让您立即退出。',
    'users.endOk': '结束会话',
    'users.ended': '已结束会话。',
    'users.noSessions': '当前没有打开的会话。',
  },
  en: {
    'users.title': 'Admin users',
    'users.intro': 'The bank\'s users of this console. Logging in takes a user name, a password and a one-time code (TOTP). Repeated failed logins lock an account for a while.',
    'users.list': 'Users',
    'users.col.user': 'User',
    'users.col.role': 'Role',
    'users.col.status': 'Status',
    'users.col.factor': 'Second factor',
    'users.col.last': 'Last login',
    'users.col.failed': 'Failed logins',
    'users.col.action': 'Action',
    'users.status.active': 'Active',
    'users.status.disabled': 'Disabled',
    'users.factor.TOTP': 'One-time code (TOTP)',
    'users.factor.none': 'None',
    'users.never': 'never',
    'users.locked': 'locked until {at}',
    'users.you': '(you)',
    'users.disable': 'Disable',
    'users.enable': 'Enable',
    'users.unlock': 'Unlock',
    'users.disableName': 'Disable {name}',
    'users.enableName': 'Enable {name}',
    'users.unlockName': 'Unlock {name}',
    'users.disableTitle': 'Disable {name}?',
    'users.disableBody': '{name} can no longer log in; end their open sessions below under Sessions. You can enable the user again at any time.',
    'users.disableOk': 'Disable',
    'users.disabled': '{name} is disabled.',
    'users.enabled': '{name} is enabled.',
    'users.unlocked': '{name} is unlocked.',
    'users.notSelf': 'You cannot disable your own account: ask another administrator.',
    'users.adminOnly': 'Only administrators create, disable or unlock users and end sessions; you can see them.',
    'users.empty': 'There are no users yet.',
    'users.create': 'New user',
    'users.f.username': 'User name',
    'users.f.usernameHint': '3 to 32 characters: a lower-case letter first, then lower-case letters, digits, dots, dashes or underscores; used to log in.',
    'users.f.display': 'Name (optional)',
    'users.f.role': 'Role',
    'users.createBtn': 'Create the user',
    'users.created.title': 'User {name} created: hand over these initial credentials now',
    'users.created.warn': 'The initial password and TOTP secret are shown this once and never again (the server keeps them sealed). Hand them to the person over a secure channel: they enrol the TOTP secret in an authenticator app (or make a QR code of the enrolment address). No screenshots, no shared folders.',
    'users.created.password': 'Initial password',
    'users.created.secret': 'TOTP secret (for the authenticator app)',
    'users.created.uri': 'TOTP enrolment address (otpauth://)',
    'users.created.done': 'Handed over: close',
    'users.sessions': 'Sessions',
    'users.sessionsIntro': 'Open sessions (bank users and developers). Ending a session logs its holder out at once.',
    'users.s.user': 'User',
    'users.s.kind': 'Kind',
    'users.s.addr': 'From',
    'users.s.created': 'Began',
    'users.s.seen': 'Last active',
    'users.s.expires': 'Ends',
    'users.s.action': 'Action',
    'users.kind.admin': 'Bank user',
    'users.kind.developer': 'Developer',
    'users.end': 'End session',
    'users.endName': 'End {name}\'s session',
    'users.endTitle': 'End {name}\'s session?',
    'users.endBody': 'They are logged out at once and must log in again.',
    'users.endSelf': 'This is one of your own sessions: ending the one you use logs you out at once.',
    'users.endOk': 'End session',
    'users.ended': 'The session is ended.',
    'users.noSessions': 'There are no open sessions.',
  },
};

export function render({ root, me, api, describe }) {
  const mayAct = me.role === 'admin';
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const usersBody = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const sessionsBody = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const createdBox = h('div', { 'data-testid': 'user-created' });
  let users = [];
  const fail = (err) => { errorBox.textContent = describe(err); errorBox.hidden = false; };

  root.append(
    h('h1', {}, t('users.title')),
    h('p', { class: 'muted' }, t('users.intro')),
    mayAct ? '' : h('p', { class: 'alert alert-info' }, t('users.adminOnly')),
    errorBox,
    h('section', { class: 'card', 'aria-labelledby': 'users-list' }, h('h2', { id: 'users-list' }, t('users.list')), usersBody),
    mayAct ? createCard() : '',
    createdBox,
    h('section', { class: 'card', 'aria-labelledby': 'users-sessions' }, h('h2', { id: 'users-sessions' }, t('users.sessions')),
      h('p', { class: 'muted small' }, t('users.sessionsIntro')), sessionsBody));

  // nl labels a cell on narrow screens, where the table's header is hidden.
  const nl = (key) => h('span', { class: 'narrow-label' }, t(key) + (lang() === 'en' ? ': ' : '：'));
  const nameOf = (u) => u.display_name && u.display_name !== u.username ? u.display_name + ' (' + u.username + ')' : u.username;

  const patch = async (u, body, done) => {
    try {
      await raw('PATCH', '/users/' + encodeURIComponent(u.id), { body, headers: { 'If-Match': '"' + u.version + '"' } });
      toast(t(done, { name: nameOf(u) }));
    } catch (err) { fail(err); }
    load();
  };

  const userRow = (u) => {
    const self = u.id === me.id;
    const name = nameOf(u);
    const actions = [];
    if (u.status === 'active') {
      const why = !mayAct ? t('users.adminOnly') : self ? t('users.notSelf') : null;
      actions.push(h('button', { type: 'button', class: 'btn btn-danger', disabled: Boolean(why), title: why, 'aria-label': t('users.disableName', { name }),
        'data-action': 'disable', onclick: async () => {
          const ok = await confirmDialog({ title: t('users.disableTitle', { name }), body: t('users.disableBody', { name }), confirmLabel: t('users.disableOk'), danger: true });
          if (ok) patch(u, { status: 'disabled' }, 'users.disabled');
        } }, t('users.disable')));
    } else {
      actions.push(h('button', { type: 'button', class: 'btn', disabled: !mayAct, title: mayAct ? null : t('users.adminOnly'),
        'aria-label': t('users.enableName', { name }), 'data-action': 'enable', onclick: () => patch(u, { status: 'active' }, 'users.enabled') }, t('users.enable')));
    }
    if (u.locked_until) {
      actions.push(h('button', { type: 'button', class: 'btn', disabled: !mayAct, title: mayAct ? null : t('users.adminOnly'),
        'aria-label': t('users.unlockName', { name }), 'data-action': 'unlock', onclick: () => patch(u, { unlock: true }, 'users.unlocked') }, t('users.unlock')));
    }
    return h('tr', { 'data-user': u.username },
      h('th', { scope: 'row' }, h('div', {}, u.display_name || u.username, self ? ' ' + t('users.you') : ''), h('div', { class: 'small muted mono' }, u.username)),
      h('td', { class: 'nowrap' }, h('span', { class: 'badge' }, t('role.' + u.role))),
      h('td', { class: 'nowrap' }, h('span', { class: 'badge ' + (u.status === 'active' ? 'badge-ok' : 'badge-paused') }, t('users.status.' + u.status)),
        u.locked_until ? h('div', { class: 'small' }, h('span', { class: 'badge badge-warn' }, t('users.locked', { at: fmtTime(u.locked_until) }))) : null),
      h('td', { class: 'nowrap small' }, t('users.factor.' + (u.second_factor || 'none'))),
      h('td', { class: 'nowrap small' }, nl('users.col.last'), u.last_login_at ? fmtTime(u.last_login_at) : h('span', { class: 'muted' }, t('users.never'))),
      h('td', { class: 'nowrap' }, nl('users.col.failed'), String(u.failed_logins ?? 0)),
      h('td', { class: 'nowrap' }, h('div', { class: 'actions-row' }, actions)));
  };

  const sessionRow = (s, byId) => {
    const u = byId.get(s.principal_id);
    const name = u ? nameOf(u) : s.principal_id;
    const self = s.principal_id === me.id;
    return h('tr', { 'data-session': s.id },
      h('th', { scope: 'row', class: 'wide' }, name, self ? ' ' + t('users.you') : ''),
      h('td', { class: 'nowrap' }, t('users.kind.' + s.kind)),
      h('td', { class: 'nowrap mono' }, s.client_addr),
      h('td', { class: 'nowrap small' }, nl('users.s.created'), fmtTime(s.created_at)),
      h('td', { class: 'nowrap small' }, nl('users.s.seen'), fmtTime(s.last_seen_at)),
      h('td', { class: 'nowrap small' }, nl('users.s.expires'), fmtTime(s.expires_at)),
      h('td', { class: 'nowrap' }, h('button', { type: 'button', class: 'btn btn-danger', disabled: !mayAct, title: mayAct ? null : t('users.adminOnly'),
        'aria-label': t('users.endName', { name }), 'data-action': 'end-session', onclick: async () => {
          const ok = await confirmDialog({ title: t('users.endTitle', { name }), body: t('users.endBody') + (self ? ' ' + t('users.endSelf') : ''),
            confirmLabel: t('users.endOk'), danger: true });
          if (!ok) return;
          try { await api.del('/sessions/' + encodeURIComponent(s.id)); toast(t('users.ended')); } catch (err) { fail(err); }
          load();
        } }, t('users.end'))));
  };

  function createCard() {
    const username = h('input', { id: 'nu-username', name: 'username', required: true, autocomplete: 'off', maxlength: 32, pattern: '[a-z][a-z0-9._\\-]{2,31}', 'aria-describedby': 'nu-username-hint' });
    const display = h('input', { id: 'nu-display', name: 'display_name', autocomplete: 'off', maxlength: 100 });
    const role = h('select', { id: 'nu-role', name: 'role' }, ROLES.map((r) => h('option', { value: r }, t('role.' + r))));
    role.value = 'operator';
    const form = h('form', { class: 'users-create', onsubmit: async (e) => {
      e.preventDefault();
      const btn = form.querySelector('button[type=submit]');
      btn.disabled = true;
      try {
        const body = { username: username.value.trim(), role: role.value };
        if (display.value.trim()) body.display_name = display.value.trim();
        const u = await api.post('/users', body);
        form.reset();
        role.value = 'operator';
        showCreated(u);
        load();
      } catch (err) { fail(err); } finally { btn.disabled = false; }
    } },
    h('div', { class: 'audit-grid' },
      h('div', { class: 'field' }, h('label', { for: 'nu-username' }, t('users.f.username')), username, h('p', { class: 'hint', id: 'nu-username-hint' }, t('users.f.usernameHint'))),
      h('div', { class: 'field' }, h('label', { for: 'nu-display' }, t('users.f.display')), display),
      h('div', { class: 'field' }, h('label', { for: 'nu-role' }, t('users.f.role')), role)),
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('users.createBtn')));
    return h('section', { class: 'card', 'aria-labelledby': 'users-create' }, h('h2', { id: 'users-create' }, t('users.create')), form);
  }

  // showCreated shows the new user's one-time credentials until the admin
  // closes them; they live in the page only, never in browser storage.
  function showCreated(u) {
    const ro = (id, value) => h('input', { id, type: 'text', class: 'mono', readonly: true, value, autocomplete: 'off', spellcheck: 'false' });
    const card = h('section', { class: 'card users-secret', 'aria-labelledby': 'users-created', tabindex: '-1' },
      h('h2', { id: 'users-created' }, t('users.created.title', { name: nameOf(u) })),
      h('p', { class: 'alert alert-warn', role: 'note' }, t('users.created.warn')),
      h('div', { class: 'field' }, h('label', { for: 'nu-password' }, t('users.created.password')), ro('nu-password', u.initial_password)),
      h('div', { class: 'field' }, h('label', { for: 'nu-secret' }, t('users.created.secret')), ro('nu-secret', u.totp_secret)),
      h('div', { class: 'field' }, h('label', { for: 'nu-uri' }, t('users.created.uri')), ro('nu-uri', u.totp_uri)),
      h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'created-done', onclick: () => clear(createdBox) }, t('users.created.done')));
    clear(createdBox).append(card);
    card.scrollIntoView({ block: 'start' });
    card.focus();
  }

  const load = async () => {
    let list, sessions;
    try {
      [list, sessions] = await Promise.all([api.get('/users?limit=500'), api.get('/sessions?limit=500')]);
    } catch (err) { fail(err); clear(usersBody); clear(sessionsBody); return; }
    errorBox.hidden = true;
    users = list.items || [];
    const byId = new Map(users.map((u) => [u.id, u]));
    clear(usersBody);
    if (!users.length) usersBody.append(h('p', { class: 'empty' }, t('users.empty')));
    else {
      usersBody.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
        h('thead', {}, h('tr', {}, ['user', 'role', 'status', 'factor', 'last', 'failed', 'action'].map((c) => h('th', { scope: 'col' }, t('users.col.' + c))))),
        h('tbody', {}, users.map(userRow)))));
    }
    clear(sessionsBody);
    const items = sessions.items || [];
    if (!items.length) sessionsBody.append(h('p', { class: 'empty' }, t('users.noSessions')));
    else {
      sessionsBody.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
        h('thead', {}, h('tr', {}, ['user', 'kind', 'addr', 'created', 'seen', 'expires', 'action'].map((c) => h('th', { scope: 'col' }, t('users.s.' + c))))),
        h('tbody', {}, items.map((s) => sessionRow(s, byId))))));
    }
  };

  load();
  return () => clear(createdBox);
}
