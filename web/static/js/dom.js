// Building the DOM without HTML strings: text is always set as text (no
// innerHTML), so data from the API can never become markup, and nothing
// needs an inline script or style attribute (the CSP forbids both).

// h makes an element: h('button', {class: 'btn', onclick: f}, 'text', child…).
// Attributes whose value is a function become event listeners; false, null
// and undefined attributes are left out; children may be strings, nodes,
// arrays or null.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear removes every child of el.
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// toast shows a short message in the page's live region (read out by
// screen readers); kind is 'ok' or 'error'.
export function toast(message, kind = 'ok') {
  let region = document.getElementById('toasts');
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite', role: 'status' });
    document.body.append(region);
  }
  const item = h('div', { class: 'toast toast-' + kind }, message);
  region.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 10000 : 5000);
}
