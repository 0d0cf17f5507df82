// Sign in (POST /portal/api/v1/login) and sign up (POST /signup, then the
// same login): developer accounts are an e-mail address and a password;
// the session is an HttpOnly cookie.

import { h } from '../../js/dom.js';
import { t } from '../../js/i18n.js';
import { describe } from '../../js/api.js';

export const strings = {
  'zh-CN': {
    'signin.title': '登录',
    'signin.heading': '登录开发者门户',
    'signin.intro': '使用注册时的电子邮箱和密码登录。登录后可登记申请方、获取沙箱凭证并阅读 API 文档。',
    'signin.email': '电子邮箱',
    'signin.password': '密码',
    'signin.submit': '登录',
    'signin.busy': '正在登录…',
    'signin.bad': '电子邮箱或密码不正确。请检查后重试；连续失败多次后账户会被暂时锁定。',
    'signin.missing': '请填写电子邮箱和密码。',
    'signup.heading': '注册开发者账户',
    'signup.intro': '还没有账户？注册后即可登录。',
    'signup.name': '姓名（选填）',
    'signup.password': '设置密码',
    'signup.passwordHint': '12 至 128 个字符，至少包含一个字母和一个数字。',
    'signup.password2': '再次输入密码',
    'signup.submit': '注册并登录',
    'signup.busy': '正在注册…',
    'signup.mismatch': '两次输入的密码不一致。请重新输入。',
    'signup.policy': '密码不符合要求：需 12 至 128 个字符，至少包含一个字母和一个数字。',
    'signup.taken': '该电子邮箱已注册。请直接登录；如忘记密码，请联系银行开放平台运营人员。',
    'signup.badEmail': '电子邮箱格式不正确。请检查后重试。',
  },
  en: {
    'signin.title': 'Sign in',
    'signin.heading': 'Sign in to the developer portal',
    'signin.intro': 'Use the e-mail address and password you signed up with. Then register your organisation, get sandbox credentials and read the API documentation.',
    'signin.email': 'E-mail address',
    'signin.password': 'Password',
    'signin.submit': 'Sign in',
    'signin.busy': 'Signing in…',
    'signin.bad': 'Wrong e-mail address or password. Check them and try again; after several failures the account is locked for a while.',
    'signin.missing': 'Enter your e-mail address and password.',
    'signup.heading': 'Create a developer account',
    'signup.intro': 'No account yet? Sign up, and you are signed in.',
    'signup.name': 'Name (optional)',
    'signup.password': 'Choose a password',
    'signup.passwordHint': '12 to 128 characters, with at least one letter and one digit.',
    'signup.password2': 'Repeat the password',
    'signup.submit': 'Sign up and sign in',
    'signup.busy': 'Signing up…',
    'signup.mismatch': 'The two passwords differ. Enter them again.',
    'signup.policy': 'The password does not meet the policy: 12 to 128 characters, with at least one letter and one digit.',
    'signup.taken': 'This e-mail address already has an account. Sign in; if you forgot the password, contact the bank\'s open-platform team.',
    'signup.badEmail': 'The e-mail address is not valid. Check it and try again.',
  },
};

function field(prefix, name, labelKey, type, extra = {}, hint) {
  const id = prefix + '-' + name;
  return h('div', { class: 'field' },
    h('label', { for: id }, t(labelKey)),
    h('input', { id, name, type, ...extra, 'aria-describedby': hint ? id + '-hint' : null }),
    hint ? h('p', { id: id + '-hint', class: 'hint' }, hint) : null);
}

function alertBox(id) {
  const el = h('p', { id, class: 'alert', role: 'alert', 'aria-live': 'assertive', hidden: true });
  el.show = (text, kind) => { el.textContent = text; el.className = 'alert alert-' + kind; el.hidden = !text; };
  return el;
}

// render draws both forms into root; onSignedIn gets GET /me's answer.
export function render({ root, api, message, kind = 'info', onSignedIn }) {
  const inAlert = alertBox('signin-error');
  if (message) inAlert.show(message, kind);
  const inSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('signin.submit'));
  const signin = async (email, password) => {
    await api.post('/login', { email, password });
    onSignedIn(await api.get('/me'));
  };
  const inForm = h('form', { class: 'login-form', novalidate: true, 'aria-describedby': 'signin-error', onsubmit: async (e) => {
    e.preventDefault();
    const email = inForm.elements.email.value.trim();
    const password = inForm.elements.password.value;
    if (!email || !password) { inAlert.show(t('signin.missing'), 'error'); return; }
    inSubmit.disabled = true;
    inSubmit.textContent = t('signin.busy');
    try {
      await signin(email, password);
    } catch (err) {
      inAlert.show(err.code === 'UNAUTHENTICATED' ? t('signin.bad') : describe(err), 'error');
      inForm.elements.password.value = '';
      inForm.elements.password.focus();
    } finally {
      inSubmit.disabled = false;
      inSubmit.textContent = t('signin.submit');
    }
  } },
  field('signin', 'email', 'signin.email', 'email', { autocomplete: 'username', required: true, maxlength: 254 }),
  field('signin', 'password', 'signin.password', 'password', { autocomplete: 'current-password', required: true, maxlength: 128 }),
  inSubmit);

  const upAlert = alertBox('signup-error');
  const upSubmit = h('button', { type: 'submit', class: 'btn btn-block' }, t('signup.submit'));
  const upForm = h('form', { class: 'login-form', novalidate: true, 'aria-describedby': 'signup-error', onsubmit: async (e) => {
    e.preventDefault();
    const f = upForm.elements;
    const email = f.email.value.trim();
    const password = f.password.value;
    if (!email || !password) { upAlert.show(t('signin.missing'), 'error'); return; }
    if (password !== f.password2.value) { upAlert.show(t('signup.mismatch'), 'error'); f.password2.focus(); return; }
    if (password.length < 12 || !/[0-9]/.test(password) || !/[A-Za-z]/.test(password)) { upAlert.show(t('signup.policy'), 'error'); f.password.focus(); return; }
    upSubmit.disabled = true;
    upSubmit.textContent = t('signup.busy');
    try {
      await api.post('/signup', { email, name: f.name.value.trim(), password });
      await signin(email, password);
    } catch (err) {
      let text = describe(err);
      if (err.code === 'CONFLICT') text = t('signup.taken');
      else if (err.field === 'password') text = t('signup.policy');
      else if (err.field === 'email') text = t('signup.badEmail');
      upAlert.show(text, 'error');
    } finally {
      upSubmit.disabled = false;
      upSubmit.textContent = t('signup.submit');
    }
  } },
  field('signup', 'email', 'signin.email', 'email', { autocomplete: 'email', required: true, maxlength: 254 }),
  field('signup', 'name', 'signup.name', 'text', { autocomplete: 'name', maxlength: 100 }),
  field('signup', 'password', 'signup.password', 'password', { autocomplete: 'new-password', required: true, minlength: 12, maxlength: 128 }, t('signup.passwordHint')),
  field('signup', 'password2', 'signup.password2', 'password', { autocomplete: 'new-password', required: true, maxlength: 128 }),
  upSubmit);

  const brand = h('div', { class: 'login-brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '漓'),
    h('div', {}, h('div', { class: 'login-bank' }, t('app.name')), h('div', { class: 'login-sub' }, t('portal.name'))));
  root.append(h('div', { class: 'portal-auth' },
    h('section', { class: 'card login-card', 'aria-labelledby': 'signin-heading' },
      brand, h('h1', { id: 'signin-heading' }, t('signin.heading')), h('p', { class: 'muted' }, t('signin.intro')), inAlert, inForm,
      h('p', { class: 'small' }, h('a', { href: '#/manual' }, t('portal.manualPublic')))),
    h('section', { class: 'card login-card', 'aria-labelledby': 'signup-heading' },
      h('h2', { id: 'signup-heading' }, t('signup.heading')), h('p', { class: 'muted' }, t('signup.intro')), upAlert, upForm)));
  inForm.elements.email.focus();
}
