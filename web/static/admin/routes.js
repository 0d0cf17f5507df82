// The console's one table of pages: the menu, in this order, and the
// routes (#/<id>). A page is a module under pages/ exporting
//   strings  {'zh-CN': {...}, en: {...}}  its own texts (optional)
//   render(ctx)  draws into ctx.root; may return a cleanup function
// roles are the platform roles that see it in the menu and may open it
// (the API still decides what each role may do). To add a page, add its
// file and one line here; see web/README.md.

export const routes = [
  { id: 'dashboard', label: { 'zh-CN': '概览', en: 'Dashboard' }, roles: ['admin', 'operator', 'auditor'], load: () => import('./pages/dashboard.js') },
  { id: 'operations', label: { 'zh-CN': '运行控制', en: 'Operations' }, roles: ['admin', 'operator', 'reviewer', 'auditor'], load: () => import('./pages/operations.js') },
  { id: 'catalogue', label: { 'zh-CN': 'API 目录', en: 'API catalogue' }, roles: ['admin', 'operator', 'reviewer', 'auditor'], load: () => import('./pages/catalogue.js') },
];
