// Self-check report: this node's own inspection, from GET
// /report?format=json (portal/report.go, shape in report/report.go,
// lijiang-self-check/1). It shows when and where it was made, a red line
// when demo mode or development keys are in use, the requirements by
// status, the live checks (red or green with what to do), every R-id with
// its evidence and tests (filtered by status), the access reviews and the
// periodic figures; and downloads the HTML report and the JSON (streamed,
// with the bytes and seconds so far, then a link with the server's file
// name). Every generation is recorded in the audit chain first, so the
// page keeps the last report for the language switch and makes a new one
// only when asked. Auditors and admins.

import { h, clear } from '../../js/dom.js';
import { t, lang, fmtTime, fmtNumber } from '../../js/i18n.js';
import { raw } from '../../js/api.js';

const STATUSES = ['met', 'configured_off', 'partly', 'not_met', 'organisational'];
const RESULTS = ['fail', 'warn', 'not_run', 'pass'];
const STATUS_BADGE = { met: 'badge-ok', configured_off: 'badge-warn', partly: 'badge-warn', not_met: 'badge-danger', organisational: 'badge-muted' };
const RESULT_BADGE = { pass: 'badge-ok', warn: 'badge-warn', fail: 'badge-danger', not_run: 'badge-muted' };

export const strings = {
  'zh-CN': {
    'rep.title': '自检报告',
    'rep.intro': '本节点根据实际运行状态生成的安全自检报告：逐条列出标准的每项要求（R 编号）在本安装上的落实情况与证据、实时检查、访问权限复核和定期统计数据。报告本身不含任何密钥或明文个人信息。',
    'rep.recorded': '每次生成报告（包括打开本页、重新生成和下载）都会先连同您的姓名记入本节点的审计链（report.generated）。',
    'rep.loading': '正在生成报告…已用时 {seconds} 秒。报告在服务器上读取整个安装的状态，请勿关闭页面。',
    'rep.regenerate': '重新生成',
    'rep.busy': '报告生成中，请等待。',
    'rep.failed': '报告未能生成。',
    'rep.unavailable': '本节点现在无法生成自检报告。请运维人员查看节点日志；也可以在停止的节点上运行 lijiang report --data-dir D --kek-file K 生成。',
    'rep.forbidden': '只有审计人员和管理员可以生成自检报告。',
    'rep.serverText': '证据、处理建议和要求原文由服务器生成（英文）。',
    // meta
    'rep.meta.title': '生成信息',
    'rep.meta.at': '生成时间',
    'rep.meta.node': '节点',
    'rep.meta.version': '版本',
    'rep.meta.go': 'Go 版本',
    'rep.meta.mode': '生成方式',
    'rep.meta.online': '在线：由运行中的节点通过管理 API 生成',
    'rep.meta.offline': '离线：根据已停止节点的数据目录生成',
    'rep.meta.index': '已应用的变更日志序号',
    'rep.meta.event': '审计记录',
    'rep.meta.settings': '配置来源',
    'rep.meta.tls': 'TLS 最低版本',
    'rep.meta.kek': '密钥加密密钥来源',
    'rep.kek.file': '文件',
    'rep.kek.env': '环境变量 LIJIANG_KEK',
    'rep.kek.dev': '开发密钥（演示用，位于数据目录中）',
    'rep.unknown': '未知',
    // red line
    'rep.red.title': '红线：本节点处于演示模式或使用开发密钥',
    'rep.red.body': '演示模式的登录、密钥和开发用密钥加密密钥都保存在数据目录中，任何能读取数据目录的人都能取得。此安装不得用于生产或处理真实客户数据。',
    'rep.red.next': '处理办法：不带 --demo 启动，使用存放在数据目录之外的 --kek-file，并运行 lijiang kek rotate 轮换密钥加密密钥，使任何数据都不再由开发密钥封存。',
    // summary
    'rep.sum.title': '概况',
    'rep.sum.reqs': '共 {n} 项要求',
    'rep.sum.checks': '实时检查',
    'rep.status.met': '已满足',
    'rep.status.configured_off': '已具备但未启用',
    'rep.status.partly': '部分满足',
    'rep.status.not_met': '未满足',
    'rep.status.organisational': '组织管理（由银行落实）',
    'rep.status.org': '组织管理',
    'rep.result.pass': '通过',
    'rep.result.warn': '需注意',
    'rep.result.fail': '不通过',
    'rep.result.not_run': '未运行',
    // checks
    'rep.checks.title': '实时检查',
    'rep.checks.intro': '生成报告时对本节点的实际检查，未通过的排在前面。',
    'rep.col.result': '结果',
    'rep.col.check': '检查项',
    'rep.col.evidence': '证据',
    'rep.col.action': '处理建议',
    'rep.col.reqs': '相关要求',
    'rep.redLineMark': '红线',
    'rep.noAction': '无需处理',
    // requirements
    'rep.reqs.title': '逐项要求（R 编号）',
    'rep.reqs.intro': '标准的全部 {n} 项要求在本安装上的状态。测试为构建时随程序嵌入的合规矩阵中证明该项的测试。',
    'rep.reqs.filter': '按状态筛选',
    'rep.reqs.all': '全部（{n}）',
    'rep.reqs.option': '{status}（{n}）',
    'rep.reqs.shown': '显示 {n} 项',
    'rep.reqs.empty': '没有处于该状态的要求。请选择“全部”查看每一项。',
    'rep.col.id': '编号',
    'rep.col.requirement': '要求',
    'rep.col.status': '状态',
    'rep.col.tests': '测试',
    'rep.tests': '{n} 个测试',
    'rep.test1': '1 个测试',
    'rep.noTests': '无',
    // access review
    'rep.review.title': '访问权限复核',
    'rep.review.users': '管理端用户',
    'rep.review.apps': '应用与授权',
    'rep.review.grants': '授权总数 {n}，其中 A2 级 {a2} 项。',
    'rep.review.unused': '90 天未使用的授权',
    'rep.review.unusedNone': '没有 90 天未使用的授权。',
    'rep.review.expired': '凭证已过期的应用',
    'rep.review.expiredNone': '没有凭证已过期的应用。',
    'rep.review.exited': '已退出但仍有有效访问的申请方',
    'rep.review.exitedNone': '没有已退出但仍有有效访问的申请方。',
    'rep.review.noUsers': '没有管理端用户。',
    'rep.review.noApps': '还没有应用。',
    'rep.col.user': '用户',
    'rep.col.role': '角色',
    'rep.col.userStatus': '状态',
    'rep.col.lastLogin': '最近登录',
    'rep.col.mfa': '第二因素',
    'rep.col.failed': '登录失败次数',
    'rep.col.sessions': '会话数',
    'rep.col.app': '应用 App_ID',
    'rep.col.applicant': '申请方',
    'rep.col.env': '环境',
    'rep.col.lastUse': '最近使用',
    'rep.col.creds': '有效凭证',
    'rep.col.appGrants': '授权',
    'rep.grantsN': '{n} 项（A2 级 {a2} 项）',
    'rep.col.api': 'API',
    'rep.col.level': '等级',
    'rep.col.grantedBy': '授权人',
    'rep.col.granted': '授权时间',
    'rep.yes': '已启用',
    'rep.no': '未启用',
    'rep.locked': '已锁定',
    'rep.never': '从未',
    // figures
    'rep.fig.title': '定期统计（R-14）',
    'rep.fig.records': '统计的调用记录：{n} 条。',
    'rep.fig.daily': '按日',
    'rep.fig.monthly': '按月',
    'rep.fig.empty': '审计链中还没有调用记录，暂无统计。应用调用 API 后再生成报告即可看到。',
    'rep.col.period': '期间',
    'rep.col.calls': '调用次数',
    'rep.col.ok': '成功',
    'rep.col.rate': '成功率',
    'rep.col.top': '调用最多的申请方 / 应用 / API',
    'rep.col.refusals': '拒绝（按返回码）',
    'rep.col.controls': '限流与风控动作',
    'rep.none': '—',
    // vulnerabilities
    'rep.vuln.title': '已知漏洞（离线检查）',
    'rep.vuln.notRun': '未运行：需要在离线生成时用 --vulndb 指定 Go 漏洞数据库的本地副本（银行网络无法访问互联网）。',
    'rep.vuln.clean': '已检查 {n} 个模块，未发现已知漏洞。',
    'rep.vuln.found': '已检查 {n} 个模块，发现 {count} 个已知漏洞：',
    // download
    'rep.dl.title': '下载报告',
    'rep.dl.intro': 'HTML 报告为可打印的单个文件（中英文），适合交给检查人员；JSON 为报告数据，便于工具处理。每次下载都会重新生成报告并记入审计链。',
    'rep.dl.html': '下载 HTML 报告',
    'rep.dl.json': '下载 JSON',
    'rep.dl.running': '正在生成…已接收 {size}，已用时 {seconds} 秒。',
    'rep.dl.done': '已生成：{size}，用时 {seconds} 秒。这次生成已记入审计链。',
    'rep.dl.save': '保存 {file}',
    'rep.dl.cut': '下载中断：文件不完整，请勿使用。请重试；如仍失败，请联系运维人员。',
  },
  en: {
    'rep.title': 'Self-check report',
    'rep.intro': 'This node\'s security self-check from the live system: every requirement of the standard (R-id) with its status and evidence on this installation, live checks, access reviews and periodic figures. The report holds no secret and no personal data in clear.',
    'rep.recorded': 'Each generation (opening this page, regenerating, downloading) is first recorded with your name in this node\'s audit chain (report.generated).',
    'rep.loading': 'Making the report… {seconds} s so far. The server reads the whole installation; keep this page open.',
    'rep.regenerate': 'Regenerate',
    'rep.busy': 'A report is being made; wait for it.',
    'rep.failed': 'The report could not be made.',
    'rep.unavailable': 'This node cannot make the self-check report now. Ask the operators to read the node\'s log; on a stopped node, lijiang report --data-dir D --kek-file K makes it too.',
    'rep.forbidden': 'Only auditors and admins may make the self-check report.',
    'rep.serverText': 'Evidence, actions and the requirements\' text are the server\'s (in English).',
    'rep.meta.title': 'Generated',
    'rep.meta.at': 'Generated at',
    'rep.meta.node': 'Node',
    'rep.meta.version': 'Version',
    'rep.meta.go': 'Go version',
    'rep.meta.mode': 'How',
    'rep.meta.online': 'Online: by the running node through the admin API',
    'rep.meta.offline': 'Offline: from the stopped node\'s data directory',
    'rep.meta.index': 'Applied change-log index',
    'rep.meta.event': 'Audit record',
    'rep.meta.settings': 'Settings from',
    'rep.meta.tls': 'Minimum TLS version',
    'rep.meta.kek': 'Key-encryption key from',
    'rep.kek.file': 'a file',
    'rep.kek.env': 'the LIJIANG_KEK environment variable',
    'rep.kek.dev': 'the development key (demo, in the data directory)',
    'rep.unknown': 'unknown',
    'rep.red.title': 'Red line: this node runs in demo mode or with development keys',
    'rep.red.body': 'The demo\'s logins and keys and the development key-encryption key are in the data directory: anyone who can read it has them. This installation must not run production or hold real customers\' data.',
    'rep.red.next': 'What to do: start without --demo, with a --kek-file kept outside the data directory, and run lijiang kek rotate so that nothing stays sealed with the development key.',
    'rep.sum.title': 'Summary',
    'rep.sum.reqs': '{n} requirements',
    'rep.sum.checks': 'Live checks',
    'rep.status.met': 'Met',
    'rep.status.configured_off': 'Configured off',
    'rep.status.partly': 'Partly',
    'rep.status.not_met': 'Not met',
    'rep.status.organisational': 'Organisational (the bank\'s)',
    'rep.status.org': 'Organisational',
    'rep.result.pass': 'Pass',
    'rep.result.warn': 'Warning',
    'rep.result.fail': 'Fail',
    'rep.result.not_run': 'Not run',
    'rep.checks.title': 'Live checks',
    'rep.checks.intro': 'What the node found when the report was made; failures first.',
    'rep.col.result': 'Result',
    'rep.col.check': 'Check',
    'rep.col.evidence': 'Evidence',
    'rep.col.action': 'What to do',
    'rep.col.reqs': 'Requirements',
    'rep.redLineMark': 'red line',
    'rep.noAction': 'nothing',
    'rep.reqs.title': 'Requirements (R-ids)',
    'rep.reqs.intro': 'All {n} requirements of the standard and their status on this installation. Tests are those of the compliance matrix built into the binary that prove the requirement.',
    'rep.reqs.filter': 'Filter by status',
    'rep.reqs.all': 'All ({n})',
    'rep.reqs.option': '{status} ({n})',
    'rep.reqs.shown': '{n} shown',
    'rep.reqs.empty': 'No requirement has this status. Choose All to see every one.',
    'rep.col.id': 'R-id',
    'rep.col.requirement': 'Requirement',
    'rep.col.status': 'Status',
    'rep.col.tests': 'Tests',
    'rep.tests': '{n} tests',
    'rep.test1': '1 test',
    'rep.noTests': 'none',
    'rep.review.title': 'Access reviews',
    'rep.review.users': 'Admin users',
    'rep.review.apps': 'Apps and grants',
    'rep.review.grants': '{n} grants, {a2} of them A2.',
    'rep.review.unused': 'Grants unused for 90 days',
    'rep.review.unusedNone': 'No grant has been unused for 90 days.',
    'rep.review.expired': 'Apps with expired credentials',
    'rep.review.expiredNone': 'No app has expired credentials.',
    'rep.review.exited': 'Exited applicants with access still active',
    'rep.review.exitedNone': 'No exited applicant has access still active.',
    'rep.review.noUsers': 'No admin users.',
    'rep.review.noApps': 'No apps yet.',
    'rep.col.user': 'User',
    'rep.col.role': 'Role',
    'rep.col.userStatus': 'Status',
    'rep.col.lastLogin': 'Last login',
    'rep.col.mfa': 'Second factor',
    'rep.col.failed': 'Failed logins',
    'rep.col.sessions': 'Sessions',
    'rep.col.app': 'App_ID',
    'rep.col.applicant': 'Applicant',
    'rep.col.env': 'Environment',
    'rep.col.lastUse': 'Last use',
    'rep.col.creds': 'Active credentials',
    'rep.col.appGrants': 'Grants',
    'rep.grantsN': '{n} ({a2} A2)',
    'rep.col.api': 'API',
    'rep.col.level': 'Level',
    'rep.col.grantedBy': 'Granted by',
    'rep.col.granted': 'Granted',
    'rep.yes': 'on',
    'rep.no': 'off',
    'rep.locked': 'locked',
    'rep.never': 'never',
    'rep.fig.title': 'Periodic figures (R-14)',
    'rep.fig.records': '{n} call records counted.',
    'rep.fig.daily': 'By day',
    'rep.fig.monthly': 'By month',
    'rep.fig.empty': 'The audit chain holds no calls yet, so there are no figures. Make the report again after apps have called APIs.',
    'rep.col.period': 'Period',
    'rep.col.calls': 'Calls',
    'rep.col.ok': 'Succeeded',
    'rep.col.rate': 'Success rate',
    'rep.col.top': 'Top applicants / apps / APIs',
    'rep.col.refusals': 'Refusals by code',
    'rep.col.controls': 'Limit and risk actions',
    'rep.none': '—',
    'rep.vuln.title': 'Known vulnerabilities (offline check)',
    'rep.vuln.notRun': 'Not run: it needs a local copy of the Go vulnerability database, given with --vulndb when the report is made offline (the bank\'s network has no internet).',
    'rep.vuln.clean': '{n} modules checked; no known vulnerability.',
    'rep.vuln.found': '{n} modules checked; {count} known vulnerabilities:',
    'rep.dl.title': 'Download',
    'rep.dl.intro': 'The HTML report is one printable file (Chinese and English) to hand to an examiner; the JSON is the report\'s data for tools. Each download makes the report anew and is recorded in the audit chain.',
    'rep.dl.html': 'Download the HTML report',
    'rep.dl.json': 'Download the JSON',
    'rep.dl.running': 'Making it… {size} received, {seconds} s so far.',
    'rep.dl.done': 'Made: {size} in {seconds} s. This generation is recorded in the audit chain.',
    'rep.dl.save': 'Save {file}',
    'rep.dl.cut': 'The download was cut short: the file is incomplete, do not use it. Try again; if it persists, contact the operators.',
  },
};

// apiNames maps API ids to their names (from GET /apis), when readable.
const apiNames = new Map();
const apiName = (id) => (apiNames.has(id) ? apiNames.get(id) + ' (' + id + ')' : id);

// last is the last report this user made, kept so that switching the
// language does not make (and record) another one.
let last = null;

function fmtBytes(n) {
  if (n < 1024) return fmtNumber(n, 0) + ' B';
  if (n < 1024 * 1024) return fmtNumber(n / 1024, 1) + ' KB';
  return fmtNumber(n / 1024 / 1024, 1) + ' MB';
}

const secs = (start) => fmtNumber((Date.now() - start) / 1000, 1);
const when = (v) => (v ? fmtTime(v, { dateStyle: 'medium', timeStyle: 'short' }) : t('rep.never'));
const list = (items) => h('ul', { class: 'plain-list rep-evidence' }, items.map((x) => h('li', {}, x)));
const topOf = (m, n = 3, name = (k) => k) => Object.entries(m || {}).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => name(k) + ' ' + fmtNumber(v, 0));

// cell is a table cell with its column's name shown before the content
// on a narrow screen only, where .table-stack hides the header row.
function cell(key, cls, ...content) {
  return h('td', { class: cls }, h('span', { class: 'rep-cell-label', 'aria-hidden': 'true' }, t(key)), ...content);
}

function stat(name, value, cls) {
  return h('div', { class: 'stat' + (cls ? ' ' + cls : '') }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-name' }, name));
}

function table(cls, heads, rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack ' + cls },
    h('thead', {}, h('tr', {}, heads.map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, rows)));
}

export function render({ root, me, api, describe }) {
  const timers = [];
  const urls = [];
  const who = me.id || me.username;

  const regen = h('button', { type: 'button', class: 'btn', 'data-action': 'regenerate', onclick: () => load() }, t('rep.regenerate'));
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, t('rep.title')), regen),
    h('p', { class: 'muted' }, t('rep.intro')),
    h('p', { class: 'alert alert-info small', 'data-testid': 'rep-recorded' }, t('rep.recorded')));
  const progress = h('div', { class: 'audit-progress', hidden: true, role: 'status', 'aria-live': 'polite' },
    h('progress', { 'aria-label': t('rep.title') }), h('span', { class: 'small' }));
  const redBox = h('div', {});
  const body = h('div', { 'data-testid': 'report' });
  root.append(progress, redBox, downloadCard(), body);
  // API names for the ids the report gives, when the catalogue is readable.
  api.get('/apis?limit=500', { background: true }).then((res) => {
    for (const a of res.items || []) apiNames.set(a.id, a.name || a.path);
    if (last && last.who === who && !regen.disabled) show(last.rep);
  }).catch(() => { /* ids only */ });

  if (last && last.who === who) show(last.rep);
  else load();

  async function load() {
    if (regen.disabled) return;
    regen.disabled = true;
    regen.title = t('rep.busy');
    progress.hidden = false;
    const started = Date.now();
    const tick = () => { progress.lastChild.textContent = t('rep.loading', { seconds: Math.floor((Date.now() - started) / 1000) }); };
    tick();
    const timer = setInterval(tick, 1000);
    timers.push(timer);
    try {
      const resp = await raw('GET', '/report?format=json');
      const rep = await resp.json();
      last = { who, rep };
      show(rep);
    } catch (err) {
      const msg = err.code === 'UNAVAILABLE' ? t('rep.unavailable') : err.code === 'FORBIDDEN' ? t('rep.forbidden') : describe(err);
      clear(body).append(h('div', { class: 'alert alert-error', role: 'alert' }, h('strong', {}, t('rep.failed')), ' ', msg));
    } finally {
      clearInterval(timer);
      progress.hidden = true;
      regen.disabled = false;
      regen.removeAttribute('title');
    }
  }

  function show(rep) {
    clear(body);
    clear(redBox);
    const demoCheck = (rep.checks || []).find((c) => c.id === 'demo.mode');
    const red = (rep.summary && rep.summary.red_lines && rep.summary.red_lines.length) || rep.settings.demo || rep.settings.kek_source === 'dev';
    if (red) {
      redBox.append(h('section', { class: 'alert alert-error rep-redline', role: 'alert', 'data-testid': 'red-line' },
        h('p', { class: 'rep-redline-title' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), t('rep.red.title')),
        h('p', {}, t('rep.red.body')),
        demoCheck && demoCheck.evidence.length ? list(demoCheck.evidence) : null,
        h('p', {}, t('rep.red.next'))));
    }
    body.append(metaCard(rep), summaryCard(rep), checksCard(rep), reqsCard(rep), reviewCard(rep.access_review || {}), figuresCard(rep.figures || {}), vulnCard(rep.vulnerabilities || {}));
  }

  function metaCard(rep) {
    const s = rep.settings || {};
    const dl = h('dl', { class: 'kv' });
    const kv = (k, v, mono) => dl.append(h('dt', {}, t(k)), h('dd', { class: mono ? 'mono' : '' }, v));
    kv('rep.meta.at', fmtTime(rep.generated_at, { dateStyle: 'long', timeStyle: 'medium' }) + ' (' + rep.generated_at + ')');
    kv('rep.meta.node', rep.node, true);
    kv('rep.meta.version', rep.version + ' · ' + rep.go_version, true);
    kv('rep.meta.mode', t((rep.mode || '').startsWith('offline') ? 'rep.meta.offline' : 'rep.meta.online'));
    kv('rep.meta.index', fmtNumber(rep.applied_index, 0));
    kv('rep.meta.tls', s.min_tls || t('rep.unknown'));
    kv('rep.meta.kek', s.kek_source ? t('rep.kek.' + s.kek_source) + (s.kek_file ? ' (' + s.kek_file + ')' : '') : t('rep.unknown'));
    kv('rep.meta.settings', s.source || t('rep.unknown'));
    kv('rep.meta.event', rep.audit_event || t('rep.none'));
    return h('section', { class: 'card', 'aria-labelledby': 'rep-meta' }, h('h2', { id: 'rep-meta' }, t('rep.meta.title')), dl);
  }

  function summaryCard(rep) {
    const by = (rep.summary && rep.summary.by_status) || {};
    const ch = (rep.summary && rep.summary.checks) || {};
    return h('section', { class: 'card', 'aria-labelledby': 'rep-sum', 'data-testid': 'rep-summary' },
      h('h2', { id: 'rep-sum' }, t('rep.sum.title')),
      h('p', { class: 'small muted' }, t('rep.sum.reqs', { n: (rep.requirements || []).length })),
      h('div', { class: 'stats' }, STATUSES.map((st) => stat(t('rep.status.' + st), fmtNumber(by[st] || 0, 0), 'rep-stat-' + st))),
      h('h3', {}, t('rep.sum.checks')),
      h('div', { class: 'stats' }, RESULTS.map((r) => stat(t('rep.result.' + r), fmtNumber(ch[r] || 0, 0), 'rep-stat-' + r))));
  }

  function checksCard(rep) {
    const checks = [...(rep.checks || [])].sort((a, b) => RESULTS.indexOf(a.result) - RESULTS.indexOf(b.result));
    const rows = checks.map((c) => h('tr', { 'data-check': c.id, 'data-result': c.result },
      h('td', { class: 'nowrap' }, h('span', { class: 'badge ' + (RESULT_BADGE[c.result] || '') }, t('rep.result.' + c.result)),
        c.red_line ? h('span', { class: 'badge badge-danger rep-mark' }, t('rep.redLineMark')) : null),
      h('td', {}, h('strong', {}, lang() === 'en' ? c.title : (c.title_zh || c.title)), h('div', { class: 'mono small muted' }, c.id)),
      cell('rep.col.evidence', 'wide small rep-ev', list(c.evidence || [])),
      cell('rep.col.action', 'wide small rep-act', c.action || h('span', { class: 'muted' }, t('rep.noAction'))),
      cell('rep.col.reqs', 'small mono', (c.requirements || []).join(', '))));
    return h('section', { class: 'card', 'aria-labelledby': 'rep-checks' },
      h('h2', { id: 'rep-checks' }, t('rep.checks.title')),
      h('p', { class: 'small muted' }, t('rep.checks.intro'), ' ', t('rep.serverText')),
      table('rep-checks', ['rep.col.result', 'rep.col.check', 'rep.col.evidence', 'rep.col.action', 'rep.col.reqs'], rows));
  }

  function reqsCard(rep) {
    const reqs = rep.requirements || [];
    const by = {};
    for (const q of reqs) by[q.status] = (by[q.status] || 0) + 1;
    const sel = h('select', { id: 'rep-filter', name: 'status' },
      h('option', { value: '' }, t('rep.reqs.all', { n: reqs.length })),
      STATUSES.map((st) => h('option', { value: st }, t('rep.reqs.option', { status: t('rep.status.' + st), n: by[st] || 0 }))));
    const shown = h('span', { class: 'small muted rep-shown', role: 'status' });
    const out = h('div', { 'data-testid': 'rep-requirements' });
    const draw = () => {
      const rows = reqs.filter((q) => !sel.value || q.status === sel.value);
      shown.textContent = t('rep.reqs.shown', { n: rows.length });
      clear(out);
      if (!rows.length) { out.append(h('p', { class: 'empty' }, t('rep.reqs.empty'))); return; }
      out.append(table('rep-reqs', ['rep.col.id', 'rep.col.requirement', 'rep.col.status', 'rep.col.evidence', 'rep.col.tests', 'rep.col.action'],
        rows.map((q) => h('tr', { 'data-rid': q.id, 'data-status': q.status },
          h('th', { scope: 'row', class: 'mono nowrap' }, q.id),
          h('td', { class: 'wide small' }, q.requirement),
          h('td', { class: 'nowrap' }, h('span', { class: 'badge ' + (STATUS_BADGE[q.status] || '') }, t(q.status === 'organisational' ? 'rep.status.org' : 'rep.status.' + q.status))),
          cell('rep.col.evidence', 'wide small rep-ev', list(q.evidence || [])),
          cell('rep.col.tests', 'small', q.tests && q.tests.length
            ? h('details', {}, h('summary', {}, t(q.tests.length === 1 ? 'rep.test1' : 'rep.tests', { n: q.tests.length })), h('ul', { class: 'plain-list mono' }, q.tests.map((x) => h('li', {}, x))))
            : h('span', { class: 'muted' }, t('rep.noTests'))),
          cell('rep.col.action', 'wide small rep-act', q.action || h('span', { class: 'muted' }, t('rep.noAction')))))));
    };
    sel.addEventListener('change', draw);
    draw();
    return h('section', { class: 'card', 'aria-labelledby': 'rep-reqs' },
      h('h2', { id: 'rep-reqs' }, t('rep.reqs.title')),
      h('p', { class: 'small muted' }, t('rep.reqs.intro', { n: reqs.length }), ' ', t('rep.serverText')),
      h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'rep-filter' }, t('rep.reqs.filter')), sel), shown),
      out);
  }

  function reviewCard(ar) {
    const users = ar.users || [];
    const apps = ar.apps || [];
    const unused = ar.grants_unused_90_days || [];
    const expired = ar.apps_with_expired_credentials || [];
    const exited = ar.exited_applicants_with_active_access || [];
    const grantRows = (gs) => gs.map((g) => h('tr', {},
      h('td', { class: 'mono small' }, g.app_id), cell('rep.col.api', 'small', apiName(g.api_id)), cell('rep.col.level', 'nowrap', g.level),
      cell('rep.col.grantedBy', 'mono small', g.granted_by), cell('rep.col.granted', 'nowrap small', when(g.granted)), cell('rep.col.lastUse', 'nowrap small', when(g.last_use))));
    const grantHeads = ['rep.col.app', 'rep.col.api', 'rep.col.level', 'rep.col.grantedBy', 'rep.col.granted', 'rep.col.lastUse'];
    return h('section', { class: 'card', 'aria-labelledby': 'rep-review', 'data-testid': 'rep-review' },
      h('h2', { id: 'rep-review' }, t('rep.review.title')),
      h('h3', {}, t('rep.review.users')),
      users.length ? table('rep-users', ['rep.col.user', 'rep.col.role', 'rep.col.userStatus', 'rep.col.lastLogin', 'rep.col.mfa', 'rep.col.failed', 'rep.col.sessions'],
        users.map((u) => h('tr', {},
          h('th', { scope: 'row' }, u.username, h('div', { class: 'mono small muted' }, u.id)),
          cell('rep.col.role', 'nowrap', t('role.' + u.role) === 'role.' + u.role ? u.role : t('role.' + u.role)),
          cell('rep.col.userStatus', 'nowrap', u.status, u.locked ? h('span', { class: 'badge badge-danger rep-mark' }, t('rep.locked')) : null),
          cell('rep.col.lastLogin', 'nowrap small', when(u.last_login)),
          cell('rep.col.mfa', 'nowrap', h('span', { class: 'badge ' + (u.second_factor ? 'badge-ok' : 'badge-danger') }, t(u.second_factor ? 'rep.yes' : 'rep.no'))),
          cell('rep.col.failed', 'nowrap', fmtNumber(u.failed_logins, 0)),
          cell('rep.col.sessions', 'nowrap', fmtNumber(u.open_sessions, 0)))))
        : h('p', { class: 'empty' }, t('rep.review.noUsers')),
      h('h3', {}, t('rep.review.apps')),
      h('p', { class: 'small muted' }, t('rep.review.grants', { n: ar.grants || 0, a2: ar.a2_grants || 0 }), ar.last_use_note ? ' ' + ar.last_use_note : ''),
      apps.length ? table('rep-apps', ['rep.col.app', 'rep.col.applicant', 'rep.col.env', 'rep.col.userStatus', 'rep.col.lastUse', 'rep.col.creds', 'rep.col.appGrants'],
        apps.map((a) => h('tr', {},
          h('th', { scope: 'row', class: 'mono small' }, a.app_id),
          h('td', { class: 'small' }, h('span', { class: 'mono' }, a.applicant_id), ' · ', a.applicant_status),
          cell('rep.col.env', 'nowrap', a.env),
          cell('rep.col.userStatus', 'nowrap', a.status),
          cell('rep.col.lastUse', 'nowrap small', when(a.last_use)),
          cell('rep.col.creds', 'nowrap', fmtNumber(a.active_credentials, 0)),
          cell('rep.col.appGrants', 'small', (a.grants || []).length
            ? h('details', {}, h('summary', {}, t('rep.grantsN', { n: a.grants.length, a2: a.grants.filter((g) => g.level === 'A2').length })),
              h('ul', { class: 'plain-list' }, a.grants.map((g) => h('li', {}, apiName(g.api_id) + ' · ' + g.level))))
            : t('rep.none')))))
        : h('p', { class: 'empty' }, t('rep.review.noApps')),
      h('h3', {}, t('rep.review.unused')),
      unused.length ? table('rep-unused', grantHeads, grantRows(unused)) : h('p', { class: 'small muted' }, t('rep.review.unusedNone')),
      h('h3', {}, t('rep.review.expired')),
      expired.length ? list(expired) : h('p', { class: 'small muted' }, t('rep.review.expiredNone')),
      h('h3', {}, t('rep.review.exited')),
      exited.length ? list(exited) : h('p', { class: 'small muted' }, t('rep.review.exitedNone')));
  }

  function figuresCard(f) {
    const periods = (ps) => table('rep-figures', ['rep.col.period', 'rep.col.calls', 'rep.col.ok', 'rep.col.rate', 'rep.col.top', 'rep.col.refusals', 'rep.col.controls'],
      ps.map((p) => h('tr', {},
        h('th', { scope: 'row', class: 'mono nowrap' }, p.period),
        cell('rep.col.calls', 'nowrap', fmtNumber(p.calls, 0)),
        cell('rep.col.ok', 'nowrap', fmtNumber(p.succeeded, 0)),
        cell('rep.col.rate', 'nowrap', fmtNumber(p.success_rate * 100, 1) + '%'),
        cell('rep.col.top', 'small', list([...topOf(p.by_applicant, 2), ...topOf(p.by_app, 2), ...topOf(p.by_api, 3, (id) => apiNames.get(id) || id)])),
        cell('rep.col.refusals', 'small mono', topOf(p.refusals_by_code, 5).join(', ') || t('rep.none')),
        cell('rep.col.controls', 'small mono', [...topOf(p.limit_actions, 3), ...topOf(p.risk_actions, 3)].join(', ') || t('rep.none')))));
    const daily = f.daily || [];
    const monthly = f.monthly || [];
    return h('section', { class: 'card', 'aria-labelledby': 'rep-fig', 'data-testid': 'rep-figures' },
      h('h2', { id: 'rep-fig' }, t('rep.fig.title')),
      h('p', { class: 'small muted' }, f.source || '', f.error ? ' · ' + f.error : ''),
      daily.length || monthly.length
        ? [h('p', { class: 'small' }, t('rep.fig.records', { n: fmtNumber(f.records || 0, 0) })),
          h('h3', {}, t('rep.fig.monthly')), periods(monthly),
          h('h3', {}, t('rep.fig.daily')), periods(daily)]
        : h('p', { class: 'empty' }, t('rep.fig.empty')));
  }

  function vulnCard(v) {
    let out;
    if (!v.ran) out = h('p', { class: 'alert alert-warn' }, t('rep.vuln.notRun'));
    else if (!(v.found || []).length) out = h('p', { class: 'alert alert-ok' }, t('rep.vuln.clean', { n: v.modules_checked }));
    else {
      out = h('div', { class: 'alert alert-error' }, h('p', {}, t('rep.vuln.found', { n: v.modules_checked, count: v.found.length })),
        list(v.found.map((x) => x.id + ' · ' + x.module + ' ' + x.version + (x.fixed ? ' → ' + x.fixed : '') + (x.summary ? ' · ' + x.summary : ''))));
    }
    return h('section', { class: 'card', 'aria-labelledby': 'rep-vuln' }, h('h2', { id: 'rep-vuln' }, t('rep.vuln.title')), out,
      v.error ? h('p', { class: 'small muted' }, v.error) : null);
  }

  function downloadCard() {
    const out = h('div', { 'data-testid': 'download-result', role: 'status', 'aria-live': 'polite' });
    const btns = ['html', 'json'].map((fmt) => h('button', { type: 'button', class: fmt === 'html' ? 'btn btn-primary' : 'btn', 'data-download': fmt,
      onclick: () => download(fmt) }, t('rep.dl.' + fmt)));
    const download = async (fmt) => {
      for (const b of btns) { b.disabled = true; b.title = t('rep.busy'); }
      clear(out);
      const line = h('span', { class: 'small' });
      out.append(h('div', { class: 'audit-progress' }, h('progress', { 'aria-label': t('rep.dl.title') }), line));
      const started = Date.now();
      let size = 0;
      const tick = () => { line.textContent = t('rep.dl.running', { size: fmtBytes(size), seconds: secs(started) }); };
      tick();
      const timer = setInterval(tick, 500);
      timers.push(timer);
      const parts = [];
      let name = 'lijiang-report.' + fmt;
      try {
        const resp = await raw('GET', '/report?format=' + fmt, { headers: { Accept: fmt === 'html' ? 'text/html' : 'application/json' } });
        const m = /filename="([^"]+)"/.exec(resp.headers.get('Content-Disposition') || '');
        if (m) name = m[1];
        const reader = resp.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          size += value.length;
          tick();
        }
      } catch (err) {
        clear(out).append(h('p', { class: 'alert alert-error', role: 'alert' }, err instanceof TypeError ? t('rep.dl.cut')
          : err.code === 'UNAVAILABLE' ? t('rep.unavailable') : describe(err)));
        return;
      } finally {
        clearInterval(timer);
        for (const b of btns) { b.disabled = false; b.removeAttribute('title'); }
      }
      const url = URL.createObjectURL(new Blob(parts, { type: fmt === 'html' ? 'text/html' : 'application/json' }));
      urls.push(url);
      clear(out).append(
        h('p', { class: 'alert alert-ok' }, t('rep.dl.done', { size: fmtBytes(size), seconds: secs(started) })),
        h('a', { class: 'btn btn-primary', href: url, download: name, 'data-testid': 'download-link', 'data-format': fmt }, t('rep.dl.save', { file: name })));
    };
    return h('section', { class: 'card', 'aria-labelledby': 'rep-dl' },
      h('h2', { id: 'rep-dl' }, t('rep.dl.title')),
      h('p', { class: 'small muted' }, t('rep.dl.intro')),
      h('div', { class: 'audit-actions' }, btns), out);
  }

  return () => {
    for (const x of timers) clearInterval(x);
    for (const u of urls) URL.revokeObjectURL(u);
  };
}
