// The shells' shared page handling (admin console and developer portal):
// the side menu, marking the current page, and loading a page's module
// into <main> (its strings registered, its cleanup kept).

import { h, clear } from './dom.js';
import { t, register, label } from './i18n.js';
import { describe } from './api.js';
import { watchIdle } from './idle.js';

// sideNav is the menu of pages (route table entries: id, label).
export function sideNav(pages) {
  return h('nav', { class: 'sidenav', 'aria-label': t('nav.label') },
    h('ul', {}, pages.map((r) => h('li', {}, h('a', { href: '#/' + r.id, 'data-page': r.id }, label(r.label))))));
}

// markCurrent marks page id's menu entry as the current page.
export function markCurrent(id) {
  for (const a of document.querySelectorAll('.sidenav a')) {
    if (a.dataset.page === id) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

// loadPage draws route r into main: "loading", then the module's render
// with ctx (root is main), the document titled "<page> · <appName>". It
// returns the page's cleanup function, or null. before, if given, is drawn
// above the page.
export async function loadPage(main, r, appName, ctx, before = null) {
  clear(main).append(h('p', { class: 'loading' }, t('loading')));
  document.title = label(r.label) + ' · ' + appName;
  let mod;
  try {
    mod = await r.load();
  } catch (err) {
    clear(main).append(h('p', { class: 'alert alert-error', role: 'alert' }, describe(err)));
    return null;
  }
  if (mod.strings) register(mod.strings);
  clear(main);
  if (before) main.append(before);
  const done = mod.render({ root: main, ...ctx });
  return typeof done === 'function' ? done : null;
}

// cleanupPage runs a page's cleanup, if any (a page already gone may throw).
export function cleanupPage(f) {
  if (f) { try { f(); } catch { /* page gone */ } }
}

// sessionControls ties a shell's session to the idle watch (js/idle.js):
// logout() (POST /logout, then signedOut with messages.loggedOut), start()
// and stop() of the watch. o: api; session() → the current /me; onSession(me)
// after "stay" (GET /me without LJ-Background: use of the session, here and
// on the server); signedOut(message, kind) draws the login; messages: the
// string keys loggedOut, expired, idleEnded; keys: the dialog's string keys.
export function sessionControls(o) {
  let stopWatch = null;
  const stop = () => { if (stopWatch) stopWatch(); stopWatch = null; };
  const logout = async () => {
    try { await o.api.post('/logout'); } catch { /* already over */ }
    o.signedOut(t(o.messages.loggedOut), 'ok');
  };
  const start = () => {
    stop();
    stopWatch = watchIdle({
      session: o.session,
      stay: async () => o.onSession(await o.api.get('/me')),
      logout,
      expired: () => o.signedOut(t(o.messages.expired)),
      idleEnded: () => {
        o.api.post('/logout').catch(() => {});
        o.signedOut(t(o.messages.idleEnded));
      },
      keys: o.keys,
    });
  };
  return { logout, start, stop };
}
