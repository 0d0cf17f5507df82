// The idle timeout both shells share (the admin console and the developer
// portal): a check every second against the session's absolute end and its
// idle end (counted from the last request that was the user's own: a
// background refresh does not count, see api.js), a warning dialog some
// time before the idle end offering to stay signed in (a request that
// counts as use) or to sign out, and the end itself.

import { h } from './dom.js';
import { t } from './i18n.js';
import { lastRequestAt } from './api.js';

// The server records use at most once a minute, so its idle clock may have
// started up to a minute before our last request: end (and warn) early.
export const IDLE_SLACK_MS = 60 * 1000;
export const IDLE_WARN_MS = 2 * 60 * 1000;

// watchIdle starts the check and returns stop(), which also closes the
// warning. Options:
//   session()   the session (GET /me's answer: session_expires_at,
//               session_idle_seconds) or null when signed out
//   stay()      async: the request that keeps the session (counts as use);
//               a failure keeps the warning open
//   logout()    the warning's sign-out button
//   expired()   the session reached its absolute end
//   idleEnded() the idle end: sign out and say why
//   keys        the warning's strings: title, body ({seconds}), stay, logout
export function watchIdle({ session, stay, logout, expired, idleEnded, keys = {} }) {
  const k = { title: 'idle.title', body: 'idle.body', stay: 'btn.continue', logout: 'btn.logout', ...keys };
  let dialog = null;

  const close = () => {
    if (dialog) { dialog.close(); dialog = null; }
  };

  const warning = () => {
    const dlg = h('dialog', { class: 'dialog', role: 'alertdialog', 'aria-labelledby': 'idle-title', 'aria-describedby': 'idle-body' },
      h('h2', { id: 'idle-title' }, t(k.title)),
      h('p', { id: 'idle-body' }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: logout }, t(k.logout)),
        h('button', { type: 'button', class: 'btn btn-primary', onclick: async () => {
          try { await stay(); } catch { return; }
          close();
        } }, t(k.stay))));
    dlg.addEventListener('close', () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
    return dlg;
  };

  const check = () => {
    const s = session();
    if (!s) return;
    const now = Date.now();
    if (s.session_expires_at && now >= new Date(s.session_expires_at).getTime()) { expired(); return; }
    const endAt = lastRequestAt() + (s.session_idle_seconds || 900) * 1000 - IDLE_SLACK_MS;
    if (now >= endAt) { idleEnded(); return; }
    const left = Math.ceil((endAt - now) / 1000);
    if (endAt - now <= IDLE_WARN_MS) {
      if (!dialog) dialog = warning();
      dialog.querySelector('#idle-body').textContent = t(k.body, { seconds: left });
    } else {
      close();
    }
  };

  const timer = setInterval(check, 1000);
  return () => {
    clearInterval(timer);
    close();
  };
}
