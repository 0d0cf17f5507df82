// The login page: user name, password and one-time code (TOTP), posted as
// JSON to POST /admin/api/v1/login, which sets the session cookie.

import { h } from '../../js/dom.js';
import { t } from '../../js/i18n.js';
import { api, describe } from '../../js/api.js';

export const strings = {
  'zh-CN': {
    'login.title': '登录',
    'login.heading': '管理控制台登录',
    'login.intro': '请使用银行为您分配的账号、密码和身份验证器中的动态口令登录。',
    'login.username': '用户名',
    'login.password': '密码',
    'login.totp': '动态口令',
    'login.totpHint': '身份验证器应用中显示的 6 位数字，每 30 秒更新。',
    'login.submit': '登录',
    'login.busy': '正在登录…',
    'login.bad': '用户名、密码或动态口令不正确。请核对后重试；动态口令每 30 秒更新一次，请输入最新的一组。',
    'login.missing': '请填写用户名、密码和 6 位动态口令。',
  },
  en: {
    'login.title': 'Log in',
    'login.heading': 'Log in to the admin console',
    'login.intro': 'Use the account and password the bank gave you and the one-time code from your authenticator app.',
    'login.username': 'User name',
    'login.password': 'Password',
    'login.totp': 'One-time code',
    'login.totpHint': 'The 6 digits your authenticator app shows; they change every 30 seconds.',
    'login.submit': 'Log in',
    'login.busy': 'Logging in…',
    'login.bad': 'Wrong user name, password or one-time code. Check them and try again; the code changes every 30 seconds, so enter the newest one.',
    'login.missing': 'Fill in the user name, the password and the 6-digit code.',
  },
};

// render draws the form into root; onLoggedIn gets GET /me's answer.
export function render({ root, message, kind = 'info', onLoggedIn }) {
  const alert = h('p', { id: 'login-error', class: 'alert', role: 'alert', 'aria-live': 'assertive', hidden: !message });
  const show = (text, k) => {
    alert.textContent = text;
    alert.className = 'alert alert-' + k;
    alert.hidden = !text;
  };
  if (message) show(message, kind);
  const field = (name, type, extra) => h('div', { class: 'field' },
    h('label', { for: 'login-' + name }, t('login.' + name)),
    h('input', { id: 'login-' + name, name, type, required: true, ...extra }));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('login.submit'));
  const form = h('form', { class: 'login-form', novalidate: true, 'aria-describedby': 'login-error', onsubmit: async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    data.username = String(data.username || '').trim();
    data.totp = String(data.totp || '').replace(/\s/g, '');
    if (!data.username || !data.password || !/^\d{6}$/.test(data.totp)) { show(t('login.missing'), 'error'); return; }
    submit.disabled = true;
    submit.textContent = t('login.busy');
    try {
      const me = await api.post('/login', data);
      onLoggedIn(me);
    } catch (err) {
      show(err.code === 'UNAUTHENTICATED' ? t('login.bad') : describe(err), 'error');
      form.elements.totp.value = '';
      form.elements.totp.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t('login.submit');
    }
  } },
  field('username', 'text', { autocomplete: 'username', autofocus: true, maxlength: 64 }),
  field('password', 'password', { autocomplete: 'current-password', maxlength: 256 }),
  h('div', { class: 'field' },
    h('label', { for: 'login-totp' }, t('login.totp')),
    h('input', { id: 'login-totp', name: 'totp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6, required: true, 'aria-describedby': 'login-totp-hint' }),
    h('p', { id: 'login-totp-hint', class: 'hint' }, t('login.totpHint'))),
  submit);
  root.append(h('section', { class: 'card login-card', 'aria-labelledby': 'login-heading' },
    h('div', { class: 'login-brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '漓'),
      h('div', {}, h('div', { class: 'login-bank' }, t('app.name')), h('div', { class: 'login-sub' }, t('app.console')))),
    h('h1', { id: 'login-heading' }, t('login.heading')),
    h('p', { class: 'muted' }, t('login.intro')),
    alert, form));
  form.elements.username.focus();
}
