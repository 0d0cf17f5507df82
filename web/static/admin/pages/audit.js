// Audit: this node's audit chain. Auditors search the records (GET
// /audit/records, paged with after_seq), open one, open its sealed body
// giving a reason (POST /audit/records/{seq}/open), export them (GET
// /audit/export, streamed into a file the browser offers); auditors and
// admins verify the chain (POST /audit/verify, which runs while the request
// waits: the page shows an indeterminate bar and the time it has taken).
// Every one of these acts is itself recorded in the chain, and the page says
// so. Admins may verify only: the trail records their own acts.

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime, fmtNumber } from '../../js/i18n.js';
import { raw } from '../../js/api.js';

const DAMAGE = ['modified', 'deleted', 'inserted', 'reordered', 'truncated', 'forged_checkpoint', 'change_log'];

export const strings = {
  'zh-CN': {
    'audit.title': '审计',
    'audit.intro': '这里是节点 {node} 的审计链：每个节点各自保存自己的审计链，其他节点的请在其管理端口查看。您在此的每次检索、导出、校验和打开封存报文，都会连同您的姓名记入审计链。',
    'audit.introNoNode': '这里是本节点的审计链：每个节点各自保存自己的审计链。您在此的每次检索、导出、校验和打开封存报文，都会连同您的姓名记入审计链。',
    'audit.adminOnlyVerify': '根据职责分离原则，审计记录只能由审计人员检索、导出和打开（审计链记录的正是管理员自己的操作）。您可以校验审计链的完整性。',
    // verify
    'audit.verify.title': '校验审计链',
    'audit.verify.intro': '逐条核对记录的哈希链，并用平台签名密钥核对已签名的检查点，判断记录是否被修改、删除、插入、调换顺序或截断。',
    'audit.verify.range': '只校验某个时间段（选填，留空则校验整条链）',
    'audit.verify.from': '开始时间',
    'audit.verify.to': '结束时间',
    'audit.verify.run': '开始校验',
    'audit.verify.running': '正在校验…已用时 {seconds} 秒。校验在服务器上进行，期间请勿关闭页面。',
    'audit.verify.busy': '校验进行中，请等待结果。',
    'audit.verify.intact': '完好（INTACT）',
    'audit.verify.intactBody': '共校验 {records} 条记录（序号 {first} – {last}），未发现任何篡改。用时 {seconds} 秒。',
    'audit.verify.lt1': '不到 1',
    'audit.verify.damaged': '发现问题：审计链不完整',
    'audit.verify.damagedBody': '共校验 {records} 条记录（序号 {first} – {last}），发现 {count} 处问题。请按下方说明处理。',
    'audit.verify.empty': '审计链中还没有记录，无需校验。',
    'audit.verify.records': '校验记录数',
    'audit.verify.checkpoints': '已核对的检查点',
    'audit.verify.lastCheckpoint': '最后一个匹配的检查点（序号）',
    'audit.verify.unanchored': '检查点之后的记录',
    'audit.verify.unanchoredNote': '最后一个检查点之后还有 {n} 条记录：哈希链能发现对它们的修改，但在下一个检查点签名之前，末尾被截掉的记录无法与“尚未写入”区分。',
    'audit.verify.col.kind': '问题类型',
    'audit.verify.col.seq': '首个出问题的序号',
    'audit.verify.col.detail': '详情（服务器原文）',
    'audit.verify.col.next': '下一步',
    'audit.verify.next': '请保留证据：不要重启或修改该节点的数据目录，先复制一份；在每个节点上运行 lijiang audit verify --data-dir 比对结果；并立即报告安全负责人。',
    'audit.verify.conflict': '本节点正在进行另一次校验。请等它结束后再试。',
    'audit.verify.node': '节点',
    'audit.dmg.modified': '记录被修改',
    'audit.dmg.deleted': '记录被删除',
    'audit.dmg.inserted': '被插入了记录',
    'audit.dmg.reordered': '记录顺序被调换',
    'audit.dmg.truncated': '末尾记录被截断',
    'audit.dmg.forged_checkpoint': '检查点签名无效',
    'audit.dmg.change_log': '与变更日志不一致',
    'audit.dmgNext.modified': '该记录的内容与写入时不同。用归档（audit-archive）或备份中的同一序号记录比对，确定被改动的字段。',
    'audit.dmgNext.deleted': '链中间缺少记录。从归档或备份恢复缺失的序号，并查明是谁在何时访问过数据目录。',
    'audit.dmgNext.inserted': '链中出现了不属于它的记录。记下该序号，与归档比对后找出伪造的记录。',
    'audit.dmgNext.reordered': '记录的先后顺序被改动。与归档比对该序号附近的记录。',
    'audit.dmgNext.truncated': '检查点已覆盖的末尾记录不见了。从归档或备份恢复，并检查磁盘与数据目录的访问记录。',
    'audit.dmgNext.forged_checkpoint': '检查点的签名不能用平台签名密钥验证：可能被伪造。在“平台密钥”页面核对签名密钥，并检查复制状态是否被改动。',
    'audit.dmgNext.change_log': '变更记录与集群复制的变更日志不一致。在其他节点的管理端口上校验它们的审计链并比对。',
    // search
    'audit.search.title': '检索记录',
    'audit.search.logged': '每次检索都会记入审计链（audit.query）。',
    'audit.f.from': '开始时间',
    'audit.f.to': '结束时间',
    'audit.f.kind': '记录类型',
    'audit.f.app': '应用 App_ID',
    'audit.f.api': 'API 编号',
    'audit.f.request': '请求编号',
    'audit.f.code': '返回码',
    'audit.f.status': 'HTTP 状态',
    'audit.f.customer': '客户编号',
    'audit.f.customerHint': '按银行内部的客户编号查找；服务器只用它的加密哈希检索和记录，不保存原文。',
    'audit.kind.all': '全部',
    'audit.kind.access': '调用记录',
    'audit.kind.admin': '变更记录',
    'audit.kind.system': '系统事件',
    'audit.search.run': '检索',
    'audit.search.clear': '清除条件',
    'audit.search.empty': '没有符合条件的记录。请放宽条件（例如清除时间范围或返回码）后重新检索。',
    'audit.search.prompt': '设置条件后点击“检索”。不设条件则从最早的记录开始列出。',
    'audit.col.seq': '序号',
    'audit.col.time': '时间',
    'audit.col.kind': '类型',
    'audit.col.what': '内容',
    'audit.col.request': '请求编号',
    'audit.col.open': '详情',
    'audit.open': '查看',
    'audit.openSeq': '查看记录 {seq}',
    'audit.page': '第 {n} 页，每页 {limit} 条',
    'audit.prev': '上一页',
    'audit.next': '下一页',
    'audit.by': '操作人 {who}',
    'audit.sealedMark': '含封存报文',
    // detail
    'audit.detail.title': '记录 {seq} 的详情',
    'audit.detail.close': '关闭详情',
    'audit.detail.body': '报文',
    'audit.detail.masked': '报文（已按 API 的脱敏规则脱敏）',
    'audit.detail.sealed': '该记录的报文已用审计密钥封存。只有在确有必要（例如投诉或调查）时才应打开。',
    'audit.detail.openSealed': '说明原因并打开封存报文',
    'audit.detail.opened': '封存报文（打开操作已记入审计链）',
    'audit.detail.openedNote': '这次打开已记入审计链（audit.body_opened），包括您的姓名、记录序号和原因。关闭详情后报文会从页面清除。',
    'audit.open.title': '打开记录 {seq} 的封存报文',
    'audit.open.body': '打开之前，系统会先把您的姓名、该记录和您填写的原因记入审计链（这本身就是一条审计事件），然后才显示报文。',
    'audit.open.reason': '打开原因（必填，10–500 个字）',
    'audit.open.reasonHint': '例如：投诉 2027-0104-17 的核查。',
    'audit.open.reasonShort': '请至少写 10 个字，说明为什么需要打开。',
    'audit.open.ok': '记录原因并打开',
    'audit.open.notSealed': '该记录没有保存封存报文（其 API 的保存策略为不保存或仅脱敏）。',
    'audit.detail.base64': '报文不是 UTF-8 文本，以下为 Base64 编码。',
    // export
    'audit.export.title': '导出',
    'audit.export.intro': '按当前检索条件导出全部匹配的记录（不分页）。JSONL 为规范格式（含脱敏或封存的报文），CSV 便于表格软件查看（不含报文）。每次导出都会记入审计链。',
    'audit.export.jsonl': '导出 JSONL',
    'audit.export.csv': '导出 CSV',
    'audit.export.running': '正在导出…已接收 {size}，{n} 条记录。',
    'audit.export.done': '导出完成：{n} 条记录，{size}。',
    'audit.export.download': '下载 {file}',
    'audit.export.empty': '导出完成，但没有符合条件的记录（文件为空）。',
    'audit.export.cut': '导出中断：文件不完整，请勿使用。请稍后重试；如仍失败，请联系运维人员。',
    'audit.export.busy': '导出进行中，请等待。',
    'audit.none': '—',
    'audit.field.seq': '序号',
    'audit.field.kind': '类型',
    'audit.field.node': '节点',
    'audit.field.time': '时间',
    'audit.field.request_id': '请求编号',
    'audit.field.app': '应用 App_ID',
    'audit.field.serial': '签名凭证',
    'audit.field.env': '环境',
    'audit.field.api': 'API',
    'audit.field.level': '等级',
    'audit.field.method': '方法',
    'audit.field.scheme': '签名方案',
    'audit.field.client': '客户端地址',
    'audit.field.proto': '协议',
    'audit.field.status': 'HTTP 状态',
    'audit.field.code': '返回码',
    'audit.field.latency_us': '耗时（微秒）',
    'audit.field.customer': '客户（加密哈希）',
    'audit.field.rules': '生效的规则',
    'audit.field.admission': '准入',
    'audit.field.body_kind': '报文保存方式',
    'audit.bodyKind.masked': '脱敏后保存（masked）',
    'audit.bodyKind.sealed': '加密封存（sealed）',
    'audit.field.change_index': '变更日志序号',
    'audit.field.command_id': '命令编号',
    'audit.field.action': '操作',
    'audit.field.actor': '操作人',
    'audit.field.target': '对象',
    'audit.field.result': '结果',
    'audit.field.digest': '变更摘要（SM3）',
    'audit.field.summary': '变更概要',
    'audit.field.event': '事件',
    'audit.field.detail': '事件详情',
  },
  en: {
    'audit.title': 'Audit',
    'audit.intro': 'This is node {node}\'s audit chain: each node keeps its own; see another node\'s on its admin port. Each search, export, verify and opening of a sealed body you make here is itself recorded in the chain with your name.',
    'audit.introNoNode': 'This is this node\'s audit chain: each node keeps its own. Each search, export, verify and opening of a sealed body you make here is itself recorded in the chain with your name.',
    'audit.adminOnlyVerify': 'By separation of duties only auditors search, export and open audit records (the trail records administrators\' own acts). You can verify the chain\'s integrity.',
    'audit.verify.title': 'Verify the audit chain',
    'audit.verify.intro': 'Checks every record\'s hash chain and the signed checkpoints against the platform signing key, to tell whether records were modified, deleted, inserted, reordered or cut off.',
    'audit.verify.range': 'Verify a time range only (optional; empty verifies the whole chain)',
    'audit.verify.from': 'From',
    'audit.verify.to': 'To',
    'audit.verify.run': 'Verify now',
    'audit.verify.running': 'Verifying… {seconds} s so far. The server does the work; keep this page open.',
    'audit.verify.busy': 'A verify is running; wait for its verdict.',
    'audit.verify.intact': 'INTACT',
    'audit.verify.intactBody': '{records} records verified (sequence {first} – {last}); nothing was tampered with. Took {seconds} s.',
    'audit.verify.lt1': 'under 1',
    'audit.verify.damaged': 'Problems found: the chain is not intact',
    'audit.verify.damagedBody': '{records} records verified (sequence {first} – {last}); {count} problem(s) found. Act on them as below.',
    'audit.verify.empty': 'The chain has no records yet: nothing to verify.',
    'audit.verify.records': 'Records verified',
    'audit.verify.checkpoints': 'Checkpoints checked',
    'audit.verify.lastCheckpoint': 'Last matching checkpoint (sequence)',
    'audit.verify.unanchored': 'Records after it',
    'audit.verify.unanchoredNote': '{n} record(s) come after the last checkpoint: the chain shows any edit of them, but until the next checkpoint is signed a cut-off tail cannot be told from records not yet written.',
    'audit.verify.col.kind': 'Problem',
    'audit.verify.col.seq': 'First bad sequence',
    'audit.verify.col.detail': 'Detail (as the server says)',
    'audit.verify.col.next': 'What to do',
    'audit.verify.next': 'Keep the evidence: do not restart or change this node\'s data directory, copy it first; run lijiang audit verify --data-dir on every node and compare; report to the security officer at once.',
    'audit.verify.conflict': 'Another verify is running on this node. Wait for it to finish, then try again.',
    'audit.verify.node': 'Node',
    'audit.dmg.modified': 'Record modified',
    'audit.dmg.deleted': 'Records deleted',
    'audit.dmg.inserted': 'Record inserted',
    'audit.dmg.reordered': 'Records reordered',
    'audit.dmg.truncated': 'Tail truncated',
    'audit.dmg.forged_checkpoint': 'Forged checkpoint',
    'audit.dmg.change_log': 'Change log disagrees',
    'audit.dmgNext.modified': 'The record differs from what was chained. Compare it with the same sequence in the archive (audit-archive) or a backup to see which fields changed.',
    'audit.dmgNext.deleted': 'Records are missing inside the chain. Restore the missing sequences from the archive or a backup, and find out who reached the data directory when.',
    'audit.dmgNext.inserted': 'A record that does not belong was added. Note the sequence and compare with the archive to find the forged one.',
    'audit.dmgNext.reordered': 'Records were put out of order. Compare the records around this sequence with the archive.',
    'audit.dmgNext.truncated': 'Records a checkpoint covers are gone from the end. Restore them from the archive or a backup, and check the disk and who reached the data directory.',
    'audit.dmgNext.forged_checkpoint': 'A checkpoint\'s signature does not verify with the platform signing key: it may be forged. Check the signing keys on the Platform keys page and whether the replicated state was changed.',
    'audit.dmgNext.change_log': 'An admin record disagrees with the cluster\'s replicated change log. Verify the chains of the other nodes on their admin ports and compare.',
    'audit.search.title': 'Search records',
    'audit.search.logged': 'Each search is recorded in the chain (audit.query).',
    'audit.f.from': 'From',
    'audit.f.to': 'To',
    'audit.f.kind': 'Kind',
    'audit.f.app': 'App_ID',
    'audit.f.api': 'API id',
    'audit.f.request': 'Request id',
    'audit.f.code': 'Code',
    'audit.f.status': 'HTTP status',
    'audit.f.customer': 'Customer id',
    'audit.f.customerHint': 'The bank\'s customer id: the server searches and records only its keyed hash, never the id.',
    'audit.kind.all': 'All',
    'audit.kind.access': 'Calls',
    'audit.kind.admin': 'Changes',
    'audit.kind.system': 'System events',
    'audit.search.run': 'Search',
    'audit.search.clear': 'Clear',
    'audit.search.empty': 'No records match. Widen the search (e.g. clear the time range or the code) and search again.',
    'audit.search.prompt': 'Set the filters and choose Search. Without filters the list starts at the oldest record.',
    'audit.col.seq': 'Seq',
    'audit.col.time': 'Time',
    'audit.col.kind': 'Kind',
    'audit.col.what': 'What',
    'audit.col.request': 'Request id',
    'audit.col.open': 'Detail',
    'audit.open': 'Open',
    'audit.openSeq': 'Open record {seq}',
    'audit.page': 'Page {n}, {limit} a page',
    'audit.prev': 'Previous',
    'audit.next': 'Next',
    'audit.by': 'by {who}',
    'audit.sealedMark': 'sealed body',
    'audit.detail.title': 'Record {seq}',
    'audit.detail.close': 'Close',
    'audit.detail.body': 'Body',
    'audit.detail.masked': 'Body (masked by the API\'s masking rules)',
    'audit.detail.sealed': 'This record\'s body is sealed with the audit key. Open it only when there is a need (a complaint, an investigation).',
    'audit.detail.openSealed': 'Give a reason and open the sealed body',
    'audit.detail.opened': 'Sealed body (the opening is in the audit chain)',
    'audit.detail.openedNote': 'This opening is recorded in the audit chain (audit.body_opened) with your name, the record and your reason. Closing the record clears the body from the page.',
    'audit.open.title': 'Open record {seq}\'s sealed body',
    'audit.open.body': 'Before the body is shown, your name, this record and your reason are recorded in the audit chain: the opening is itself an audit event.',
    'audit.open.reason': 'Reason (required, 10 to 500 characters)',
    'audit.open.reasonHint': 'E.g. checking complaint 2027-0104-17.',
    'audit.open.reasonShort': 'Write at least 10 characters saying why it must be opened.',
    'audit.open.ok': 'Record the reason and open',
    'audit.open.notSealed': 'This record keeps no sealed body (its API keeps none or masked bodies only).',
    'audit.detail.base64': 'The body is not UTF-8 text; it is shown in base64.',
    'audit.export.title': 'Export',
    'audit.export.intro': 'Exports every record matching the current filters (not just this page). JSONL is the canonical form (with masked or sealed bodies); CSV opens in a spreadsheet (no bodies). Each export is recorded in the chain.',
    'audit.export.jsonl': 'Export JSONL',
    'audit.export.csv': 'Export CSV',
    'audit.export.running': 'Exporting… {size} received, {n} records.',
    'audit.export.done': 'Export finished: {n} records, {size}.',
    'audit.export.download': 'Download {file}',
    'audit.export.empty': 'Export finished, but no records match (the file is empty).',
    'audit.export.cut': 'The export was cut short: the file is incomplete, do not use it. Try again later; if it persists, contact the operators.',
    'audit.export.busy': 'An export is running; wait for it.',
    'audit.none': '—',
    'audit.field.seq': 'Sequence',
    'audit.field.kind': 'Kind',
    'audit.field.node': 'Node',
    'audit.field.time': 'Time',
    'audit.field.request_id': 'Request id',
    'audit.field.app': 'App_ID',
    'audit.field.serial': 'Signing credential',
    'audit.field.env': 'Environment',
    'audit.field.api': 'API',
    'audit.field.level': 'Level',
    'audit.field.method': 'Method',
    'audit.field.scheme': 'Signature scheme',
    'audit.field.client': 'Client address',
    'audit.field.proto': 'Protocol',
    'audit.field.status': 'HTTP status',
    'audit.field.code': 'Code',
    'audit.field.latency_us': 'Latency (µs)',
    'audit.field.customer': 'Customer (keyed hash)',
    'audit.field.rules': 'Rules that decided',
    'audit.field.admission': 'Admission',
    'audit.field.body_kind': 'Body kept',
    'audit.bodyKind.masked': 'masked',
    'audit.bodyKind.sealed': 'sealed with the audit key',
    'audit.field.change_index': 'Change log index',
    'audit.field.command_id': 'Command id',
    'audit.field.action': 'Action',
    'audit.field.actor': 'Actor',
    'audit.field.target': 'Target',
    'audit.field.result': 'Result',
    'audit.field.digest': 'Change digest (SM3)',
    'audit.field.summary': 'Summary',
    'audit.field.event': 'Event',
    'audit.field.detail': 'Event detail',
  },
};

const FIELDS = ['seq', 'kind', 'node', 'time', 'request_id', 'app', 'serial', 'env', 'api', 'level', 'method', 'scheme', 'client', 'proto',
  'status', 'code', 'latency_us', 'customer', 'rules', 'admission', 'body_kind', 'change_index', 'command_id', 'action', 'actor', 'target',
  'result', 'digest', 'summary', 'event'];

const PAGE = 20;

function fmtBytes(n) {
  if (n < 1024) return fmtNumber(n, 0) + ' B';
  if (n < 1024 * 1024) return fmtNumber(n / 1024, 1) + ' KB';
  return fmtNumber(n / 1024 / 1024, 1) + ' MB';
}

// isoOf turns a datetime-local value (the reader's local time) into RFC 3339.
function isoOf(v) {
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d.getTime()) ? '' : d.toISOString();
}

function actorText(a) {
  if (!a) return '';
  return [a.kind, a.id].filter(Boolean).join(':') + (a.role ? ' (' + a.role + ')' : '') + (a.addr ? ' @ ' + a.addr : '');
}

// apiNames maps API ids to their names (from GET /apis), when readable.
const apiNames = new Map();
const apiName = (id) => (id && apiNames.has(id) ? apiNames.get(id) + ' (' + id + ')' : id);

// whatOf is a record's one-line summary for the result table.
function whatOf(r) {
  if (r.kind === 'access') {
    return [r.method, apiNames.get(r.api) || r.api, '→', r.status, r.code, r.app ? '· ' + r.app : ''].filter((x) => x !== undefined && x !== '').join(' ');
  }
  if (r.kind === 'admin') {
    return [r.action, r.target, r.result && r.result !== 'ok' ? '(' + r.result + ')' : '', r.actor ? '· ' + t('audit.by', { who: actorText(r.actor) }) : '']
      .filter(Boolean).join(' ');
  }
  const d = r.detail ? Object.entries(r.detail).slice(0, 3).map(([k, v]) => k + '=' + v).join(', ') : '';
  return [r.event, d ? '· ' + d : ''].filter(Boolean).join(' ');
}

export function render({ root, me, api, describe, can }) {
  const auditor = me.role === 'auditor';
  const timers = [];
  const urls = [];

  root.append(h('h1', {}, t('audit.title')));
  const intro = h('p', { class: 'muted', 'data-testid': 'audit-intro' }, t('audit.introNoNode'));
  root.append(intro);
  const setNode = (node) => { if (node) intro.textContent = t('audit.intro', { node }); };
  if (!auditor) root.append(h('p', { class: 'alert alert-info' }, t('audit.adminOnlyVerify')));

  root.append(verifyCard());
  if (auditor) {
    root.append(...searchCards());
    api.get('/apis?limit=500', { background: true }).then((res) => {
      for (const a of res.items || []) apiNames.set(a.id, a.name || a.path);
    }).catch(() => { /* ids only */ });
  }

  // ---- verify ---------------------------------------------------------------
  function verifyCard() {
    const from = h('input', { type: 'datetime-local', id: 'verify-from', name: 'from' });
    const to = h('input', { type: 'datetime-local', id: 'verify-to', name: 'to' });
    const btn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'verify' }, t('audit.verify.run'));
    const progress = h('div', { class: 'audit-progress', hidden: true, role: 'status', 'aria-live': 'polite' },
      h('progress', { 'aria-label': t('audit.verify.title') }), h('span', { class: 'small' }));
    const out = h('div', { 'data-testid': 'verify-result' });
    const form = h('form', { class: 'audit-verify-form', onsubmit: async (e) => {
      e.preventDefault();
      if (btn.disabled) return;
      btn.disabled = true;
      btn.title = t('audit.verify.busy');
      clear(out);
      progress.hidden = false;
      const started = Date.now();
      const tick = () => { progress.lastChild.textContent = t('audit.verify.running', { seconds: Math.floor((Date.now() - started) / 1000) }); };
      tick();
      const timer = setInterval(tick, 1000);
      timers.push(timer);
      const body = {};
      if (isoOf(from.value)) body.from = isoOf(from.value);
      if (isoOf(to.value)) body.to = isoOf(to.value);
      try {
        const rep = await api.post('/audit/verify', body);
        setNode(rep.node);
        out.append(verdict(rep, (Date.now() - started) / 1000));
      } catch (err) {
        out.append(h('p', { class: 'alert alert-error', role: 'alert' }, err.code === 'CONFLICT' ? t('audit.verify.conflict') : describe(err)));
      } finally {
        clearInterval(timer);
        progress.hidden = true;
        btn.disabled = false;
        btn.removeAttribute('title');
      }
    } },
    h('details', { class: 'audit-range' }, h('summary', {}, t('audit.verify.range')),
      h('div', { class: 'audit-grid' },
        h('div', { class: 'field' }, h('label', { for: 'verify-from' }, t('audit.verify.from')), from),
        h('div', { class: 'field' }, h('label', { for: 'verify-to' }, t('audit.verify.to')), to))),
    h('div', { class: 'audit-actions' }, btn, progress));
    return h('section', { class: 'card', 'aria-labelledby': 'audit-verify' },
      h('h2', { id: 'audit-verify' }, t('audit.verify.title')),
      h('p', { class: 'muted small' }, t('audit.verify.intro')),
      form, out);
  }

  function verdict(rep, seconds) {
    const secs = seconds < 1 ? t('audit.verify.lt1') : fmtNumber(seconds, 1);
    const facts = h('div', { class: 'stats' },
      stat(t('audit.verify.node'), rep.node),
      stat(t('audit.verify.records'), fmtNumber(rep.records, 0)),
      stat(t('audit.verify.checkpoints'), fmtNumber(rep.checkpoints, 0)),
      stat(t('audit.verify.lastCheckpoint'), rep.last_checkpoint ? String(rep.last_checkpoint) : t('audit.none')),
      stat(t('audit.verify.unanchored'), fmtNumber(rep.unanchored, 0)));
    const unanchored = rep.unanchored > 0 ? h('p', { class: 'small muted' }, t('audit.verify.unanchoredNote', { n: rep.unanchored })) : null;
    if (rep.intact) {
      return h('div', { class: 'audit-verdict audit-verdict-ok', 'data-verdict': 'intact' },
        h('p', { class: 'audit-verdict-title' }, h('span', { 'aria-hidden': 'true' }, '✓ '), t('audit.verify.intact')),
        h('p', {}, rep.records === 0 ? t('audit.verify.empty')
          : t('audit.verify.intactBody', { records: fmtNumber(rep.records, 0), first: rep.first, last: rep.last, seconds: secs })),
        facts, unanchored);
    }
    const damage = rep.damage || [];
    return h('div', { class: 'audit-verdict audit-verdict-bad', 'data-verdict': 'damaged', role: 'alert' },
      h('p', { class: 'audit-verdict-title' }, h('span', { 'aria-hidden': 'true' }, '✗ '), t('audit.verify.damaged')),
      h('p', {}, t('audit.verify.damagedBody', { records: fmtNumber(rep.records, 0), first: rep.first, last: rep.last, count: damage.length })),
      h('p', { class: 'alert alert-warn' }, t('audit.verify.next')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
        h('thead', {}, h('tr', {}, ['kind', 'seq', 'detail', 'next'].map((c) => h('th', { scope: 'col' }, t('audit.verify.col.' + c))))),
        h('tbody', {}, damage.map((d) => h('tr', { 'data-damage': d.kind },
          h('th', { scope: 'row', class: 'nowrap' }, h('span', { class: 'badge badge-paused' }, DAMAGE.includes(d.kind) ? t('audit.dmg.' + d.kind) : d.kind),
            h('div', { class: 'small muted mono' }, d.kind)),
          h('td', { class: 'mono nowrap' }, String(d.seq)),
          h('td', { class: 'wide small' }, d.detail),
          h('td', { class: 'wide small' }, DAMAGE.includes(d.kind) ? t('audit.dmgNext.' + d.kind) : t('audit.verify.next'))))))),
      facts, unanchored);
  }

  function stat(name, value) {
    return h('div', { class: 'stat' }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-name' }, name));
  }

  // ---- search, detail, export -------------------------------------------------
  function searchCards() {
    const input = (id, name, type = 'text', extra = {}) => h('input', { id, name, type, autocomplete: 'off', ...extra });
    const f = {
      from: input('af-from', 'from', 'datetime-local'),
      to: input('af-to', 'to', 'datetime-local'),
      kind: h('select', { id: 'af-kind', name: 'kind' }, ['', 'access', 'admin', 'system'].map((k) => h('option', { value: k }, t('audit.kind.' + (k || 'all'))))),
      app_id: input('af-app', 'app_id'),
      api_id: input('af-api', 'api_id'),
      request_id: input('af-request', 'request_id'),
      code: input('af-code', 'code'),
      status: input('af-status', 'status', 'number', { min: 100, max: 599, inputmode: 'numeric' }),
      customer: input('af-customer', 'customer', 'text', { 'aria-describedby': 'af-customer-hint' }),
    };
    const field = (el, key, hint) => h('div', { class: 'field' }, h('label', { for: el.id }, t(key)), el,
      hint ? h('p', { class: 'hint', id: el.id + '-hint' }, t(hint)) : null);
    const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const results = h('div', { 'data-testid': 'audit-results' }, h('p', { class: 'empty' }, t('audit.search.prompt')));
    const detail = h('div', { 'data-testid': 'audit-detail' });
    let pages = [0]; // after_seq of each page seen
    let applied = new URLSearchParams();

    const filters = () => {
      const q = new URLSearchParams();
      if (isoOf(f.from.value)) q.set('from', isoOf(f.from.value));
      if (isoOf(f.to.value)) q.set('to', isoOf(f.to.value));
      for (const k of ['kind', 'app_id', 'api_id', 'request_id', 'code', 'status', 'customer']) {
        const v = f[k].value.trim();
        if (v) q.set(k, v);
      }
      return q;
    };

    const load = async () => {
      const q = new URLSearchParams(applied);
      q.set('limit', String(PAGE));
      const after = pages[pages.length - 1];
      if (after) q.set('after_seq', String(after));
      errorBox.hidden = true;
      let res;
      try {
        res = await api.get('/audit/records?' + q.toString());
      } catch (err) {
        errorBox.textContent = describe(err);
        errorBox.hidden = false;
        return;
      }
      setNode(res.node);
      clear(results);
      if (res.items.length === 0) {
        results.append(h('p', { class: 'empty' }, t('audit.search.empty')));
        return;
      }
      results.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack audit-table' },
        h('thead', {}, h('tr', {}, ['seq', 'time', 'kind', 'what', 'request', 'open'].map((c) => h('th', { scope: 'col' }, t('audit.col.' + c))))),
        h('tbody', {}, res.items.map(row)))));
      const prev = h('button', { type: 'button', class: 'btn', disabled: pages.length <= 1, onclick: () => { pages.pop(); load(); } }, t('audit.prev'));
      const next = h('button', { type: 'button', class: 'btn', disabled: !res.next_after_seq, onclick: () => { pages.push(res.next_after_seq); load(); } }, t('audit.next'));
      results.append(h('nav', { class: 'audit-pager', 'aria-label': t('audit.page', { n: pages.length, limit: PAGE }) },
        prev, h('span', { class: 'small muted' }, t('audit.page', { n: pages.length, limit: PAGE })), next));
    };

    const row = (r) => h('tr', { 'data-seq': r.seq },
      h('td', { class: 'mono nowrap' }, String(r.seq)),
      h('td', { class: 'nowrap small' }, fmtTime(r.time, { dateStyle: 'short', timeStyle: 'medium' })),
      h('td', { class: 'nowrap' }, h('span', { class: 'badge', 'data-kind': r.kind }, t('audit.kind.' + r.kind))),
      h('td', { class: 'wide small audit-what' }, whatOf(r), r.body_kind === 'sealed' ? h('span', { class: 'badge audit-sealed' }, t('audit.sealedMark')) : null),
      h('td', { class: 'mono small audit-reqid' }, r.request_id || ''),
      h('td', { class: 'nowrap' }, h('button', { type: 'button', class: 'btn', 'aria-label': t('audit.openSeq', { seq: r.seq }), 'data-action': 'detail',
        onclick: () => showDetail(r) }, t('audit.open'))));

    const showDetail = (r) => {
      clear(detail);
      const dl = h('dl', { class: 'kv' });
      for (const k of FIELDS) {
        let v = r[k];
        if (k === 'time') v = fmtTime(r.time, { dateStyle: 'medium', timeStyle: 'medium' }) + ' (' + r.time + ')';
        if (k === 'actor') v = actorText(r.actor);
        if (k === 'api') v = apiName(r.api);
        if (k === 'kind') v = t('audit.kind.' + r.kind) + ' (' + r.kind + ')';
        if (k === 'body_kind' && v) v = t('audit.bodyKind.' + v);
        if (Array.isArray(v)) v = v.join(', ');
        if (v === undefined || v === null || v === '' || v === 0) continue;
        dl.append(h('dt', {}, t('audit.field.' + k)), h('dd', { class: ['request_id', 'digest', 'customer', 'command_id', 'serial'].includes(k) ? 'mono' : '' }, String(v)));
      }
      if (r.detail) {
        dl.append(h('dt', {}, t('audit.field.detail')),
          h('dd', {}, h('ul', { class: 'audit-detail-list' }, Object.entries(r.detail).map(([k, v]) => h('li', {}, h('span', { class: 'mono' }, k), ' = ', v)))));
      }
      const bodyArea = h('div', {});
      if (r.body_kind === 'masked' && r.body) {
        let text = r.body;
        try { text = JSON.stringify(JSON.parse(r.body), null, 2); } catch { /* as kept */ }
        bodyArea.append(h('h3', {}, t('audit.detail.masked')), h('pre', { class: 'audit-body' }, text));
      } else if (r.body_kind === 'sealed') {
        bodyArea.append(h('h3', {}, t('audit.detail.body')), h('p', { class: 'alert alert-info' }, t('audit.detail.sealed')),
          h('button', { type: 'button', class: 'btn btn-danger', 'data-action': 'open-sealed', onclick: () => openSealed(r, bodyArea) }, t('audit.detail.openSealed')));
      }
      const close = h('button', { type: 'button', class: 'btn', onclick: () => { clear(detail); } }, t('audit.detail.close'));
      const card = h('section', { class: 'card audit-detail', 'aria-labelledby': 'audit-detail-title', tabindex: '-1', 'data-seq': r.seq },
        h('div', { class: 'audit-head' }, h('h2', { id: 'audit-detail-title' }, t('audit.detail.title', { seq: r.seq })), close),
        dl, bodyArea);
      detail.append(card);
      card.scrollIntoView({ block: 'start' });
      card.focus();
    };

    const openSealed = async (r, area) => {
      const reason = await reasonDialog(r.seq);
      if (!reason) return;
      let res;
      try {
        res = await api.post('/audit/records/' + r.seq + '/open', { reason });
      } catch (err) {
        toast(err.code === 'NOT_SEALED' ? t('audit.open.notSealed') : describe(err), 'error');
        return;
      }
      clear(area);
      let text = res.body;
      try { text = JSON.stringify(JSON.parse(res.body), null, 2); } catch { /* as sealed */ }
      area.append(h('h3', {}, t('audit.detail.opened')),
        h('p', { class: 'alert alert-warn', 'data-testid': 'opened-note' }, t('audit.detail.openedNote')),
        ...(res.body_encoding === 'base64' ? [h('p', { class: 'small muted' }, t('audit.detail.base64'))] : []),
        h('pre', { class: 'audit-body', 'data-testid': 'opened-body' }, text));
    };

    // ---- export ----
    const exportOut = h('div', { 'data-testid': 'export-result', role: 'status', 'aria-live': 'polite' });
    const exportBtns = ['jsonl', 'csv'].map((fmt) => h('button', { type: 'button', class: 'btn', 'data-export': fmt, onclick: () => doExport(fmt) }, t('audit.export.' + fmt)));
    const doExport = async (fmt) => {
      for (const b of exportBtns) { b.disabled = true; b.title = t('audit.export.busy'); }
      clear(exportOut);
      const line = h('span', { class: 'small' });
      exportOut.append(h('div', { class: 'audit-progress' }, h('progress', { 'aria-label': t('audit.export.title') }), line));
      const q = filters();
      q.set('format', fmt);
      let size = 0;
      let lines = 0;
      const parts = [];
      let name = 'audit.' + fmt;
      try {
        const resp = await raw('GET', '/audit/export?' + q.toString());
        const cd = resp.headers.get('Content-Disposition') || '';
        const m = /filename="([^"]+)"/.exec(cd);
        if (m) name = m[1];
        const reader = resp.body.getReader();
        line.textContent = t('audit.export.running', { size: fmtBytes(0), n: 0 });
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          size += value.length;
          for (const b of value) if (b === 10) lines++;
          line.textContent = t('audit.export.running', { size: fmtBytes(size), n: fmtNumber(fmt === 'csv' ? Math.max(lines - 1, 0) : lines, 0) });
        }
      } catch (err) {
        clear(exportOut).append(h('p', { class: 'alert alert-error', role: 'alert' }, err instanceof TypeError ? t('audit.export.cut') : describe(err)));
        for (const b of exportBtns) { b.disabled = false; b.removeAttribute('title'); }
        return;
      }
      const n = fmt === 'csv' ? Math.max(lines - 1, 0) : lines;
      const blob = new Blob(parts, { type: fmt === 'csv' ? 'text/csv' : 'application/jsonl' });
      const url = URL.createObjectURL(blob);
      urls.push(url);
      clear(exportOut).append(
        h('p', { class: n ? 'alert alert-ok' : 'alert alert-info' }, n ? t('audit.export.done', { n: fmtNumber(n, 0), size: fmtBytes(size) }) : t('audit.export.empty')),
        h('a', { class: 'btn btn-primary', href: url, download: name, 'data-testid': 'export-download' }, t('audit.export.download', { file: name })));
      for (const b of exportBtns) { b.disabled = false; b.removeAttribute('title'); }
    };

    const form = h('form', { class: 'audit-filters', 'aria-label': t('audit.search.title'), onsubmit: (e) => {
      e.preventDefault();
      applied = filters();
      pages = [0];
      clear(detail);
      load();
    } },
    h('div', { class: 'audit-grid' },
      field(f.from, 'audit.f.from'), field(f.to, 'audit.f.to'), field(f.kind, 'audit.f.kind'),
      field(f.app_id, 'audit.f.app'), field(f.api_id, 'audit.f.api'), field(f.request_id, 'audit.f.request'),
      field(f.code, 'audit.f.code'), field(f.status, 'audit.f.status'), field(f.customer, 'audit.f.customer', 'audit.f.customerHint')),
    h('div', { class: 'audit-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'search' }, t('audit.search.run')),
      h('button', { type: 'reset', class: 'btn', onclick: () => { applied = new URLSearchParams(); } }, t('audit.search.clear')),
      h('span', { class: 'small muted' }, t('audit.search.logged'))));

    return [
      h('section', { class: 'card', 'aria-labelledby': 'audit-search' },
        h('h2', { id: 'audit-search' }, t('audit.search.title')), form, errorBox, results),
      detail,
      h('section', { class: 'card', 'aria-labelledby': 'audit-export' },
        h('h2', { id: 'audit-export' }, t('audit.export.title')),
        h('p', { class: 'muted small' }, t('audit.export.intro')),
        h('div', { class: 'audit-actions' }, exportBtns), exportOut),
    ];
  }

  // reasonDialog asks why a sealed body is opened (10 to 500 characters);
  // it resolves to the reason, or null when cancelled.
  function reasonDialog(seq) {
    return new Promise((resolve) => {
      const reason = h('textarea', { id: 'open-reason', name: 'reason', rows: 3, minlength: 10, maxlength: 500, required: true, 'aria-describedby': 'open-reason-hint' });
      const msg = h('p', { class: 'alert alert-error', role: 'alert', hidden: true }, t('audit.open.reasonShort'));
      const ok = h('button', { type: 'submit', class: 'btn btn-danger' }, t('audit.open.ok'));
      const cancel = h('button', { type: 'button', class: 'btn' }, t('btn.cancel'));
      let result = null;
      const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'open-title', 'aria-describedby': 'open-body' },
        h('form', { method: 'dialog', novalidate: true, onsubmit: (e) => {
          const v = reason.value.trim();
          if ([...v].length < 10) { e.preventDefault(); msg.hidden = false; reason.focus(); return; }
          result = v;
        } },
        h('h2', { id: 'open-title' }, t('audit.open.title', { seq })),
        h('p', { id: 'open-body' }, t('audit.open.body')),
        h('label', { for: 'open-reason' }, t('audit.open.reason')), reason,
        h('p', { class: 'hint', id: 'open-reason-hint' }, t('audit.open.reasonHint')),
        msg,
        h('div', { class: 'dialog-actions' }, cancel, ok)));
      cancel.addEventListener('click', () => dlg.close());
      dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
      document.body.append(dlg);
      dlg.showModal();
      reason.focus();
    });
  }

  return () => {
    for (const x of timers) clearInterval(x);
    for (const u of urls) URL.revokeObjectURL(u);
  };
}
