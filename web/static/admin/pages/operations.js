// Operations, in tabs: pause and resume APIs and apps in one click each
// (after a confirmation to pause); the global IP deny-list and the apps'
// own allow-lists; limits of the four scopes (a relaxation of the global
// ones is a proposal another reviewer approves); risk rules (a tightening
// applies at once, a relaxation is proposed); this node's circuit breakers
// (from the metrics); and alerts to acknowledge with a note. Roles that
// may not act see the state and why the buttons are not theirs. The tab is
// in the address (#/operations?tab=alerts).

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';
import { confirmDialog } from '../../js/dialog.js';
import { versioned, ApiError, ADMIN_API } from '../../js/api.js';

export const strings = {
  'zh-CN': {
    'ops.title': '运行控制',
    'ops.intro': '暂停某个 API 后，所有节点在 1 秒内对它的全部调用返回 API_PAUSED；恢复后立即重新放行。每次操作都会记入变更记录。',
    'ops.apis': 'API 暂停与恢复',
    'ops.col.api': 'API',
    'ops.col.path': '方法与路径',
    'ops.col.level': '等级',
    'ops.col.status': '目录状态',
    'ops.col.state': '运行状态',
    'ops.col.action': '操作',
    'ops.running': '运行中',
    'ops.paused': '已暂停',
    'ops.pausedBy': '{by} 于 {at} 暂停',
    'ops.pausedUntil': '，将于 {at} 自动恢复',
    'ops.reason': '原因：{reason}',
    'ops.pause': '暂停',
    'ops.resume': '恢复',
    'ops.pauseName': '暂停 {name}',
    'ops.resumeName': '恢复 {name}',
    'ops.confirmTitle': '确认暂停 {name}？',
    'ops.confirmBody': '暂停后，所有应用对 {method} {path} 的调用都会被拒绝（API_PAUSED），直到有人恢复它。',
    'ops.confirmReason': '原因（选填，记入变更记录，不会展示给调用方）',
    'ops.confirmOk': '确认暂停',
    'ops.didPause': '已暂停 {name}。调用将返回 API_PAUSED。',
    'ops.didResume': '已恢复 {name}，调用已重新放行。',
    'ops.notYours': '仅运维人员或系统管理员可以暂停或恢复 API；您可以查看状态。',
    'ops.empty': '目录中还没有 API。运维人员可通过管理 API（POST /admin/api/v1/apis）创建并发布 API。',
    'ops.status.draft': '草稿',
    'ops.status.published': '已发布',
    'ops.status.deprecated': '已弃用',
    'ops.status.retired': '已下线',
    'ops.system': '系统（限流策略）',
    'ops.you': '您',
    'ops.user': '管理用户 {id}',
      'ops.tabs': '运行控制分类',
    'ops.tab.apis': 'API 暂停',
    'ops.tab.apps': '应用暂停',
    'ops.tab.ip': 'IP 名单',
    'ops.tab.limits': '限流',
    'ops.tab.risk': '风控规则',
    'ops.tab.breakers': '熔断器',
    'ops.tab.alerts': '告警',
    'ops.col.app': '应用',
    'ops.col.applicant': '申请方',
    'ops.col.env': '环境',
    'ops.col.appStatus': '应用状态',
    'ops.env.sandbox': '沙箱',
    'ops.env.production': '生产',
    'ops.appStatus.active': '有效',
    'ops.appStatus.exited': '已退出',
    'ops.appsIntro': '暂停某个应用后，它的全部调用在 1 秒内返回 API_PAUSED，其他应用不受影响。',
    'ops.appsEmpty': '还没有应用。申请方在开发者门户注册后会自动获得沙箱应用。',
    'ops.confirmAppTitle': '确认暂停应用 {name}？',
    'ops.confirmAppBody': '暂停后，该应用对所有 API 的调用都会被拒绝（API_PAUSED），直到有人恢复它。',
    'ops.deny.title': '全局 IP 黑名单',
    'ops.deny.intro': '来自这些地址或网段（IPv4、IPv6 CIDR）的调用一律拒绝，所有节点立即生效。',
    'ops.deny.add': '添加地址或网段',
    'ops.deny.addHint': '例如 203.0.113.0/24 或 2001:db8::/32；单个地址也可以。',
    'ops.deny.addBtn': '加入黑名单',
    'ops.deny.empty': '黑名单为空：不按来源地址拒绝任何调用。',
    'ops.deny.remove': '移除',
    'ops.deny.removeName': '从黑名单移除 {cidr}',
    'ops.deny.added': '已将 {cidr} 加入黑名单。',
    'ops.deny.removed': '已将 {cidr} 移出黑名单。',
    'ops.deny.confirmTitle': '把 {cidr} 加入黑名单？',
    'ops.deny.confirmBody': '来自该地址或网段的所有调用都将被拒绝，包括正在使用的正式应用。',
    'ops.allow.title': '应用 IP 白名单',
    'ops.allow.intro': '为某个应用设置白名单后，只有来自这些地址的调用会被放行（申请方的白名单同样适用，两者都须允许）。',
    'ops.allow.app': '应用',
    'ops.allow.entries': '白名单（每行一个地址或网段；清空即取消白名单）',
    'ops.allow.save': '保存白名单',
    'ops.allow.saved': '已保存应用 {app} 的白名单。',
    'ops.allow.none': '该应用没有自己的白名单。',
    'ops.noApps': '还没有应用。',
    'ops.lim.intro': '限流分四级：全局、应用、API、应用 + API。收紧立即生效；放宽全局限流会生成提案，须由另一位审核人员批准。',
    'ops.lim.scope': '范围',
    'ops.lim.scope.global': '全局（所有调用）',
    'ops.lim.scope.app': '某个应用的全部调用',
    'ops.lim.scope.api': '某个 API 的全部调用',
    'ops.lim.scope.app_api': '某个应用对某个 API 的调用',
    'ops.lim.app': '应用',
    'ops.lim.api': 'API',
    'ops.lim.col.kind': '限流类型',
    'ops.lim.col.on': '启用',
    'ops.lim.col.limit': '上限',
    'ops.lim.col.action': '超限后',
    'ops.lim.col.cooldown': '暂停时长（秒，0 为直到恢复）',
    'ops.lim.kind.concurrency': '并发数（每节点）',
    'ops.lim.kind.rate_per_second': '每秒调用数',
    'ops.lim.kind.rate_per_minute': '每分钟调用数',
    'ops.lim.kind.daily_quota': '每日调用量',
    'ops.lim.kind.monthly_quota': '每月调用量',
    'ops.lim.on': '启用 {kind}',
    'ops.lim.limitOf': '{kind} 的上限',
    'ops.lim.actionOf': '{kind} 超限后的动作',
    'ops.lim.cooldownOf': '{kind} 的暂停时长',
    'ops.lim.action.reject': '拒绝调用（429）',
    'ops.lim.action.alert': '放行并告警',
    'ops.lim.action.pause': '暂停 API 或应用',
    'ops.lim.save': '保存限流策略',
    'ops.lim.saved': '限流策略已生效。',
    'ops.lim.proposed': '这是对全局限流的放宽：已生成提案，须由另一位审核人员批准后才生效。',
    'ops.lim.pending': '待批准的全局限流放宽提案',
    'ops.lim.pendingEmpty': '没有待批准的提案。',
    'ops.lim.proposedBy': '{by} 于 {at} 提出',
    'ops.lim.approve': '批准',
    'ops.lim.reject': '驳回',
    'ops.lim.approved': '已批准提案，全局限流已更新。',
    'ops.lim.rejected': '已驳回提案。',
    'ops.lim.rejectTitle': '驳回这项提案？',
    'ops.lim.rejectBody': '全局限流保持不变。请写明原因，提出人会看到。',
    'ops.lim.reason': '原因',
    'ops.lim.reviewerOnly': '只有审核人员（且不是提出人）可以批准或驳回。',
    'ops.lim.pickScope': '请先选择应用和 API。',
    'ops.lim.none': '不设任何限流',
    'ops.risk.intro': '风控规则在所有节点立即生效。收紧（更严格）立即生效；放宽或删除会生成提案，须由另一位运维或审核人员批准。',
    'ops.risk.col.name': '规则',
    'ops.risk.col.kind': '类型',
    'ops.risk.col.decision': '命中后',
    'ops.risk.col.params': '参数',
    'ops.risk.col.action': '操作',
    'ops.risk.empty': '还没有风控规则。可在下方创建第一条规则，例如单笔金额上限。',
    'ops.risk.kind.amount': '单笔金额',
    'ops.risk.kind.customer_daily_amount': '客户日累计金额',
    'ops.risk.kind.app_daily_amount': '应用日累计金额',
    'ops.risk.kind.customer_velocity': '客户调用频次',
    'ops.risk.kind.new_address': '新地址',
    'ops.risk.kind.hours': '时段',
    'ops.risk.decision.allow': '放行并记录',
    'ops.risk.decision.alert': '放行并告警',
    'ops.risk.decision.step_up': '要求客户重新授权',
    'ops.risk.decision.reject': '拒绝（RISK_REJECTED）',
    'ops.risk.f.name': '规则名称',
    'ops.risk.f.kind': '类型',
    'ops.risk.f.decision': '命中后',
    'ops.risk.f.max_amount': '金额上限（元）',
    'ops.risk.f.amount_paths': '金额字段（JSON 路径，逗号分隔；留空为 $.amount）',
    'ops.risk.f.max_calls': '窗口内最多调用次数',
    'ops.risk.f.window_seconds': '窗口（秒）',
    'ops.risk.f.lookback_days': '多少天内未出现过的地址算新地址',
    'ops.risk.f.windows': '时段（北京时间，如 00:00-06:00, 22:00-24:00）',
    'ops.risk.f.apis': '适用的 API（ID，逗号分隔；留空为全部 A2 API）',
    'ops.risk.create': '创建规则',
    'ops.risk.createTitle': '新建风控规则',
    'ops.risk.created': '已创建规则 {name}，已在所有节点生效。',
    'ops.risk.edit': '修改',
    'ops.risk.editName': '修改规则 {name}',
    'ops.risk.editTitle': '修改规则 {name}',
    'ops.risk.save': '保存',
    'ops.risk.tightened': '规则 {name} 已修改并立即生效。',
    'ops.risk.proposed': '这是放宽：已生成提案，须由另一位运维或审核人员批准后才生效。',
    'ops.risk.pending': '待批准的风控提案',
    'ops.risk.pendingEmpty': '没有待批准的风控提案。',
    'ops.risk.proposal': '{action} 规则 {rule}，{by} 于 {at} 提出',
    'ops.risk.action.update': '放宽',
    'ops.risk.action.delete': '删除',
    'ops.risk.notProposer': '只有运维或审核人员（且不是提出人）可以批准或驳回。',
    'ops.risk.badWindows': '时段格式应为 HH:MM-HH:MM，用逗号分隔。',
    'ops.brk.intro': '本节点到每个上游服务的熔断器状态（来自 GET /admin/api/v1/metrics）。熔断器打开时，对该上游的调用会被立即拒绝，一段时间后自动试探恢复。',
    'ops.brk.col.target': '上游地址',
    'ops.brk.col.state': '状态',
    'ops.brk.col.failures': '连续失败次数',
    'ops.brk.open': '已熔断',
    'ops.brk.closed': '正常',
    'ops.brk.empty': '本节点启动以来还没有调用过任何上游服务，因此没有熔断器。第一次调用后会在这里出现。',
    'ops.brk.refresh': '刷新',
    'ops.brk.notYours': '熔断器状态来自节点指标，仅运维、审计人员和系统管理员可以查看。',
    'ops.alr.intro': '告警由告警规则产生（如成功率下降、熔断、管理员账户锁定）。确认告警表示已有人在处理，可附上处理说明。',
    'ops.alr.state': '告警状态',
    'ops.alr.state.open': '未确认',
    'ops.alr.state.acked': '已确认',
    'ops.alr.state.resolved': '已恢复',
    'ops.alr.state.all': '全部',
    'ops.alr.col.alert': '告警',
    'ops.alr.col.subject': '对象',
    'ops.alr.col.raised': '发生时间',
    'ops.alr.col.state': '状态',
    'ops.alr.col.action': '操作',
    'ops.alr.ack': '确认',
    'ops.alr.ackName': '确认告警 {kind}（{subject}）',
    'ops.alr.ackTitle': '确认这条告警？',
    'ops.alr.ackBody': '{message}',
    'ops.alr.ackNote': '处理说明（选填，与告警一起保存）',
    'ops.alr.ackOk': '确认告警',
    'ops.alr.acked': '已确认告警。',
    'ops.alr.ackedBy': '{by} 于 {at} 确认',
    'ops.alr.note': '说明：{note}',
    'ops.alr.resolvedAt': '{at} 恢复',
    'ops.alr.empty': '没有未确认的告警。告警规则触发时会出现在这里。',
    'ops.alr.emptyAll': '没有符合条件的告警。',
    'ops.alr.notYours': '仅运维人员或系统管理员可以确认告警；您可以查看。',
    'ops.alr.webhook': '告警推送：新告警会签名推送到 {url}；失败会按退避时间重试（由主节点负责，主节点切换后继续），每条告警的投递状态见“状态”列。',
    'ops.alr.dlv.delivered': '已推送（第 {n} 次尝试）',
    'ops.alr.dlv.pending': '待推送：已尝试 {n} 次，下次 {at}',
    'ops.alr.dlv.failed': '推送失败（{n} 次）：{err}',
    'ops.alr.dlv.pendingNew': '待推送',
    'ops.alr.noWebhook': '告警推送：未设置告警 Webhook，告警只在此页面显示。系统管理员可通过 PUT /admin/api/v1/alert-webhook 设置。',
    'ops.alr.kind.success_rate': '成功率下降',
    'ops.alr.kind.p99': 'P99 延迟过高',
    'ops.alr.kind.breaker_open': '熔断器打开',
    'ops.alr.kind.node_unreachable': '节点不可达',
    'ops.alr.kind.node_lagging': '节点落后',
    'ops.alr.kind.expiring': '凭证即将到期',
    'ops.alr.kind.audit_failure': '审计写入失败',
    'ops.alr.kind.limit_action': '限流动作',
    'ops.alr.kind.signature_failures': '签名验证失败',
    'ops.alr.kind.admin_lockout': '管理员账户锁定',
    'ops.refresh': '刷新',
  },
  en: {
    'ops.title': 'Operations',
    'ops.intro': 'A paused API answers every call with API_PAUSED on every node within a second; resuming lets calls through at once. Each action is in the change record.',
    'ops.apis': 'Pause and resume APIs',
    'ops.col.api': 'API',
    'ops.col.path': 'Method and path',
    'ops.col.level': 'Level',
    'ops.col.status': 'Catalogue status',
    'ops.col.state': 'State',
    'ops.col.action': 'Action',
    'ops.running': 'Running',
    'ops.paused': 'Paused',
    'ops.pausedBy': 'paused by {by} at {at}',
    'ops.pausedUntil': '; resumes by itself at {at}',
    'ops.reason': 'Reason: {reason}',
    'ops.pause': 'Pause',
    'ops.resume': 'Resume',
    'ops.pauseName': 'Pause {name}',
    'ops.resumeName': 'Resume {name}',
    'ops.confirmTitle': 'Pause {name}?',
    'ops.confirmBody': 'Every app\'s call of {method} {path} will be refused (API_PAUSED) until someone resumes it.',
    'ops.confirmReason': 'Reason (optional; kept in the change record, never shown to callers)',
    'ops.confirmOk': 'Pause it',
    'ops.didPause': '{name} is paused. Calls answer API_PAUSED.',
    'ops.didResume': '{name} is resumed; calls go through again.',
    'ops.notYours': 'Only operators and administrators pause or resume APIs; you can see the state.',
    'ops.empty': 'The catalogue has no APIs yet. Operators create and publish them through the admin API (POST /admin/api/v1/apis).',
    'ops.status.draft': 'Draft',
    'ops.status.published': 'Published',
    'ops.status.deprecated': 'Deprecated',
    'ops.status.retired': 'Retired',
    'ops.system': 'the system (a limit)',
    'ops.you': 'you',
    'ops.user': 'bank user {id}',
      'ops.tabs': 'Operations sections',
    'ops.tab.apis': 'API pauses',
    'ops.tab.apps': 'App pauses',
    'ops.tab.ip': 'IP lists',
    'ops.tab.limits': 'Limits',
    'ops.tab.risk': 'Risk rules',
    'ops.tab.breakers': 'Breakers',
    'ops.tab.alerts': 'Alerts',
    'ops.col.app': 'App',
    'ops.col.applicant': 'Applicant',
    'ops.col.env': 'Environment',
    'ops.col.appStatus': 'App status',
    'ops.env.sandbox': 'Sandbox',
    'ops.env.production': 'Production',
    'ops.appStatus.active': 'Active',
    'ops.appStatus.exited': 'Exited',
    'ops.appsIntro': 'A paused app\'s calls all answer API_PAUSED within a second; other apps are not affected.',
    'ops.appsEmpty': 'No apps yet. An applicant registered in the developer portal gets a sandbox app at once.',
    'ops.confirmAppTitle': 'Pause app {name}?',
    'ops.confirmAppBody': 'Every call of this app, to any API, will be refused (API_PAUSED) until someone resumes it.',
    'ops.deny.title': 'Global IP deny-list',
    'ops.deny.intro': 'Calls from these addresses or prefixes (IPv4, IPv6 CIDR) are refused, on every node at once.',
    'ops.deny.add': 'Address or prefix to add',
    'ops.deny.addHint': 'e.g. 203.0.113.0/24 or 2001:db8::/32; a single address works too.',
    'ops.deny.addBtn': 'Add to the deny-list',
    'ops.deny.empty': 'The deny-list is empty: no call is refused for where it comes from.',
    'ops.deny.remove': 'Remove',
    'ops.deny.removeName': 'Remove {cidr} from the deny-list',
    'ops.deny.added': '{cidr} is on the deny-list.',
    'ops.deny.removed': '{cidr} is off the deny-list.',
    'ops.deny.confirmTitle': 'Deny {cidr}?',
    'ops.deny.confirmBody': 'Every call from this address or prefix will be refused, production apps\' included.',
    'ops.allow.title': 'App IP allow-lists',
    'ops.allow.intro': 'An app with its own allow-list is only let through from these addresses (its applicant\'s list applies too: both must allow).',
    'ops.allow.app': 'App',
    'ops.allow.entries': 'Allow-list (one address or prefix a line; empty removes it)',
    'ops.allow.save': 'Save the allow-list',
    'ops.allow.saved': 'The allow-list of {app} is saved.',
    'ops.allow.none': 'This app has no allow-list of its own.',
    'ops.noApps': 'No apps yet.',
    'ops.lim.intro': 'Limits have four scopes: global, app, API, app and API. A tightening takes effect at once; relaxing the global limits makes a proposal another reviewer must approve.',
    'ops.lim.scope': 'Scope',
    'ops.lim.scope.global': 'Global (every call)',
    'ops.lim.scope.app': 'All calls of an app',
    'ops.lim.scope.api': 'All calls of an API',
    'ops.lim.scope.app_api': 'An app\'s calls of an API',
    'ops.lim.app': 'App',
    'ops.lim.api': 'API',
    'ops.lim.col.kind': 'Limit',
    'ops.lim.col.on': 'On',
    'ops.lim.col.limit': 'At most',
    'ops.lim.col.action': 'When exceeded',
    'ops.lim.col.cooldown': 'Pause for (s; 0: until resumed)',
    'ops.lim.kind.concurrency': 'Calls in flight (per node)',
    'ops.lim.kind.rate_per_second': 'Calls per second',
    'ops.lim.kind.rate_per_minute': 'Calls per minute',
    'ops.lim.kind.daily_quota': 'Calls per day',
    'ops.lim.kind.monthly_quota': 'Calls per month',
    'ops.lim.on': 'Turn on {kind}',
    'ops.lim.limitOf': 'Limit of {kind}',
    'ops.lim.actionOf': 'Action of {kind}',
    'ops.lim.cooldownOf': 'Pause length of {kind}',
    'ops.lim.action.reject': 'Refuse the call (429)',
    'ops.lim.action.alert': 'Let it through, alert',
    'ops.lim.action.pause': 'Pause the API or app',
    'ops.lim.save': 'Save the limits',
    'ops.lim.saved': 'The limits are in force.',
    'ops.lim.proposed': 'This relaxes the global limits: it is proposed, and takes effect once another reviewer approves it.',
    'ops.lim.pending': 'Proposed relaxations of the global limits',
    'ops.lim.pendingEmpty': 'No proposal awaits a decision.',
    'ops.lim.proposedBy': 'proposed by {by} at {at}',
    'ops.lim.approve': 'Approve',
    'ops.lim.reject': 'Reject',
    'ops.lim.approved': 'Approved: the global limits are updated.',
    'ops.lim.rejected': 'The proposal is rejected.',
    'ops.lim.rejectTitle': 'Reject this proposal?',
    'ops.lim.rejectBody': 'The global limits stay as they are. Say why; the proposer sees it.',
    'ops.lim.reason': 'Reason',
    'ops.lim.reviewerOnly': 'Only a reviewer who did not propose it approves or rejects.',
    'ops.lim.pickScope': 'Choose the app and the API first.',
    'ops.lim.none': 'no limits at all',
    'ops.risk.intro': 'Risk rules apply on every node at once. A tightening takes effect at once; relaxing or deleting a rule makes a proposal another operator or reviewer must approve.',
    'ops.risk.col.name': 'Rule',
    'ops.risk.col.kind': 'Kind',
    'ops.risk.col.decision': 'When it matches',
    'ops.risk.col.params': 'Parameters',
    'ops.risk.col.action': 'Action',
    'ops.risk.empty': 'No risk rules yet. Create the first below, e.g. a largest single amount.',
    'ops.risk.kind.amount': 'Single amount',
    'ops.risk.kind.customer_daily_amount': 'Customer\'s daily amount',
    'ops.risk.kind.app_daily_amount': 'App\'s daily amount',
    'ops.risk.kind.customer_velocity': 'Customer\'s call rate',
    'ops.risk.kind.new_address': 'New address',
    'ops.risk.kind.hours': 'Hours of the day',
    'ops.risk.decision.allow': 'Let through, record',
    'ops.risk.decision.alert': 'Let through, alert',
    'ops.risk.decision.step_up': 'Ask the customer to consent again',
    'ops.risk.decision.reject': 'Refuse (RISK_REJECTED)',
    'ops.risk.f.name': 'Rule name',
    'ops.risk.f.kind': 'Kind',
    'ops.risk.f.decision': 'When it matches',
    'ops.risk.f.max_amount': 'Largest amount (CNY)',
    'ops.risk.f.amount_paths': 'Amount fields (JSON paths, comma-separated; empty: $.amount)',
    'ops.risk.f.max_calls': 'Most calls within the window',
    'ops.risk.f.window_seconds': 'Window (seconds)',
    'ops.risk.f.lookback_days': 'An address not seen for this many days is new',
    'ops.risk.f.windows': 'Hours (Beijing time, e.g. 00:00-06:00, 22:00-24:00)',
    'ops.risk.f.apis': 'APIs (ids, comma-separated; empty: every A2 API)',
    'ops.risk.create': 'Create the rule',
    'ops.risk.createTitle': 'New risk rule',
    'ops.risk.created': 'Rule {name} is created and applies on every node.',
    'ops.risk.edit': 'Change',
    'ops.risk.editName': 'Change rule {name}',
    'ops.risk.editTitle': 'Change rule {name}',
    'ops.risk.save': 'Save',
    'ops.risk.tightened': 'Rule {name} is changed and applies at once.',
    'ops.risk.proposed': 'This relaxes the rule: it is proposed, and takes effect once another operator or reviewer approves it.',
    'ops.risk.pending': 'Risk proposals awaiting a decision',
    'ops.risk.pendingEmpty': 'No risk proposal awaits a decision.',
    'ops.risk.proposal': '{action} rule {rule}, proposed by {by} at {at}',
    'ops.risk.action.update': 'Relax',
    'ops.risk.action.delete': 'Delete',
    'ops.risk.notProposer': 'Only an operator or reviewer who did not propose it approves or rejects.',
    'ops.risk.badWindows': 'Write hours as HH:MM-HH:MM, separated by commas.',
    'ops.brk.intro': 'This node\'s circuit breaker of each upstream (from GET /admin/api/v1/metrics). An open breaker refuses calls to its upstream at once and tries it again after a while.',
    'ops.brk.col.target': 'Upstream',
    'ops.brk.col.state': 'State',
    'ops.brk.col.failures': 'Consecutive failures',
    'ops.brk.open': 'Open',
    'ops.brk.closed': 'Closed',
    'ops.brk.empty': 'This node has not called any upstream since it started, so there are no breakers yet. They appear after the first call.',
    'ops.brk.refresh': 'Refresh',
    'ops.brk.notYours': 'Breaker states come from the node\'s metrics, which operators, auditors and administrators read.',
    'ops.alr.intro': 'Alert rules raise alerts (success rate down, a breaker open, an admin locked out…). Acknowledging one says someone is on it; add a note of what is being done.',
    'ops.alr.state': 'Alert state',
    'ops.alr.state.open': 'Open',
    'ops.alr.state.acked': 'Acknowledged',
    'ops.alr.state.resolved': 'Resolved',
    'ops.alr.state.all': 'All',
    'ops.alr.col.alert': 'Alert',
    'ops.alr.col.subject': 'Subject',
    'ops.alr.col.raised': 'Raised',
    'ops.alr.col.state': 'State',
    'ops.alr.col.action': 'Action',
    'ops.alr.ack': 'Acknowledge',
    'ops.alr.ackName': 'Acknowledge alert {kind} ({subject})',
    'ops.alr.ackTitle': 'Acknowledge this alert?',
    'ops.alr.ackBody': '{message}',
    'ops.alr.ackNote': 'Note (optional; kept with the alert)',
    'ops.alr.ackOk': 'Acknowledge',
    'ops.alr.acked': 'The alert is acknowledged.',
    'ops.alr.ackedBy': 'acknowledged by {by} at {at}',
    'ops.alr.note': 'Note: {note}',
    'ops.alr.resolvedAt': 'resolved {at}',
    'ops.alr.empty': 'No open alerts. Alerts appear here when an alert rule fires.',
    'ops.alr.emptyAll': 'No alerts match.',
    'ops.alr.notYours': 'Only operators and administrators acknowledge alerts; you can read them.',
    'ops.alr.webhook': 'Delivery: new alerts are sent, signed, to {url}; a failure is retried with backoff (by the leader, carried on after a leader change); each alert\'s delivery is in its State column.',
    'ops.alr.dlv.delivered': 'delivered (attempt {n})',
    'ops.alr.dlv.pending': 'to deliver: {n} attempts so far, next {at}',
    'ops.alr.dlv.failed': 'delivery failed ({n} attempts): {err}',
    'ops.alr.dlv.pendingNew': 'to deliver',
    'ops.alr.noWebhook': 'Delivery: no alert webhook is set, so alerts are only shown here. An administrator sets one with PUT /admin/api/v1/alert-webhook.',
    'ops.alr.kind.success_rate': 'Success rate down',
    'ops.alr.kind.p99': 'p99 latency high',
    'ops.alr.kind.breaker_open': 'Breaker open',
    'ops.alr.kind.node_unreachable': 'Node unreachable',
    'ops.alr.kind.node_lagging': 'Node lagging',
    'ops.alr.kind.expiring': 'Credential expiring',
    'ops.alr.kind.audit_failure': 'Audit write failure',
    'ops.alr.kind.limit_action': 'Limit action',
    'ops.alr.kind.signature_failures': 'Signature failures',
    'ops.alr.kind.admin_lockout': 'Admin locked out',
    'ops.refresh': 'Refresh',
  },
};

const TABS = ['apis', 'apps', 'ip', 'limits', 'risk', 'breakers', 'alerts'];
const KINDS = ['concurrency', 'rate_per_second', 'rate_per_minute', 'daily_quota', 'monthly_quota'];
const RISK_KINDS = ['amount', 'customer_daily_amount', 'app_daily_amount', 'customer_velocity', 'new_address', 'hours'];
const DECISIONS = ['allow', 'alert', 'step_up', 'reject'];
const AMOUNT_KINDS = ['amount', 'customer_daily_amount', 'app_daily_amount'];

const enc = encodeURIComponent;

export function render(ctx) {
  const { root, me } = ctx;
  const who = (by) => {
    if (!by) return '';
    if (by === 'system') return t('ops.system');
    if (by === 'admin:' + me.id || by === me.id) return t('ops.you');
    return by.startsWith('admin:') ? t('ops.user', { id: by.slice(6) }) : by;
  };
  const want = new URLSearchParams(location.hash.split('?')[1] || '').get('tab');
  let current = TABS.includes(want) ? want : 'apis';
  const panel = h('div', { class: 'tab-panel', role: 'tabpanel', id: 'ops-panel', tabindex: '0' });
  const tabs = TABS.map((id) => h('button', { type: 'button', role: 'tab', class: 'tab', id: 'ops-tab-' + id, 'data-tab': id,
    'aria-controls': 'ops-panel', onclick: () => show(id), onkeydown: (e) => {
      const i = TABS.indexOf(id);
      const j = e.key === 'ArrowRight' ? (i + 1) % TABS.length : e.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length : -1;
      if (j >= 0) { e.preventDefault(); show(TABS[j]); tabs[j].focus(); }
    } }, t('ops.tab.' + id)));
  root.append(h('h1', {}, t('ops.title')),
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('ops.tabs') }, tabs), panel);
  let cleanup = null;
  const show = (id) => {
    current = id;
    if (cleanup) { cleanup(); cleanup = null; }
    for (const b of tabs) {
      const on = b.dataset.tab === id;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', 'ops-tab-' + id);
    history.replaceState(null, '', '#/operations' + (id === 'apis' ? '' : '?tab=' + id));
    clear(panel);
    const c = { ...ctx, root: panel, who };
    cleanup = ({ apis: apisTab, apps: appsTab, ip: ipTab, limits: limitsTab, risk: riskTab, breakers: breakersTab, alerts: alertsTab })[id](c) || null;
  };
  show(current);
  return () => { if (cleanup) cleanup(); };
}

// section is a card with a title, an error box and a body.
function section(root, id, title, intro) {
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const card = h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), intro ? h('p', { class: 'muted' }, intro) : null, errorBox, body);
  root.append(card);
  return { card, body, fail: (err, describe) => { errorBox.textContent = describe(err); errorBox.hidden = false; }, ok: () => { errorBox.hidden = true; } };
}

const table = (cols, rows, prefix = 'ops.col.') => h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
  h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, t(prefix + c))))), h('tbody', {}, rows)));

// ---- APIs ------------------------------------------------------------------

function apisTab({ root, api, describe, can, who }) {
  const mayAct = can('operator');
  root.append(h('p', { class: 'muted' }, t('ops.intro')));
  const { body, fail, ok } = section(root, 'ops-apis', t('ops.apis'));
  if (!mayAct) body.before(h('p', { class: 'alert alert-info' }, t('ops.notYours')));
  const load = async () => {
    let apis, pauses;
    try {
      [apis, pauses] = await Promise.all([api.get('/apis?limit=500'), api.get('/pauses')]);
    } catch (err) { fail(err, describe); clear(body); return; }
    ok();
    const paused = new Map(pauses.items.filter((p) => p.target === 'api').map((p) => [p.id, p]));
    const items = apis.items.filter((a) => a.status !== 'retired');
    clear(body);
    if (items.length === 0) { body.append(h('p', { class: 'empty' }, t('ops.empty'))); return; }
    body.append(table(['api', 'path', 'level', 'status', 'state', 'action'], items.map((a) => {
      const p = paused.get(a.id);
      return h('tr', { 'data-api': a.id },
        h('th', { scope: 'row' }, h('div', {}, a.name || a.id), h('div', { class: 'small muted mono' }, a.id)),
        h('td', { class: 'mono' }, a.method + ' ' + a.path),
        h('td', { class: 'nowrap' }, h('span', { class: 'badge' }, a.level)),
        h('td', { class: 'nowrap' }, t('ops.status.' + a.status)),
        h('td', { class: 'wide' }, pauseState(p, who)),
        h('td', { class: 'nowrap' }, pauseButton({ api, mayAct, fail: (e) => fail(e, describe), load, paused: !!p, name: a.name || a.id, path: '/apis/' + enc(a.id),
          attr: { 'data-api': a.id }, title: t('ops.confirmTitle', { name: a.name || a.id }), body: t('ops.confirmBody', { method: a.method, path: a.path }) })));
    })));
  };
  load();
}

function pauseState(p, who) {
  return p
    ? h('div', {}, h('span', { class: 'badge badge-paused' }, t('ops.paused')),
      h('div', { class: 'small muted' }, t('ops.pausedBy', { by: who(p.by), at: fmtTime(p.at) }) +
        (p.resume_at ? t('ops.pausedUntil', { at: fmtTime(p.resume_at) }) : '')),
      p.reason ? h('div', { class: 'small muted' }, t('ops.reason', { reason: p.reason })) : null)
    : h('span', { class: 'badge badge-ok' }, t('ops.running'));
}

function pauseButton({ api, mayAct, fail, load, paused, name, path, attr, title, body }) {
  if (paused) {
    return h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'resume', ...attr, disabled: !mayAct,
      'aria-label': t('ops.resumeName', { name }), title: mayAct ? null : t('ops.notYours'), onclick: async (e) => {
        e.currentTarget.disabled = true;
        try { await api.post(path + '/resume', {}); toast(t('ops.didResume', { name })); } catch (err) { fail(err); }
        load();
      } }, t('ops.resume'));
  }
  return h('button', { type: 'button', class: 'btn btn-danger', 'data-action': 'pause', ...attr, disabled: !mayAct,
    'aria-label': t('ops.pauseName', { name }), title: mayAct ? null : t('ops.notYours'), onclick: async () => {
      const ok = await confirmDialog({ title, body, confirmLabel: t('ops.confirmOk'), danger: true, reasonLabel: t('ops.confirmReason') });
      if (!ok) return;
      try {
        await api.post(path + '/pause', ok.reason ? { reason: ok.reason } : {});
        toast(t('ops.didPause', { name }));
      } catch (err) { fail(err); }
      load();
    } }, t('ops.pause'));
}

// ---- apps ------------------------------------------------------------------

function appsTab({ root, api, describe, can, who }) {
  const mayAct = can('operator');
  root.append(h('p', { class: 'muted' }, t('ops.appsIntro')));
  const { body, fail, ok } = section(root, 'ops-apps', t('ops.tab.apps'));
  if (!mayAct) body.before(h('p', { class: 'alert alert-info' }, t('ops.notYours')));
  const load = async () => {
    let apps, pauses;
    try { [apps, pauses] = await Promise.all([api.get('/apps?limit=500'), api.get('/pauses')]); } catch (err) { fail(err, describe); clear(body); return; }
    ok();
    const paused = new Map(pauses.items.filter((p) => p.target === 'app').map((p) => [p.id, p]));
    clear(body);
    if (apps.items.length === 0) { body.append(h('p', { class: 'empty' }, t('ops.appsEmpty'))); return; }
    body.append(table(['app', 'applicant', 'env', 'appStatus', 'state', 'action'], apps.items.map((a) => {
      const p = paused.get(a.id);
      return h('tr', { 'data-app': a.id },
        h('th', { scope: 'row', class: 'mono' }, a.id),
        h('td', { class: 'mono small' }, a.applicant_id),
        h('td', { class: 'nowrap' }, t('ops.env.' + a.env)),
        h('td', { class: 'nowrap' }, t('ops.appStatus.' + a.status) === 'ops.appStatus.' + a.status ? a.status : t('ops.appStatus.' + a.status)),
        h('td', { class: 'wide' }, pauseState(p, who)),
        h('td', { class: 'nowrap' }, pauseButton({ api, mayAct, fail: (e) => fail(e, describe), load, paused: !!p, name: a.id, path: '/apps/' + enc(a.id),
          attr: { 'data-app': a.id }, title: t('ops.confirmAppTitle', { name: a.id }), body: t('ops.confirmAppBody') })));
    })));
  };
  load();
}

// ---- IP deny-list and allow-lists -------------------------------------------

function ipTab({ root, api, describe, can }) {
  const mayAct = can('operator');
  const deny = section(root, 'ops-deny', t('ops.deny.title'), t('ops.deny.intro'));
  if (!mayAct) deny.body.before(h('p', { class: 'alert alert-info' }, t('ops.notYours')));
  let entries = [];
  const input = h('input', { id: 'deny-add', name: 'cidr', class: 'mono', autocomplete: 'off', disabled: !mayAct, 'aria-describedby': 'deny-add-hint' });
  const addForm = h('form', { class: 'inline-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'deny-add' }, t('ops.deny.add')), input, h('p', { class: 'hint', id: 'deny-add-hint' }, t('ops.deny.addHint'))),
    h('button', { type: 'submit', class: 'btn btn-danger', 'data-action': 'deny-add', disabled: !mayAct, title: mayAct ? null : t('ops.notYours') }, t('ops.deny.addBtn')));
  const list = h('div', {});
  const save = async (next) => {
    const res = await api.put('/ip-denylist', { entries: next });
    entries = res.entries;
    drawDeny();
  };
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const cidr = input.value.trim();
    if (!cidr) { input.focus(); return; }
    const ok = await confirmDialog({ title: t('ops.deny.confirmTitle', { cidr }), body: t('ops.deny.confirmBody'), confirmLabel: t('ops.deny.addBtn'), danger: true });
    if (!ok) return;
    try { await save([...entries, cidr]); deny.ok(); input.value = ''; toast(t('ops.deny.added', { cidr })); } catch (err) { deny.fail(err, describe); input.focus(); }
  });
  const drawDeny = () => {
    clear(list);
    if (entries.length === 0) { list.append(h('p', { class: 'empty' }, t('ops.deny.empty'))); return; }
    list.append(h('ul', { class: 'chips', 'aria-label': t('ops.deny.title') }, entries.map((c) => h('li', { class: 'chip', 'data-cidr': c }, c,
      h('button', { type: 'button', class: 'btn', 'data-action': 'deny-remove', disabled: !mayAct, 'aria-label': t('ops.deny.removeName', { cidr: c }),
        title: mayAct ? t('ops.deny.removeName', { cidr: c }) : t('ops.notYours'), onclick: async () => {
          const ok = await confirmDialog({ title: t('ops.deny.removeName', { cidr: c }), body: '', confirmLabel: t('ops.deny.remove') });
          if (!ok) return;
          try { await save(entries.filter((x) => x !== c)); deny.ok(); toast(t('ops.deny.removed', { cidr: c })); } catch (err) { deny.fail(err, describe); }
        } }, '×')))));
  };
  (async () => {
    try { entries = (await api.get('/ip-denylist')).entries; } catch (err) { deny.fail(err, describe); clear(deny.body); return; }
    clear(deny.body).append(addForm, list);
    drawDeny();
  })();

  // Per-app allow-lists.
  const allow = section(root, 'ops-allow', t('ops.allow.title'), t('ops.allow.intro'));
  (async () => {
    let apps;
    try { apps = await api.get('/apps?limit=500'); } catch (err) { allow.fail(err, describe); clear(allow.body); return; }
    clear(allow.body);
    if (apps.items.length === 0) { allow.body.append(h('p', { class: 'empty' }, t('ops.noApps'))); return; }
    const pick = h('select', { id: 'allow-app', name: 'app' }, apps.items.map((a) => h('option', { value: a.id }, a.id + ' (' + t('ops.env.' + a.env) + ')')));
    const area = h('textarea', { id: 'allow-entries', name: 'entries', rows: 4, class: 'mono', disabled: !mayAct });
    const note = h('p', { class: 'hint' });
    const loadApp = async () => {
      try {
        const r = await api.get('/apps/' + enc(pick.value) + '/ip-allowlist');
        area.value = r.entries.join('\n');
        note.textContent = r.entries.length ? '' : t('ops.allow.none');
        allow.ok();
      } catch (err) { allow.fail(err, describe); }
    };
    pick.addEventListener('change', loadApp);
    const f = h('form', { novalidate: true },
      h('div', { class: 'grid-2' },
        h('div', { class: 'field' }, h('label', { for: 'allow-app' }, t('ops.allow.app')), pick),
        h('div', { class: 'field' }, h('label', { for: 'allow-entries' }, t('ops.allow.entries')), area, note)),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', disabled: !mayAct, title: mayAct ? null : t('ops.notYours') }, t('ops.allow.save'))));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const list2 = area.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
      try {
        const r = await api.put('/apps/' + enc(pick.value) + '/ip-allowlist', { entries: list2 });
        area.value = r.entries.join('\n');
        note.textContent = r.entries.length ? '' : t('ops.allow.none');
        allow.ok();
        toast(t('ops.allow.saved', { app: pick.value }));
      } catch (err) { allow.fail(err, describe); area.focus(); }
    });
    allow.body.append(f);
    loadApp();
  })();
}

// ---- limits ----------------------------------------------------------------

function limitsTab({ root, api, describe, can, me, who }) {
  const mayAct = can('operator');
  root.append(h('p', { class: 'muted' }, t('ops.lim.intro')));
  const pend = section(root, 'ops-lim-pending', t('ops.lim.pending'));
  const pol = section(root, 'ops-lim', t('ops.tab.limits'));
  const isReviewer = me.role === 'reviewer';

  const loadPending = async () => {
    let res;
    try { res = await api.get('/limit-proposals?status=pending&limit=50'); } catch (err) { pend.fail(err, describe); clear(pend.body); return; }
    pend.ok();
    clear(pend.body);
    if (res.items.length === 0) { pend.body.append(h('p', { class: 'empty' }, t('ops.lim.pendingEmpty'))); return; }
    for (const p of res.items) {
      const mine = p.proposed_by === 'admin:' + me.id || p.proposed_by === me.id;
      const why = !isReviewer || mine ? t('ops.lim.reviewerOnly') : null;
      pend.body.append(h('div', { class: 'card', 'data-proposal': p.id },
        h('p', { class: 'small muted' }, p.id + ' · ' + t('ops.lim.proposedBy', { by: who(p.proposed_by), at: fmtTime(p.proposed_at) })),
        policySummary(p.policy),
        h('div', { class: 'lc-actions' },
          h('button', { type: 'button', class: 'btn btn-primary', disabled: !!why, title: why, onclick: async () => {
            try { await api.post('/limit-proposals/' + enc(p.id) + '/approve', {}); toast(t('ops.lim.approved')); } catch (err) { pend.fail(err, describe); }
            loadPending(); loadPolicy();
          } }, t('ops.lim.approve')),
          h('button', { type: 'button', class: 'btn btn-danger', disabled: !!why, title: why, onclick: async () => {
            const ok = await confirmDialog({ title: t('ops.lim.rejectTitle'), body: t('ops.lim.rejectBody'), confirmLabel: t('ops.lim.reject'), danger: true, reasonLabel: t('ops.lim.reason') });
            if (!ok) return;
            try { await api.post('/limit-proposals/' + enc(p.id) + '/reject', { reason: ok.reason }); toast(t('ops.lim.rejected')); } catch (err) { pend.fail(err, describe); }
            loadPending();
          } }, t('ops.lim.reject')),
          why ? h('span', { class: 'small muted' }, why) : null)));
    }
  };

  const scope = h('select', { id: 'lim-scope', name: 'scope' }, ['global', 'app', 'api', 'app_api'].map((s) => h('option', { value: s }, t('ops.lim.scope.' + s))));
  const appSel = h('select', { id: 'lim-app', name: 'app' });
  const apiSel = h('select', { id: 'lim-api', name: 'api' });
  const appField = h('div', { class: 'field' }, h('label', { for: 'lim-app' }, t('ops.lim.app')), appSel);
  const apiField = h('div', { class: 'field' }, h('label', { for: 'lim-api' }, t('ops.lim.api')), apiSel);
  const form = h('form', { class: 'limit-grid', novalidate: true });
  const path = () => {
    switch (scope.value) {
      case 'app': return '/apps/' + enc(appSel.value) + '/limits';
      case 'api': return '/apis/' + enc(apiSel.value) + '/limits';
      case 'app_api': return '/apps/' + enc(appSel.value) + '/apis/' + enc(apiSel.value) + '/limits';
      default: return '/limits/global';
    }
  };
  const loadPolicy = async () => {
    appField.hidden = !(scope.value === 'app' || scope.value === 'app_api');
    apiField.hidden = !(scope.value === 'api' || scope.value === 'app_api');
    if ((!appField.hidden && !appSel.value) || (!apiField.hidden && !apiSel.value)) { clear(form).append(h('p', { class: 'empty' }, t('ops.lim.pickScope'))); return; }
    let res;
    try { res = await api.get(path()); } catch (err) { pol.fail(err, describe); return; }
    pol.ok();
    drawPolicy(res.policy || {});
  };
  const drawPolicy = (policy) => {
    clear(form);
    const rows = KINDS.map((k) => {
      const r = policy[k];
      const kind = t('ops.lim.kind.' + k);
      const on = h('input', { type: 'checkbox', id: 'lim-on-' + k, name: k + '.on', checked: !!r, disabled: !mayAct, 'aria-label': t('ops.lim.on', { kind }) });
      const limit = h('input', { type: 'number', id: 'lim-limit-' + k, name: k + '.limit', min: 1, step: 1, value: r ? r.limit : '', disabled: !mayAct, 'aria-label': t('ops.lim.limitOf', { kind }) });
      const action = h('select', { id: 'lim-action-' + k, name: k + '.action', disabled: !mayAct, 'aria-label': t('ops.lim.actionOf', { kind }) },
        ['reject', 'alert', 'pause'].map((a) => h('option', { value: a }, t('ops.lim.action.' + a))));
      action.value = (r && r.action) || 'reject';
      const cooldown = h('input', { type: 'number', id: 'lim-cool-' + k, name: k + '.cooldown', min: 0, step: 1, value: r ? (r.cooldown_seconds || 0) : 0, disabled: !mayAct, 'aria-label': t('ops.lim.cooldownOf', { kind }) });
      const sync = () => { limit.disabled = action.disabled = !mayAct || !on.checked; cooldown.disabled = limit.disabled || action.value !== 'pause'; };
      on.addEventListener('change', sync); action.addEventListener('change', sync); sync();
      return h('tr', { 'data-kind': k }, h('th', { scope: 'row' }, kind), h('td', {}, on), h('td', {}, limit), h('td', {}, action), h('td', {}, cooldown));
    });
    form.append(table(['kind', 'on', 'limit', 'action', 'cooldown'], rows, 'ops.lim.col.'),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'save-limits', disabled: !mayAct, title: mayAct ? null : t('ops.notYours') }, t('ops.lim.save'))));
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const policy = {};
    for (const k of KINDS) {
      if (!form.querySelector(`[name="${k}.on"]`).checked) continue;
      const v = form.querySelector(`[name="${k}.limit"]`).value.trim();
      const r = { limit: v === '' ? 0 : Number(v), action: form.querySelector(`[name="${k}.action"]`).value };
      if (r.action === 'pause') r.cooldown_seconds = Number(form.querySelector(`[name="${k}.cooldown"]`).value || 0);
      policy[k] = r;
    }
    try {
      const res = await api.put(path(), policy);
      pol.ok();
      if (res.proposal) { toast(t('ops.lim.proposed')); loadPending(); loadPolicy(); } else { toast(t('ops.lim.saved')); drawPolicy(res.policy || {}); }
    } catch (err) { pol.fail(err, describe); }
  });
  scope.addEventListener('change', loadPolicy);
  appSel.addEventListener('change', loadPolicy);
  apiSel.addEventListener('change', loadPolicy);
  (async () => {
    try {
      const [apps, apis] = await Promise.all([api.get('/apps?limit=500'), api.get('/apis?limit=500')]);
      for (const a of apps.items) appSel.append(h('option', { value: a.id }, a.id));
      for (const a of apis.items.filter((x) => x.status !== 'retired')) apiSel.append(h('option', { value: a.id }, a.name + ' · ' + a.method + ' ' + a.path));
    } catch (err) { pol.fail(err, describe); }
    clear(pol.body).append(h('div', { class: 'filters' },
      h('div', { class: 'field' }, h('label', { for: 'lim-scope' }, t('ops.lim.scope')), scope), appField, apiField), form);
    if (!mayAct) pol.body.prepend(h('p', { class: 'alert alert-info' }, t('ops.notYours')));
    loadPolicy();
  })();
  loadPending();
}

function policySummary(p) {
  const parts = KINDS.filter((k) => p && p[k]).map((k) => t('ops.lim.kind.' + k) + ' ≤ ' + p[k].limit + ' · ' + t('ops.lim.action.' + (p[k].action || 'reject')));
  return h('ul', { class: 'small' }, parts.length ? parts.map((x) => h('li', {}, x)) : h('li', {}, t('ops.lim.none')));
}

// ---- risk rules ------------------------------------------------------------

function riskSummary(r) {
  const bits = [];
  if (r.max_amount) bits.push('≤ ' + r.max_amount);
  if (r.amount_paths && r.amount_paths.length) bits.push(r.amount_paths.join(', '));
  if (r.max_calls) bits.push(r.max_calls + ' / ' + r.window_seconds + ' s');
  if (r.lookback_days) bits.push(r.lookback_days + ' d');
  if (r.windows && r.windows.length) bits.push(r.windows.map((w) => w.from + '–' + w.to).join(', '));
  if (r.apis && r.apis.length) bits.push(r.apis.join(', '));
  return bits.join(' · ');
}

// riskFields draws the inputs of a rule of kind (prefix keeps ids unique)
// and returns them with a reader of their values.
function riskFields(prefix, kind, r = {}) {
  const fld = (name, label, control) => { control.id = prefix + name; control.name = name; return h('div', { class: 'field' }, h('label', { for: control.id }, t('ops.risk.f.' + label)), control); };
  const nodes = [];
  if (AMOUNT_KINDS.includes(kind)) {
    nodes.push(fld('max_amount', 'max_amount', h('input', { inputmode: 'decimal', value: r.max_amount || '' })),
      fld('amount_paths', 'amount_paths', h('input', { class: 'mono', value: (r.amount_paths || []).join(', ') })));
  } else if (kind === 'customer_velocity') {
    nodes.push(fld('max_calls', 'max_calls', h('input', { type: 'number', min: 1, value: r.max_calls || '' })),
      fld('window_seconds', 'window_seconds', h('input', { type: 'number', min: 1, max: 86400, value: r.window_seconds || '' })));
  } else if (kind === 'new_address') {
    nodes.push(fld('lookback_days', 'lookback_days', h('input', { type: 'number', min: 1, max: 90, value: r.lookback_days || '' })));
  } else if (kind === 'hours') {
    nodes.push(fld('windows', 'windows', h('input', { class: 'mono', value: (r.windows || []).map((w) => w.from + '-' + w.to).join(', ') })));
  }
  nodes.push(fld('apis', 'apis', h('input', { class: 'mono', value: (r.apis || []).join(', ') })));
  const read = (root) => {
    const v = (n) => { const e = root.querySelector(`[name="${n}"]`); return e ? e.value.trim() : null; };
    const list = (s) => (s ? s.split(/[\s,]+/).filter(Boolean) : []);
    const out = {};
    if (AMOUNT_KINDS.includes(kind)) { out.max_amount = v('max_amount'); const p = list(v('amount_paths')); if (p.length) out.amount_paths = p; }
    if (kind === 'customer_velocity') { out.max_calls = Number(v('max_calls') || 0); out.window_seconds = Number(v('window_seconds') || 0); }
    if (kind === 'new_address') out.lookback_days = Number(v('lookback_days') || 0);
    if (kind === 'hours') {
      out.windows = list(v('windows')).map((w) => {
        const m = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(w);
        if (!m) throw new Error(t('ops.risk.badWindows'));
        return { from: m[1], to: m[2] };
      });
    }
    out.apis = list(v('apis'));
    return out;
  };
  return { nodes, read };
}

function riskTab({ root, api, describe, can, me, who }) {
  const mayAct = can('operator');
  const mayDecide = can('operator', 'reviewer');
  root.append(h('p', { class: 'muted' }, t('ops.risk.intro')));
  const pend = section(root, 'ops-risk-pending', t('ops.risk.pending'));
  const rules = section(root, 'ops-risk', t('ops.tab.risk'));
  const create = section(root, 'ops-risk-new', t('ops.risk.createTitle'));
  if (!mayAct) rules.body.before(h('p', { class: 'alert alert-info' }, t('ops.notYours')));
  const showErr = (sec) => (err) => { if (err instanceof ApiError) sec.fail(err, describe); else { sec.fail(err, () => err.message); } };

  const loadPending = async () => {
    let res;
    try { res = await api.get('/risk/proposals?status=pending&limit=50'); } catch (err) { pend.fail(err, describe); clear(pend.body); return; }
    pend.ok(); clear(pend.body);
    if (res.items.length === 0) { pend.body.append(h('p', { class: 'empty' }, t('ops.risk.pendingEmpty'))); return; }
    for (const p of res.items) {
      const mine = p.proposed_by === 'admin:' + me.id || p.proposed_by === me.id;
      const why = !mayDecide || mine ? t('ops.risk.notProposer') : null;
      pend.body.append(h('div', { class: 'card', 'data-proposal': p.id },
        h('p', {}, t('ops.risk.proposal', { action: t('ops.risk.action.' + p.action), rule: p.rule_id, by: who(p.proposed_by), at: fmtTime(p.proposed_at) })),
        p.spec ? h('p', { class: 'small mono' }, t('ops.risk.decision.' + p.spec.decision) + ' · ' + riskSummary(p.spec)) : null,
        h('div', { class: 'lc-actions' },
          h('button', { type: 'button', class: 'btn btn-primary', disabled: !!why, title: why, onclick: async () => {
            try { await api.post('/risk/proposals/' + enc(p.id) + '/approve', {}); toast(t('ops.lim.approved')); } catch (err) { pend.fail(err, describe); }
            loadPending(); loadRules();
          } }, t('ops.lim.approve')),
          h('button', { type: 'button', class: 'btn btn-danger', disabled: !!why, title: why, onclick: async () => {
            const ok = await confirmDialog({ title: t('ops.lim.rejectTitle'), body: '', confirmLabel: t('ops.lim.reject'), danger: true, reasonLabel: t('ops.lim.reason') });
            if (!ok) return;
            try { await api.post('/risk/proposals/' + enc(p.id) + '/reject', { reason: ok.reason }); toast(t('ops.lim.rejected')); } catch (err) { pend.fail(err, describe); }
            loadPending();
          } }, t('ops.lim.reject')),
          why ? h('span', { class: 'small muted' }, why) : null)));
    }
  };

  const loadRules = async () => {
    let res;
    try { res = await api.get('/risk/rules?limit=500'); } catch (err) { rules.fail(err, describe); clear(rules.body); return; }
    rules.ok(); clear(rules.body);
    if (res.items.length === 0) { rules.body.append(h('p', { class: 'empty' }, t('ops.risk.empty'))); return; }
    rules.body.append(table(['name', 'kind', 'decision', 'params', 'action'], res.items.map((r) => h('tr', { 'data-rule': r.id },
      h('th', { scope: 'row' }, h('div', {}, r.name), h('div', { class: 'small muted mono' }, r.id + ' · v' + r.version)),
      h('td', { class: 'nowrap' }, t('ops.risk.kind.' + r.kind)),
      h('td', { class: 'nowrap' }, t('ops.risk.decision.' + r.decision)),
      h('td', { class: 'small mono wide' }, riskSummary(r)),
      h('td', { class: 'nowrap' }, h('button', { type: 'button', class: 'btn', disabled: !mayAct, title: mayAct ? null : t('ops.notYours'),
        'aria-label': t('ops.risk.editName', { name: r.name }), onclick: () => editRule(r) }, t('ops.risk.edit'))))), 'ops.risk.col.'));
  };

  const editRule = async (shown) => {
    // The rule as it is now (the list may be older): its version goes in If-Match.
    let r;
    try { r = await api.get('/risk/rules/' + enc(shown.id)); } catch (err) { rules.fail(err, describe); return; }
    const name = h('input', { id: 're-name', name: 'name', value: r.name, maxlength: 100 });
    const decision = h('select', { id: 're-decision', name: 'decision' }, DECISIONS.map((d) => h('option', { value: d }, t('ops.risk.decision.' + d))));
    decision.value = r.decision;
    const f = riskFields('re-', r.kind, r);
    const err = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const dlg = h('dialog', { class: 'dialog dialog-wide', 'aria-labelledby': 're-title' });
    const form = h('form', { novalidate: true },
      h('h2', { id: 're-title' }, t('ops.risk.editTitle', { name: r.name })),
      h('p', { class: 'small muted' }, t('ops.risk.kind.' + r.kind) + ' · ' + r.id),
      h('div', { class: 'field' }, h('label', { for: 're-name' }, t('ops.risk.f.name')), name),
      h('div', { class: 'field' }, h('label', { for: 're-decision' }, t('ops.risk.f.decision')), decision),
      f.nodes, err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('btn.cancel')),
        h('button', { type: 'submit', class: 'btn btn-primary' }, t('ops.risk.save'))));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const body = { name: name.value.trim(), decision: decision.value, ...f.read(form) };
        const res = await versioned('PATCH', '/risk/rules/' + enc(r.id), r.version, body);
        dlg.close();
        if (res && res.proposal) { toast(t('ops.risk.proposed')); loadPending(); } else toast(t('ops.risk.tightened', { name: body.name }));
        loadRules();
      } catch (x) { err.textContent = x instanceof ApiError ? describe(x) + (x.code === 'INVALID' ? ' ' + x.message : '') : x.message; err.hidden = false; }
    });
    dlg.append(form);
    dlg.addEventListener('close', () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
    name.focus();
  };

  // Creating a rule.
  const drawCreate = (kind = 'amount') => {
    clear(create.body);
    const name = h('input', { id: 'rn-name', name: 'name', maxlength: 100, disabled: !mayAct });
    const kindSel = h('select', { id: 'rn-kind', name: 'kind', disabled: !mayAct }, RISK_KINDS.map((k) => h('option', { value: k }, t('ops.risk.kind.' + k))));
    kindSel.value = kind;
    const decision = h('select', { id: 'rn-decision', name: 'decision', disabled: !mayAct }, DECISIONS.map((d) => h('option', { value: d }, t('ops.risk.decision.' + d))));
    decision.value = 'reject';
    const f = riskFields('rn-', kind);
    const form = h('form', { novalidate: true },
      h('div', { class: 'grid-3' },
        h('div', { class: 'field' }, h('label', { for: 'rn-name' }, t('ops.risk.f.name')), name),
        h('div', { class: 'field' }, h('label', { for: 'rn-kind' }, t('ops.risk.f.kind')), kindSel),
        h('div', { class: 'field' }, h('label', { for: 'rn-decision' }, t('ops.risk.f.decision')), decision)),
      h('div', { class: 'grid-2' }, f.nodes),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', disabled: !mayAct, title: mayAct ? null : t('ops.notYours') }, t('ops.risk.create'))));
    for (const x of form.querySelectorAll('input')) x.disabled = !mayAct;
    kindSel.addEventListener('change', () => { const n = name.value; drawCreate(kindSel.value); create.body.querySelector('#rn-name').value = n; });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const body = { name: name.value.trim(), kind: kindSel.value, decision: decision.value, ...f.read(form) };
        if (!body.apis.length) delete body.apis;
        const r = await api.post('/risk/rules', body);
        create.ok();
        toast(t('ops.risk.created', { name: r.name }));
        drawCreate(kindSel.value);
        loadRules();
      } catch (x) { showErr(create)(x); }
    });
    create.body.append(form);
  };
  drawCreate();
  loadRules();
  loadPending();
}

// ---- breakers --------------------------------------------------------------

// metricsText reads GET /admin/api/v1/metrics, which answers in the
// Prometheus text format rather than JSON.
async function metricsText() {
  const resp = await fetch(ADMIN_API + '/metrics', { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/plain' } });
  if (!resp.ok) {
    let body = null;
    try { body = await resp.json(); } catch { /* not JSON */ }
    throw new ApiError(resp.status, body, '/metrics');
  }
  return resp.text();
}

function breakersTab({ root, describe, can }) {
  const sec = section(root, 'ops-brk', t('ops.tab.breakers'), t('ops.brk.intro'));
  if (!can('operator', 'auditor')) { clear(sec.body).append(h('p', { class: 'alert alert-info' }, t('ops.brk.notYours'))); return; }
  const load = async () => {
    let text;
    try { text = await metricsText(); } catch (err) { sec.fail(err, describe); clear(sec.body); return; }
    sec.ok();
    const br = new Map();
    for (const line of text.split('\n')) {
      const m = /^lijiang_breaker_(open|consecutive_failures)\{target="((?:[^"\\]|\\.)*)"\}\s+(\S+)/.exec(line);
      if (!m) continue;
      const b = br.get(m[2]) || { target: m[2].replace(/\\(.)/g, '$1'), open: 0, failures: 0 };
      if (m[1] === 'open') b.open = Number(m[3]); else b.failures = Number(m[3]);
      br.set(m[2], b);
    }
    clear(sec.body).append(h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'btn', onclick: load }, t('ops.brk.refresh'))));
    if (br.size === 0) { sec.body.append(h('p', { class: 'empty' }, t('ops.brk.empty'))); return; }
    sec.body.append(table(['target', 'state', 'failures'], [...br.values()].map((b) => h('tr', { 'data-target': b.target },
      h('th', { scope: 'row', class: 'mono' }, b.target),
      h('td', { class: 'nowrap' }, b.open ? h('span', { class: 'badge badge-paused' }, t('ops.brk.open')) : h('span', { class: 'badge badge-ok' }, t('ops.brk.closed'))),
      h('td', { class: 'nowrap' }, String(b.failures)))), 'ops.brk.col.'));
  };
  load();
  const timer = setInterval(load, 15000);
  return () => clearInterval(timer);
}

// ---- alerts ----------------------------------------------------------------

// deliveryText says where an alert's webhook delivery stands.
function deliveryText(d) {
  const n = d.attempts || 0;
  if (d.status === 'delivered') return t('ops.alr.dlv.delivered', { n });
  if (d.status === 'failed') return t('ops.alr.dlv.failed', { n, err: d.last_error || (d.last_status ? 'HTTP ' + d.last_status : '') });
  if (n === 0 || !d.next_attempt_at) return t('ops.alr.dlv.pendingNew');
  return t('ops.alr.dlv.pending', { n, at: fmtTime(d.next_attempt_at) });
}

function alertsTab({ root, api, describe, can, who }) {
  const mayAct = can('operator');
  root.append(h('p', { class: 'muted' }, t('ops.alr.intro')));
  const sec = section(root, 'ops-alerts', t('ops.tab.alerts'));
  const delivery = h('p', { class: 'small muted', 'data-testid': 'alert-delivery' });
  const state = h('select', { id: 'alr-state', name: 'state', onchange: () => load() }, ['open', 'acked', 'resolved', 'all'].map((s) => h('option', { value: s }, t('ops.alr.state.' + s))));
  const list = h('div', {});
  if (!mayAct) sec.body.before(h('p', { class: 'alert alert-info' }, t('ops.alr.notYours')));
  const load = async (background = false) => {
    let res;
    try { res = await api.get('/alerts?state=' + state.value, { background }); } catch (err) { sec.fail(err, describe); return; }
    sec.ok(); clear(list);
    if (res.items.length === 0) { list.append(h('p', { class: 'empty' }, state.value === 'open' ? t('ops.alr.empty') : t('ops.alr.emptyAll'))); return; }
    list.append(table(['alert', 'subject', 'raised', 'state', 'action'], res.items.map((a) => {
      const kind = t('ops.alr.kind.' + a.kind);
      const stateCell = h('div', {}, h('span', { class: 'badge ' + (a.state === 'open' ? 'badge-danger' : a.state === 'acked' ? 'badge-warn' : 'badge-ok') }, t('ops.alr.state.' + a.state)),
        a.acked_at ? h('div', { class: 'small muted' }, t('ops.alr.ackedBy', { by: who(a.acked_by), at: fmtTime(a.acked_at) })) : null,
        a.ack_note ? h('div', { class: 'small muted' }, t('ops.alr.note', { note: a.ack_note })) : null,
        a.resolved_at ? h('div', { class: 'small muted' }, t('ops.alr.resolvedAt', { at: fmtTime(a.resolved_at) })) : null,
        a.delivery ? h('div', { class: 'small muted', 'data-testid': 'alert-delivery-state' }, deliveryText(a.delivery)) : null);
      return h('tr', { 'data-alert': a.id, 'data-kind': a.kind },
        h('th', { scope: 'row', class: 'wide' }, h('div', {}, kind === 'ops.alr.kind.' + a.kind ? a.kind : kind), h('div', { class: 'small muted' }, a.message)),
        h('td', { class: 'mono small' }, a.subject),
        h('td', { class: 'nowrap small' }, fmtTime(a.raised_at)),
        h('td', {}, stateCell),
        h('td', { class: 'nowrap' }, a.state === 'open' ? h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'ack', disabled: !mayAct,
          title: mayAct ? null : t('ops.alr.notYours'), 'aria-label': t('ops.alr.ackName', { kind, subject: a.subject }), onclick: async () => {
            const ok = await confirmDialog({ title: t('ops.alr.ackTitle'), body: kind + ' · ' + a.subject + ' — ' + a.message, confirmLabel: t('ops.alr.ackOk'), reasonLabel: t('ops.alr.ackNote') });
            if (!ok) return;
            try { await api.post('/alerts/' + enc(a.id) + '/ack', ok.reason ? { note: ok.reason } : {}); toast(t('ops.alr.acked')); } catch (err) { sec.fail(err, describe); }
            load();
          } }, t('ops.alr.ack')) : null));
    }), 'ops.alr.col.'));
  };
  clear(sec.body).append(delivery, h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'alr-state' }, t('ops.alr.state')), state),
    h('button', { type: 'button', class: 'btn', onclick: () => load() }, t('ops.refresh'))), list);
  if (can('admin')) {
    api.get('/alert-webhook').then((w) => { delivery.textContent = w.url ? t('ops.alr.webhook', { url: w.url }) : t('ops.alr.noWebhook'); }).catch(() => {});
  } else delivery.hidden = true;
  load();
  const timer = setInterval(() => load(true), 10000);
  return () => clearInterval(timer);
}
