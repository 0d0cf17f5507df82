// Languages of the UI: Simplified Chinese by default, English on request.
// The choice is remembered in localStorage under 'lj.lang' (a preference,
// never a secret). Each page registers its own strings with register().

const KEY = 'lj.lang';
export const LANGS = ['zh-CN', 'en'];
const dict = { 'zh-CN': {}, en: {} };
const listeners = [];

let current = 'zh-CN';
try {
  const saved = localStorage.getItem(KEY);
  if (LANGS.includes(saved)) current = saved;
} catch { /* storage off: Chinese */ }
document.documentElement.lang = current;

// register adds strings: {'zh-CN': {key: text}, en: {key: text}}.
export function register(strings) {
  for (const l of LANGS) Object.assign(dict[l], (strings && strings[l]) || {});
}

// t is the text of key in the current language ({name} replaced from vars);
// a key missing in English falls back to Chinese, then to the key itself.
export function t(key, vars) {
  let s = dict[current][key] ?? dict['zh-CN'][key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}

export function lang() { return current; }

// setLang switches the language, remembers it and tells the listeners.
export function setLang(l) {
  if (!LANGS.includes(l) || l === current) return;
  current = l;
  try { localStorage.setItem(KEY, l); } catch { /* not remembered */ }
  document.documentElement.lang = l;
  for (const f of listeners) f(l);
}

export function onLangChange(f) { listeners.push(f); }

// label picks the current language's text of a {'zh-CN', en} object.
export function label(o) { return o[current] ?? o['zh-CN']; }

// fmtTime formats a date (or ISO string, or Unix seconds) for the reader.
export function fmtTime(d, opts = { dateStyle: 'medium', timeStyle: 'short' }) {
  if (typeof d === 'number') d = new Date(d * 1000);
  else if (typeof d === 'string') d = new Date(d);
  return new Intl.DateTimeFormat(current, opts).format(d);
}

// fmtNumber formats a number for the reader.
export function fmtNumber(n, digits = 2) {
  return new Intl.NumberFormat(current, { maximumFractionDigits: digits }).format(n);
}
