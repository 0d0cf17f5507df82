// The admin console's shell: login, the header (who, what role, when the
// session ends), the menu of the pages the role may open (routes.js), the
// hash router (#/<page>), the idle-timeout warning and logout. Pages are
// loaded on demand and draw into <main>.

import { h, clear } from '../js/dom.js';
import { t, register, setLang, lang, onLangChange, fmtTime } from '../js/i18n.js';
import { api, describe, onUnauthenticated } from '../js/api.js';
import { sideNav, markCurrent, pageSlot, sessionControls } from '../js/pages.js';
import { strings as common } from '../i18n/common.js';
import { routes } from './routes.js';
import * as loginPage from './pages/login.js';

register(common);
register(loginPage.strings);

const app = document.getElementById('app');
let me = null; // GET /me
let main = null;
const page = pageSlot();

function allowed() {
  return me ? routes.filter((r) => r.roles.includes(me.role)) : [];
}

function langButton() {
  return h('button', { type: 'button', class: 'btn btn-ghost lang', lang: lang() === 'en' ? 'zh-CN' : 'en', 'aria-label': t('lang.switchLabel'),
    onclick: () => setLang(lang() === 'en' ? 'zh-CN' : 'en') }, t('lang.switch'));
}

// showLogin ends the shell and draws the login page, with message (why).
function showLogin(message, kind = 'info') {
  me = null;
  stopIdle();
  runCleanup();
  clear(app);
  main = h('main', { id: 'main', class: 'login-main' });
  app.append(h('div', { class: 'login-top' }, langButton()), main);
  document.title = t('login.title') + ' · ' + t('app.name');
  loginPage.render({ root: main, message, kind, onLoggedIn: (m) => { me = m; showShell(); } });
}

function showShell() {
  runCleanup();
  clear(app);
  const pages = allowed();
  const ends = new Date(me.session_expires_at);
  const idleMin = Math.round((me.session_idle_seconds || 900) / 60);
  const header = h('header', { class: 'topbar' },
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, t('app.skip')),
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '漓'),
      h('span', {}, t('app.name'), h('small', {}, t('app.console')))),
    h('div', { class: 'who', 'data-testid': 'who' },
      h('div', { class: 'who-line' },
        h('span', { class: 'who-name' }, h('span', { class: 'sr-only' }, t('header.user') + ' '), me.display_name || me.username,
          me.display_name && me.display_name !== me.username ? h('small', {}, ' (' + me.username + ')') : null),
        h('span', { class: 'badge badge-role', 'data-role': me.role }, h('span', { class: 'sr-only' }, t('header.role') + ' '), t('role.' + me.role))),
      h('div', { class: 'who-ends' }, t('header.ends', { time: fmtTime(ends) }), ' ', t('header.idle', { minutes: idleMin }))),
    h('div', { class: 'top-actions' }, langButton(),
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: logout }, t('btn.logout'))));
  const nav = sideNav(pages);
  main = h('main', { id: 'main', class: 'content', tabindex: '-1' });
  app.append(header, h('div', { class: 'layout' }, nav, main));
  startIdle();
  route();
}

async function route() {
  if (!me) return;
  const pages = allowed();
  if (pages.length === 0) {
    clear(main).append(h('p', { class: 'empty' }, t('empty.noAccess')));
    return;
  }
  const want = location.hash.startsWith('#/') ? location.hash.slice(2).split('?')[0] : '';
  const r = pages.find((p) => p.id === want) || pages[0];
  if (r.id !== want) history.replaceState(null, '', '#/' + r.id);
  markCurrent(r.id);
  await page.show(main, r, t('app.console'), { me, api, t, describe, can: (...roles) => roles.includes(me.role) || me.role === 'admin' });
}

function runCleanup() {
  page.clear();
}

// The session: logout, and the idle timeout's warning and end (js/idle.js).
const session = sessionControls({
  api,
  session: () => me,
  onSession: (m) => { me = { ...me, ...m }; },
  signedOut: (message, kind) => showLogin(message, kind),
  messages: { loggedOut: 'session.loggedOut', expired: 'session.expired', idleEnded: 'session.idleEnded' },
});
const { logout } = session;
const startIdle = session.start;
const stopIdle = session.stop;

// ---- start ----------------------------------------------------------------

window.addEventListener('hashchange', route);
onLangChange(() => (me ? showShell() : showLogin()));
onUnauthenticated(() => { if (me) showLogin(t('session.ended')); });

(async () => {
  try {
    me = await api.get('/me');
    showShell();
  } catch (err) {
    showLogin(err.code === 'UNAUTHENTICATED' ? '' : describe(err), 'error');
  }
})();
