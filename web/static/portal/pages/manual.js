// The developer manual: docs/protocol.md (GET /portal/api/v1/manual, no
// session needed), rendered here from a safe subset of Markdown — headings,
// paragraphs, lists, code blocks (fenced and indented), tables, block
// quotes, and inline code, bold, emphasis and links — by building DOM nodes
// (text is always text: no innerHTML). Links go to http(s) addresses only;
// anything else stays text.

import { h, clear } from '../../js/dom.js';
import { t } from '../../js/i18n.js';

export const strings = {
  'zh-CN': {
    'man.title': '开发者手册',
    'man.intro': '接入协议 LJ1 的完整说明：传输、签名、加密、平台密钥、用户授权、错误处理、OpenSSL 命令、密钥保管、安全缺陷报告与 Go SDK。手册原文为英文。',
    'man.toc': '目录',
    'man.empty': '本节点没有提供开发者手册。请联系银行开放平台运营人员获取。',
  },
  en: {
    'man.title': 'Developer manual',
    'man.intro': 'The LJ1 protocol in full: transport, signatures, encryption, platform keys, user authorisation, errors, OpenSSL commands, keeping keys safe, reporting a security defect and the Go SDK.',
    'man.toc': 'Contents',
    'man.empty': 'This node has no developer manual. Ask the bank\'s open-platform team for it.',
  },
};

// slug makes a heading's anchor id.
function slug(text) {
  return 'man-' + text.toLowerCase().replace(/[^a-z0-9\u4e00-\u9fff]+/g, '-').replace(/^-|-$/g, '');
}

// inline renders a line's inline Markdown into nodes.
export function inline(text) {
  const out = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|\*([^*\s][^*]*)\*|<(https?:\/\/[^>\s]+)>/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(h('code', {}, m[1]));
    else if (m[2] !== undefined) out.push(h('strong', {}, ...inline(m[2])));
    else if (m[3] !== undefined) out.push(/^https?:\/\//.test(m[4]) ? h('a', { href: m[4], rel: 'noopener noreferrer', target: '_blank' }, ...inline(m[3])) : h('span', {}, ...inline(m[3])));
    else if (m[5] !== undefined) out.push(h('em', {}, m[5]));
    else if (m[6] !== undefined) out.push(h('a', { href: m[6], rel: 'noopener noreferrer', target: '_blank' }, m[6]));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const cells = (line) => line.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));

// markdown renders src into an array of block nodes; headings (h2, h3) are
// collected into toc.
export function markdown(src, toc = []) {
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let i = 0;
  const isBlank = (l) => l.trim() === '';
  const lead = (l) => l.length - l.trimStart().length;
  const listRe = /^(\s*)([-*+]|\d+\.)\s+(.*)$/;
  const startsBlock = (l) => /^(#{1,6})\s|^```|^>\s?|^\|/.test(l) || listRe.test(l);
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) { i++; continue; }
    let m;
    if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      const level = Math.min(m[1].length + 1, 6); // the page has its own h1
      const id = slug(m[2]);
      const el = h('h' + level, { id }, ...inline(m[2]));
      if (level <= 3) toc.push({ level, id, text: m[2] });
      blocks.push(el); i++; continue;
    }
    if (/^```/.test(line)) {
      const body = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i])) body.push(lines[i++]);
      i++;
      blocks.push(h('pre', { class: 'code' }, h('code', {}, body.join('\n'))));
      continue;
    }
    if (/^( {4}|\t)/.test(line)) {
      const body = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]) || (isBlank(lines[i]) && i + 1 < lines.length && /^( {4}|\t)/.test(lines[i + 1])))) {
        body.push(lines[i].replace(/^( {4}|\t)/, '')); i++;
      }
      blocks.push(h('pre', { class: 'code' }, h('code', {}, body.join('\n'))));
      continue;
    }
    if (/^\|/.test(line) && i + 1 < lines.length && /^\|?\s*:?-{2,}/.test(lines[i + 1])) {
      const head = cells(line);
      i += 2;
      const rows = [];
      while (i < lines.length && /^\|/.test(lines[i])) rows.push(cells(lines[i++]));
      blocks.push(h('div', { class: 'table-wrap' }, h('table', { class: 'table md-table' },
        h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, ...inline(c))))),
        h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, ...inline(c)))))))));
      continue;
    }
    if (/^>\s?/.test(line)) {
      const body = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) body.push(lines[i++].replace(/^>\s?/, ''));
      blocks.push(h('blockquote', {}, ...markdown(body.join('\n'))));
      continue;
    }
    if ((m = listRe.exec(line))) {
      const ordered = /\d/.test(m[2]);
      const indent = m[1].length;
      const items = [];
      while (i < lines.length) {
        const lm = listRe.exec(lines[i]);
        if (!lm || lm[1].length !== indent) break;
        const text = [lm[3]];
        i++;
        // Lazy continuation lines of the item's first paragraph.
        while (i < lines.length && !isBlank(lines[i]) && lead(lines[i]) > indent && !listRe.test(lines[i])) text.push(lines[i++].trim());
        const li = h('li', {}, ...inline(text.join(' ')));
        // The item's further blocks (nested lists, tables, code): lines
        // indented past the marker, blank lines between them included.
        const sub = [];
        while (i < lines.length) {
          if (isBlank(lines[i])) {
            let j = i;
            while (j < lines.length && isBlank(lines[j])) j++;
            if (j < lines.length && lead(lines[j]) > indent) { sub.push(''); i++; continue; }
            break;
          }
          if (lead(lines[i]) > indent) { sub.push(lines[i++]); continue; }
          break;
        }
        if (sub.length) {
          const cut = Math.min(...sub.filter((l) => !isBlank(l)).map(lead));
          li.append(...markdown(sub.map((l) => l.slice(cut)).join('\n')));
        }
        items.push(li);
        // Blank lines between items of the same list.
        let j = i;
        while (j < lines.length && isBlank(lines[j])) j++;
        if (j > i && j < lines.length && listRe.test(lines[j]) && lead(lines[j]) === indent && /\d/.test(listRe.exec(lines[j])[2]) === ordered) i = j;
      }
      blocks.push(h(ordered ? 'ol' : 'ul', {}, items));
      continue;
    }
    const para = [];
    while (i < lines.length && !isBlank(lines[i]) && (para.length === 0 || !startsBlock(lines[i]))) para.push(lines[i++].trim());
    blocks.push(h('p', {}, ...inline(para.join(' '))));
  }
  return blocks;
}

// The manual is long: the page shows its contents and one section at a
// time (#/manual?s=<n>; the first by default, with the introduction), with
// links to the previous and next ones.
export function render({ root, api, describe, query }) {
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  root.append(h('h1', {}, t('man.title')), h('p', { class: 'muted' }, t('man.intro')), body);
  (async () => {
    let m;
    try { m = await api.get('/manual'); } catch (err) {
      clear(body).append(err.code === 'NOT_FOUND' ? h('p', { class: 'empty' }, t('man.empty')) : h('p', { class: 'alert alert-error', role: 'alert' }, describe(err)));
      return;
    }
    // parts[0] is the title and introduction; then one part per "## ".
    const parts = m.markdown.split(/\n(?=## )/);
    const titles = parts.slice(1).map((p) => p.split('\n')[0].replace(/^##\s+/, ''));
    let n = Number(query.get('s') || '1');
    if (!Number.isInteger(n) || n < 1 || n > titles.length) n = 1;
    const link = (i, text, cls) => h('a', { href: '#/manual?s=' + i, class: cls, 'aria-current': i === n ? 'page' : null }, text);
    const nav = h('nav', { class: 'card manual-toc', 'aria-labelledby': 'man-toc' }, h('h2', { id: 'man-toc' }, t('man.toc')),
      h('ul', { class: 'plain toc-list' }, titles.map((x, i) => h('li', {}, link(i + 1, x)))));
    const article = h('article', { class: 'card manual', lang: 'en' },
      n === 1 ? markdown(parts[0]) : null, markdown(parts[n]),
      h('p', { class: 'manual-pager' },
        n > 1 ? link(n - 1, '← ' + titles[n - 2], 'btn') : null, ' ',
        n < titles.length ? link(n + 1, titles[n] + ' →', 'btn') : null));
    clear(body).append(nav, article);
    if (query.get('s')) article.scrollIntoView();
  })();
}
