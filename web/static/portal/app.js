// The developer portal's shell (public port, /portal/): sign-in and sign-up,
// the header (who is signed in), the menu (routes.js), the hash router
// (#/<page>?<query>), the idle-timeout warning (js/idle.js), logout and the
// language switch. Pages call the portal
// API (/portal/api/v1) only; the session is an HttpOnly cookie the pages
// cannot read, and nothing secret is ever put in browser storage.

import { h, clear } from '../js/dom.js';
import { t, register, setLang, lang, onLangChange, fmtTime } from '../js/i18n.js';
import { request, describe, onUnauthenticated, PORTAL_API } from '../js/api.js';
import { sideNav, markCurrent, pageSlot, sessionControls } from '../js/pages.js';
import { strings as common } from '../i18n/common.js';
import { routes } from './routes.js';
import * as signinPage from './pages/signin.js';

export const strings = {
  'zh-CN': {
    'portal.name': '开发者门户',
    'portal.signedIn': '已登录：{who}',
    'portal.ends': '登录有效期至 {time}',
    'portal.idle': '（{minutes} 分钟无操作将自动退出登录）',
    'portal.idleTitle': '即将因长时间未操作而退出登录',
    'portal.idleBody': '为保护账户安全，您将在 {seconds} 秒后自动退出登录。如需继续使用，请点击“继续使用”。',
    'portal.idleStay': '继续使用',
    'portal.idleEnded': '由于长时间未操作，您已自动退出登录。请重新登录。',
    'portal.expired': '您的登录已到期。请重新登录。',
    'portal.manualPublic': '无需登录即可阅读开发者手册',
    'portal.backToSignin': '返回登录',
  },
  en: {
    'portal.name': 'Developer portal',
    'portal.signedIn': 'Signed in as {who}',
    'portal.ends': 'Signed in until {time}',
    'portal.idle': '(or after {minutes} minutes without activity)',
    'portal.idleTitle': 'You are about to be signed out',
    'portal.idleBody': 'For your account\'s safety you will be signed out in {seconds} seconds. Choose "Stay signed in" to continue.',
    'portal.idleStay': 'Stay signed in',
    'portal.idleEnded': 'You were signed out after a period without activity. Please sign in again.',
    'portal.expired': 'Your sign-in has expired. Please sign in again.',
    'portal.manualPublic': 'Read the developer manual without signing in',
    'portal.backToSignin': 'Back to sign-in',
  },
};

register(common);
register(strings);
register(signinPage.strings);

// api is request on the portal API.
export const api = {
  get: (path, opts) => request('GET', path, undefined, { ...opts, base: PORTAL_API }),
  post: (path, body) => request('POST', path, body === undefined ? {} : body, { base: PORTAL_API }),
  put: (path, body) => request('PUT', path, body, { base: PORTAL_API }),
  del: (path) => request('DELETE', path, undefined, { base: PORTAL_API }),
};

// Pages anyone may read without signing in.
const PUBLIC = ['manual'];

const app = document.getElementById('app');
let me = null; // GET /me: id, email, name, session_expires_at, session_idle_seconds
let main = null;
const page = pageSlot();

function langButton() {
  return h('button', { type: 'button', class: 'btn btn-ghost lang', lang: lang() === 'en' ? 'zh-CN' : 'en', 'aria-label': t('lang.switchLabel'),
    onclick: () => setLang(lang() === 'en' ? 'zh-CN' : 'en') }, t('lang.switch'));
}

function brand() {
  return h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '漓'),
    h('span', {}, t('app.name'), h('small', {}, t('portal.name'))));
}

function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const [id, q] = raw.split('?');
  return { id, query: new URLSearchParams(q || '') };
}

function go(hash) { location.hash = hash; }

// showSignin draws the sign-in and sign-up forms, with message (why).
function showSignin(message, kind = 'info') {
  me = null;
  stopIdle();
  runCleanup();
  clear(app);
  main = h('main', { id: 'main', class: 'login-main' });
  app.append(h('div', { class: 'login-top' }, langButton()), main);
  document.title = t('signin.title') + ' · ' + t('portal.name');
  if (PUBLIC.includes(parseHash().id)) {
    // Signed out on a public page (idle, logout): the sign-in and why.
    if (!message) { showPublic(); return; }
    history.replaceState(null, '', '#/');
  }
  signinPage.render({ root: main, api, message, kind, onSignedIn: (m) => { me = m; showShell(); } });
}

// showPublic draws a public page (the manual) for a visitor.
async function showPublic() {
  const { id, query } = parseHash();
  const r = routes.find((p) => p.id === id);
  main.className = 'content public-page';
  await page.show(main, r, t('portal.name'), { me: null, api, t, describe, query, go },
    h('p', {}, h('a', { href: '#/', class: 'btn' }, t('portal.backToSignin'))));
}

function showShell() {
  runCleanup();
  clear(app);
  const who = me.name ? me.name + ' <' + me.email + '>' : me.email;
  const header = h('header', { class: 'topbar' },
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, t('app.skip')),
    brand(),
    h('div', { class: 'who', 'data-testid': 'who' },
      h('div', { class: 'who-line' }, h('span', { class: 'who-name' }, t('portal.signedIn', { who }))),
      h('div', { class: 'who-ends' }, me.session_expires_at ? t('portal.ends', { time: fmtTime(new Date(me.session_expires_at)) }) + ' ' : '',
        t('portal.idle', { minutes: Math.round((me.session_idle_seconds || 900) / 60) }))),
    h('div', { class: 'top-actions' }, langButton(),
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: logout }, t('btn.logout'))));
  const nav = sideNav(routes);
  main = h('main', { id: 'main', class: 'content', tabindex: '-1' });
  app.append(header, h('div', { class: 'layout' }, nav, main));
  startIdle();
  route();
}

async function route() {
  if (!me) {
    if (main && (PUBLIC.includes(parseHash().id) || main.classList.contains('public-page'))) showSignin();
    return;
  }
  const { id, query } = parseHash();
  const r = routes.find((p) => p.id === id) || routes[0];
  if (r.id !== id) history.replaceState(null, '', '#/' + r.id);
  markCurrent(r.id);
  await page.show(main, r, t('portal.name'), { me, api, t, describe, query, go });
}

function runCleanup() {
  page.clear();
}

// The session: logout, and the idle timeout's warning and end (js/idle.js).
const session = sessionControls({
  api,
  session: () => me,
  onSession: (m) => { me = { ...me, ...m }; },
  signedOut: (message, kind) => showSignin(message, kind),
  messages: { loggedOut: 'session.loggedOut', expired: 'portal.expired', idleEnded: 'portal.idleEnded' },
  keys: { title: 'portal.idleTitle', body: 'portal.idleBody', stay: 'portal.idleStay' },
});
const { logout } = session;
const startIdle = session.start;
const stopIdle = session.stop;

window.addEventListener('hashchange', route);
onLangChange(() => (me ? showShell() : showSignin()));
onUnauthenticated(() => { if (me) showSignin(t('session.ended')); });

(async () => {
  try {
    me = await api.get('/me');
    showShell();
  } catch (err) {
    showSignin(err.code === 'UNAUTHENTICATED' ? '' : describe(err), 'error');
  }
})();
