// Modal dialogs on the native <dialog> element (focus kept inside, Escape
// cancels): confirmations before destructive acts, and the idle warning.

import { h } from './dom.js';
import { t } from './i18n.js';

// confirmDialog asks the user to confirm; with reasonLabel it also asks for
// an optional reason. It resolves to {reason} when confirmed, null when not.
export function confirmDialog({ title, body, confirmLabel, danger = false, reasonLabel }) {
  return new Promise((resolve) => {
    const reason = reasonLabel ? h('textarea', { id: 'dlg-reason', name: 'reason', rows: 2, maxlength: 500 }) : null;
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', value: 'ok' }, confirmLabel || t('btn.confirm'));
    const cancel = h('button', { type: 'button', class: 'btn', value: 'cancel' }, t('btn.cancel'));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title', 'aria-describedby': 'dlg-body' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, title),
        h('p', { id: 'dlg-body' }, body),
        reason && h('label', { for: 'dlg-reason' }, reasonLabel),
        reason,
        h('div', { class: 'dialog-actions' }, cancel, ok)));
    let result = null;
    ok.addEventListener('click', () => { result = { reason: reason ? reason.value.trim() : '' }; });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    (reason || cancel).focus();
  });
}
