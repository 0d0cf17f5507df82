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
// above the page. isCurrent, if given, is asked once the module has
// loaded: when it says no (another page was asked for meanwhile), nothing
// is drawn and null is returned.
export async function loadPage(main, r, appName, ctx, before = null, isCurrent = null) {
  clear(main).append(h('p', { class: 'loading' }, t('loading')));
  document.title = label(r.label) + ' · ' + appName;
  let mod;
  try {
    mod = await r.load();
  } catch (err) {
    if (isCurrent && !isCurrent()) return null;
    clear(main).append(h('p', { class: 'alert alert-error', role: 'alert' }, describe(err)));
    return null;
  }
  if (isCurrent && !isCurrent()) return null;
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

// pageSlot is the page a shell shows in its main: show draws a route there
// (loadPage) after the shown page's cleanup; clear runs that cleanup. A
// page asked for while another's module still loads wins: the earlier one
// is never drawn, so its timers never start (an overview refreshing every
// ten seconds drew itself over the page asked for after it).
export function pageSlot() {
  let shown = 0; // the number of the last show or clear
  let cleanup = null;
  return {
    async show(main, r, appName, ctx, before = null) {
      const mine = ++shown;
      cleanupPage(cleanup);
      cleanup = null;
      const done = await loadPage(main, r, appName, ctx, before, () => mine === shown);
      if (mine !== shown) {
        cleanupPage(done);
        return;
      }
      cleanup = done;
    },
    clear() {
      shown++;
      cleanupPage(cleanup);
      cleanup = null;
    },
  };
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
