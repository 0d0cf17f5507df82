// Applicants' documents (business licence, authorisation letter, …), shared
// by the developer portal's applicant page (upload, list, remove) and the
// admin console's review and applicant pages (list, download). A document is
// downloaded through the API (raw(): fetch → Blob → object URL), never by
// navigating to the API, so the session's errors are shown like any other.
// Its strings are registered here, once, when a page first imports it.

import { h } from './dom.js';
import { t, register, fmtTime, fmtNumber } from './i18n.js';
import { raw } from './api.js';

export const strings = {
  'zh-CN': {
    'doc.kind.business_licence': '营业执照',
    'doc.kind.authorisation_letter': '授权书',
    'doc.kind.security_assessment': '安全评估报告',
    'doc.kind.other': '其他',
    'doc.col.kind': '类型',
    'doc.col.file': '文件',
    'doc.col.size': '大小',
    'doc.col.sm3': 'SM3 摘要',
    'doc.col.uploaded': '上传时间',
    'doc.col.action': '操作',
    'doc.download': '下载',
    'doc.downloadName': '下载 {name}',
    'doc.remove': '删除',
    'doc.removeName': '删除 {name}',
    'doc.empty': '申请方尚未上传资质文件。请申请方的开发者在开发者门户“申请方登记”页上传营业执照、授权书等文件。',
    'doc.kb': '{n} KB',
    'doc.mb': '{n} MB',
  },
  en: {
    'doc.kind.business_licence': 'Business licence',
    'doc.kind.authorisation_letter': 'Authorisation letter',
    'doc.kind.security_assessment': 'Security assessment',
    'doc.kind.other': 'Other',
    'doc.col.kind': 'Kind',
    'doc.col.file': 'File',
    'doc.col.size': 'Size',
    'doc.col.sm3': 'SM3 digest',
    'doc.col.uploaded': 'Uploaded',
    'doc.col.action': 'Action',
    'doc.download': 'Download',
    'doc.downloadName': 'Download {name}',
    'doc.remove': 'Remove',
    'doc.removeName': 'Remove {name}',
    'doc.empty': 'The applicant has uploaded no document yet. Its developer uploads the business licence, authorisation letter and the like on the developer portal\'s Applicant page.',
    'doc.kb': '{n} KB',
    'doc.mb': '{n} MB',
  },
};
register(strings);

// The kinds and media types the API takes, and its size limit.
export const DOC_KINDS = ['business_licence', 'authorisation_letter', 'security_assessment', 'other'];
export const DOC_TYPES = ['application/pdf', 'image/png', 'image/jpeg'];
export const DOC_MAX_BYTES = 2 * 1024 * 1024;

// fmtSize is a size in KB or MB.
export function fmtSize(n) {
  return n >= 1024 * 1024 ? t('doc.mb', { n: fmtNumber(n / 1024 / 1024, 1) }) : t('doc.kb', { n: fmtNumber(Math.max(n / 1024, 0.1), 1) });
}

// downloadDocument fetches path (under base) and saves it as fileName.
export async function downloadDocument(base, path, fileName) {
  const resp = await raw('GET', path, { base, headers: { Accept: '*/*' } });
  const url = URL.createObjectURL(await resp.blob());
  const a = h('a', { href: url, download: fileName, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// documentsTable lists docs (GET …/applicants/{id}/documents items) with a
// download button each, downloading from base + path(doc); with onRemove,
// a remove button each, disabled with removeWhy (a reason) when set.
// onError(err) is told of a failed download.
export function documentsTable(docs, { base, path, onError, onRemove, removeWhy, empty }) {
  if (!docs.length) return h('p', { class: 'empty', 'data-testid': 'documents-empty' }, empty || t('doc.empty'));
  const cols = ['kind', 'file', 'size', 'sm3', 'uploaded', 'action'];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack', 'data-testid': 'documents' },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, t('doc.col.' + c))))),
    h('tbody', {}, docs.map((d) => h('tr', { 'data-document': d.id },
      h('td', { class: 'nowrap' }, t('doc.kind.' + d.kind)),
      h('th', { scope: 'row', class: 'break' }, d.file_name, h('div', { class: 'small muted' }, d.media_type)),
      h('td', { class: 'nowrap' }, fmtSize(d.size)),
      h('td', { class: 'mono small', title: d.sm3 }, d.sm3.slice(0, 16) + '…'),
      h('td', { class: 'nowrap' }, fmtTime(d.uploaded)),
      h('td', { class: 'nowrap' },
        h('button', { type: 'button', class: 'btn', 'data-action': 'download', 'aria-label': t('doc.downloadName', { name: d.file_name }),
          onclick: async (e) => {
            e.target.disabled = true;
            try { await downloadDocument(base, path(d), d.file_name); } catch (err) { onError(err); } finally { e.target.disabled = false; }
          } }, t('doc.download')),
        onRemove ? [' ', h('button', { type: 'button', class: 'btn btn-danger', 'data-action': 'remove', disabled: Boolean(removeWhy), title: removeWhy || null,
          'aria-label': t('doc.removeName', { name: d.file_name }), onclick: () => onRemove(d) }, t('doc.remove'))] : null))))));
}
