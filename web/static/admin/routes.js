// The console's one table of pages: the menu, in this order, and the
// routes (#/<id>). A page is a module under pages/ exporting
//   strings  {'zh-CN': {...}, en: {...}}  its own texts (optional)
//   render(ctx)  draws into ctx.root; may return a cleanup function
// roles are the platform roles that see it in the menu and may open it
// (the API still decides what each role may do). To add a page, add its
// file and one line here; see web/README.md.

export const routes = [
  { id: 'dashboard', label: { 'zh-CN': '概览', en: 'Dashboard' }, roles: ['admin', 'operator', 'auditor'], load: () => import('./pages/dashboard.js') },
  { id: 'review', label: { 'zh-CN': '申请方审核', en: 'Applicant review' }, roles: ['admin', 'reviewer'], load: () => import('./pages/review.js') },
  { id: 'applicants', label: { 'zh-CN': '申请方与应用', en: 'Applicants and apps' }, roles: ['admin', 'operator', 'reviewer', 'auditor'], load: () => import('./pages/applicants.js') },
  { id: 'operations', label: { 'zh-CN': '运行控制', en: 'Operations' }, roles: ['admin', 'operator', 'reviewer', 'auditor'], load: () => import('./pages/operations.js') },
  { id: 'catalogue', label: { 'zh-CN': 'API 目录', en: 'API catalogue' }, roles: ['admin', 'operator', 'reviewer', 'auditor'], load: () => import('./pages/catalogue.js') },
  { id: 'audit', label: { 'zh-CN': '审计', en: 'Audit' }, roles: ['admin', 'auditor'], load: () => import('./pages/audit.js') },
  { id: 'report', label: { 'zh-CN': '自检报告', en: 'Self-check report' }, roles: ['admin', 'auditor'], load: () => import('./pages/report.js') },
  { id: 'cluster', label: { 'zh-CN': '集群', en: 'Cluster' }, roles: ['admin', 'operator', 'auditor'], load: () => import('./pages/cluster.js') },
  { id: 'keys', label: { 'zh-CN': '平台密钥', en: 'Platform keys' }, roles: ['admin', 'operator', 'auditor'], load: () => import('./pages/keys.js') },
  { id: 'users', label: { 'zh-CN': '管理员', en: 'Admin users' }, roles: ['admin', 'auditor'], load: () => import('./pages/users.js') },
];
