// The developer portal's one table of pages: the menu, in this order, and
// the routes (#/<id>, optionally #/<id>?key=value). A page is a module
// under pages/ exporting strings and render(ctx), as the console's are
// (web/README.md); ctx is { root, me, api, t, describe, query, go }.

export const routes = [
  { id: 'applicant', label: { 'zh-CN': '申请方登记', en: 'Applicant' }, load: () => import('./pages/applicant.js') },
  { id: 'agreement', label: { 'zh-CN': '服务协议', en: 'Agreement' }, load: () => import('./pages/agreement.js') },
  { id: 'credentials', label: { 'zh-CN': '沙箱凭证', en: 'Sandbox credentials' }, load: () => import('./pages/credentials.js') },
  { id: 'catalogue', label: { 'zh-CN': 'API 目录', en: 'API catalogue' }, load: () => import('./pages/catalogue.js') },
  { id: 'manual', label: { 'zh-CN': '开发者手册', en: 'Developer manual' }, load: () => import('./pages/manual.js') },
  { id: 'notices', label: { 'zh-CN': '变更通知', en: 'Change notices' }, load: () => import('./pages/notices.js') },
  { id: 'production', label: { 'zh-CN': '生产申请', en: 'Production access' }, load: () => import('./pages/production.js') },
  { id: 'security', label: { 'zh-CN': '报告安全缺陷', en: 'Report a security defect' }, load: () => import('./pages/security.js') },
];
