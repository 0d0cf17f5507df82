// Dashboard: the gateway's traffic and health at a glance.
//   - calls per second, p50/p99 latency and success rate over the last hour
//     (10 s steps) or day (5 min steps), for the whole cluster, one API or
//     one app: GET /series (metric, scope=cluster, range, api | app);
//   - the most frequent failure codes: this node's lijiang_calls_total in
//     GET /metrics (Prometheus text; counted since the node started);
//   - health: this node's Raft state, audit store and circuit breakers (GET
//     /metrics) and the cluster's members (GET /cluster).
// Charts are drawn with the vendored uPlot.

import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { h, clear } from '../../js/dom.js';
import { t, fmtNumber, fmtTime, lang } from '../../js/i18n.js';
import { ApiError, ADMIN_API } from '../../js/api.js';

export const strings = {
  'zh-CN': {
    'dash.title': '概览',
    'dash.intro': '全集群的调用量、延迟和成功率，以及节点与集群的健康状况。可按 API 或应用查看。',
    'dash.range': '时间范围',
    'dash.time': '时间',
    'dash.range.1h': '最近 1 小时',
    'dash.range.1d': '最近 1 天',
    'dash.filter': '查看',
    'dash.filter.all': '全集群（全部调用）',
    'dash.filter.apis': '按 API',
    'dash.filter.apps': '按应用',
    'dash.other': '其他（超出统计上限的部分）',
    'dash.calls': '每秒调用量',
    'dash.callsAxis': '次/秒',
    'dash.latency': '延迟（毫秒）',
    'dash.latencyAxis': '毫秒',
    'dash.success': '成功率（状态码低于 400 的调用占比）',
    'dash.successAxis': '%',
    'dash.stat.total': '调用总数',
    'dash.stat.avg': '平均每秒',
    'dash.stat.peak': '每秒峰值',
    'dash.stat.p99': '最近 p99 延迟',
    'dash.stat.success': '成功率',
    'dash.nodes': '统计节点：{nodes}',
    'dash.unreachable': '以下节点未响应，数据不含其调用：{nodes}',
    'dash.empty': '所选时间范围内没有调用。应用发起调用后，图表会在 10 秒内更新。',
    'dash.emptyFilter': '所选时间范围内 {what} 没有调用。可切换到“全集群”或更长的时间范围。',
    'dash.updated': '更新于 {time}，每 {seconds} 秒自动刷新',
    'dash.codes': '最常见的失败代码',
    'dash.codesNote': '本节点自启动以来的累计数（来自 GET /metrics），不限于所选时间范围。',
    'dash.codesApiNote': '仅显示所选 API 的调用。',
    'dash.codesAppNote': '失败代码不按应用统计，此处为全部应用的调用。',
    'dash.codesEmpty': '本节点自启动以来没有失败的调用。',
    'dash.col.code': '代码',
    'dash.col.count': '次数',
    'dash.col.share': '占失败调用',
    'dash.col.apis': '主要涉及的 API',
    'dash.noApi': '（未匹配到 API）',
    'dash.health': '节点与集群健康',
    'dash.node': '本节点',
    'dash.raft': 'Raft 状态',
    'dash.audit': '审计存储',
    'dash.auditOk': '正常',
    'dash.auditDown': '不可用：A2 调用将被拒绝，请运维人员查看节点日志',
    'dash.breakers': '上游熔断',
    'dash.breakersNone': '无熔断',
    'dash.breakersOpen': '{n} 个上游已熔断：{targets}',
    'dash.ready': '就绪',
    'dash.notReady': '未就绪',
    'dash.readyLine': '{ready} · Raft 状态：{state}',
    'dash.cluster': '集群成员',
    'dash.clusterSummary': '领导者 {leader}，任期 {term}，{reachable}/{total} 个成员可达',
    'dash.noLeader': '当前没有领导者：集群无法处理变更。请运维人员检查各节点是否运行以及网络是否连通。',
    'dash.col.member': '节点',
    'dash.col.state': '状态',
    'dash.col.lag': '落后条目',
    'dash.col.contact': '距上次联系',
    'dash.col.reach': '可达',
    'dash.voter': '投票成员',
    'dash.nonvoter': '非投票成员',
    'dash.yes': '可达',
    'dash.no': '不可达',
    'dash.ms': '{n} 毫秒',
    'dash.state.Leader': '领导者',
    'dash.state.Follower': '跟随者',
    'dash.state.Candidate': '选举中',
    'dash.state.Shutdown': '已停止',
  },
  en: {
    'dash.title': 'Dashboard',
    'dash.intro': 'Calls, latency and success rate across the cluster, and the health of this node and the cluster. View one API or app with the selector.',
    'dash.range': 'Time range',
    'dash.time': 'Time',
    'dash.range.1h': 'Last hour',
    'dash.range.1d': 'Last day',
    'dash.filter': 'Show',
    'dash.filter.all': 'Whole cluster (all calls)',
    'dash.filter.apis': 'By API',
    'dash.filter.apps': 'By app',
    'dash.other': 'Other (beyond the series bound)',
    'dash.calls': 'Calls per second',
    'dash.callsAxis': 'calls/s',
    'dash.latency': 'Latency (ms)',
    'dash.latencyAxis': 'ms',
    'dash.success': 'Success rate (calls answered below status 400)',
    'dash.successAxis': '%',
    'dash.stat.total': 'Calls',
    'dash.stat.avg': 'Average per second',
    'dash.stat.peak': 'Peak per second',
    'dash.stat.p99': 'Latest p99 latency',
    'dash.stat.success': 'Success rate',
    'dash.nodes': 'Nodes counted: {nodes}',
    'dash.unreachable': 'These nodes did not answer; their calls are missing: {nodes}',
    'dash.empty': 'No calls in the chosen range. Once apps call, the charts update within 10 seconds.',
    'dash.emptyFilter': 'No calls of {what} in the chosen range. Try the whole cluster or the longer range.',
    'dash.updated': 'Updated {time}; refreshes every {seconds} seconds',
    'dash.codes': 'Most frequent failure codes',
    'dash.codesNote': 'This node, counted since it started (from GET /metrics), whatever the range above.',
    'dash.codesApiNote': 'Calls of the chosen API only.',
    'dash.codesAppNote': 'Failure codes are not counted per app: these are all apps\' calls.',
    'dash.codesEmpty': 'No failed calls on this node since it started.',
    'dash.col.code': 'Code',
    'dash.col.count': 'Calls',
    'dash.col.share': 'Share of failures',
    'dash.col.apis': 'Mostly on',
    'dash.noApi': '(no API matched)',
    'dash.health': 'Node and cluster health',
    'dash.node': 'This node',
    'dash.raft': 'Raft state',
    'dash.audit': 'Audit store',
    'dash.auditOk': 'OK',
    'dash.auditDown': 'Unavailable: A2 calls are refused; an operator should read the node\'s log',
    'dash.breakers': 'Upstream breakers',
    'dash.breakersNone': 'None open',
    'dash.breakersOpen': '{n} upstream(s) cut off: {targets}',
    'dash.ready': 'Ready',
    'dash.notReady': 'Not ready',
    'dash.readyLine': '{ready} · Raft state: {state}',
    'dash.cluster': 'Cluster members',
    'dash.clusterSummary': 'Leader {leader}, term {term}, {reachable}/{total} members reachable',
    'dash.noLeader': 'No leader now: the cluster cannot make changes. An operator should check that the nodes run and can reach each other.',
    'dash.col.member': 'Node',
    'dash.col.state': 'State',
    'dash.col.lag': 'Entries behind',
    'dash.col.contact': 'Last contact',
    'dash.col.reach': 'Reachable',
    'dash.voter': 'Voter',
    'dash.nonvoter': 'Non-voter',
    'dash.yes': 'Yes',
    'dash.no': 'No',
    'dash.ms': '{n} ms',
    'dash.state.Leader': 'Leader',
    'dash.state.Follower': 'Follower',
    'dash.state.Candidate': 'Candidate',
    'dash.state.Shutdown': 'Shut down',
  },
};

const METRICS = ['calls', 'latency_p50', 'latency_p99', 'success_rate'];
const RANGES = { '1h': { seconds: 3600, refresh: 10 }, '1d': { seconds: 86400, refresh: 60 } };
const COLORS = { calls: '#0a5ea8', p50: '#16794c', p99: '#c8a24a', success: '#0b3a6e' };

export function render({ root, api, describe }) {
  const state = { range: '1h', filter: '' }; // filter: '', 'api:<id>' or 'app:<id>'
  let apis = [];

  // ---- controls: range switch and the API/app selector ----
  const rangeBtns = Object.keys(RANGES).map((r) => h('button', {
    type: 'button', class: 'btn seg-btn', 'data-range': r, 'aria-pressed': String(r === state.range),
    onclick: () => { if (state.range !== r) { state.range = r; syncRange(); reload(); } },
  }, t('dash.range.' + r)));
  const syncRange = () => rangeBtns.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.range === state.range)));
  const select = h('select', { id: 'dash-filter', name: 'filter', onchange: () => { state.filter = select.value; reload(); } },
    h('option', { value: '' }, t('dash.filter.all')));
  const controls = h('div', { class: 'dash-controls' },
    h('div', { class: 'dash-control' }, h('span', { class: 'dash-label', id: 'dash-range-label' }, t('dash.range')),
      h('div', { class: 'seg', role: 'group', 'aria-labelledby': 'dash-range-label' }, rangeBtns)),
    h('div', { class: 'dash-control dash-select' }, h('label', { for: 'dash-filter', class: 'dash-label' }, t('dash.filter')), select));

  // ---- traffic ----
  const status = h('p', { class: 'alert', role: 'status', hidden: true });
  const stats = h('div', { class: 'stats' });
  const boxes = {
    calls: h('div', { class: 'chart', role: 'img', 'aria-label': t('dash.calls') }),
    latency: h('div', { class: 'chart', role: 'img', 'aria-label': t('dash.latency') }),
    success: h('div', { class: 'chart', role: 'img', 'aria-label': t('dash.success') }),
  };
  const foot = h('p', { class: 'muted small' });
  const chartCard = (title, box) => h('section', { class: 'card dash-chart' }, h('h2', {}, title), box);

  // ---- failure codes and health ----
  const codesBody = h('div', {});
  const codesNote = h('p', { class: 'muted small' });
  const healthStatus = h('div', {});
  const nodeBody = h('div', {});
  const clusterBody = h('div', {});

  root.append(
    h('h1', {}, t('dash.title')),
    h('p', { class: 'muted' }, t('dash.intro')),
    h('section', { class: 'card' }, controls, status, stats, foot),
    h('div', { class: 'dash-grid dash-charts' },
      chartCard(t('dash.calls'), boxes.calls),
      chartCard(t('dash.latency'), boxes.latency),
      chartCard(t('dash.success'), boxes.success)),
    h('div', { class: 'dash-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'dash-codes' }, h('h2', { id: 'dash-codes' }, t('dash.codes')), codesNote, codesBody),
      h('section', { class: 'card', 'aria-labelledby': 'dash-health' }, h('h2', { id: 'dash-health' }, t('dash.health')), healthStatus,
        h('h3', { class: 'dash-h3' }, t('dash.node')), nodeBody, h('h3', { class: 'dash-h3' }, t('dash.cluster')), clusterBody)));

  const plots = {};
  const width = (box) => Math.max(260, box.clientWidth || 500);
  // Hour view: HH:mm; day view: HH:mm, and the date at midnight.
  const axisTime = () => ({ space: 70, values: (u, splits) => splits.map((s) => {
    const d = new Date(s * 1000);
    if (state.range === '1d' && d.getHours() === 0 && d.getMinutes() === 0) return fmtTime(d, { month: 'numeric', day: 'numeric' });
    return fmtTime(d, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  }) });
  const makePlot = (key, series, yRange, data, fmt) => {
    if (plots[key]) { plots[key].setData(data); return; }
    clear(boxes[key]);
    plots[key] = new uPlot({
      width: width(boxes[key]), height: 220,
      scales: { x: { time: true }, y: { range: yRange } },
      axes: [axisTime(), { size: 56, values: (u, splits) => splits.map((v) => fmtNumber(v, 1)) }],
      series: [{ label: t('dash.time'), value: (u, v) => (v == null ? '—' : fmtTime(v, { dateStyle: 'short', timeStyle: 'medium' })) },
        ...series.map((s) => ({ ...s, value: (u, v) => (v == null ? '—' : fmt(v)) }))],
      legend: { show: true, live: true },
    }, data, boxes[key]);
  };
  const destroyPlots = () => { for (const k of Object.keys(plots)) { plots[k].destroy(); delete plots[k]; } };

  const query = (metric) => {
    let q = `/series?metric=${metric}&scope=cluster&range=${state.range}`;
    if (state.filter.startsWith('api:')) q += '&api=' + encodeURIComponent(state.filter.slice(4));
    if (state.filter.startsWith('app:')) q += '&app=' + encodeURIComponent(state.filter.slice(4));
    return q;
  };

  const drawTraffic = ([calls, p50, p99, success]) => {
    const xs = calls.points.map((p) => p.t);
    const cv = calls.points.map((p) => p.v);
    const step = calls.step_seconds;
    const total = cv.reduce((a, v) => a + (v || 0) * step, 0);
    const peak = Math.max(0, ...cv.filter((v) => v !== null));
    const lastP99 = [...p99.points].reverse().find((p) => p.v !== null);
    let ok = 0; let all = 0;
    success.points.forEach((p, i) => { if (p.v !== null && cv[i]) { ok += p.v * cv[i]; all += cv[i]; } });
    clear(stats).append(
      stat(t('dash.stat.total'), fmtNumber(Math.round(total), 0)),
      stat(t('dash.stat.avg'), fmtSmall(total / RANGES[state.range].seconds)),
      stat(t('dash.stat.peak'), fmtNumber(peak)),
      stat(t('dash.stat.p99'), lastP99 ? t('dash.ms', { n: fmtNumber(lastP99.v * 1000, 1) }) : '—'),
      stat(t('dash.stat.success'), all ? fmtNumber((ok / all) * 100, 2) + '%' : '—'));
    if (total === 0) {
      status.className = 'alert alert-info';
      status.textContent = state.filter ? t('dash.emptyFilter', { what: select.selectedOptions[0].textContent }) : t('dash.empty');
      status.hidden = false;
    } else if (calls.unreachable && calls.unreachable.length) {
      status.className = 'alert alert-warn';
      status.textContent = t('dash.unreachable', { nodes: calls.unreachable.map((u) => u.node).join(', ') });
      status.hidden = false;
    } else status.hidden = true;
    foot.textContent = t('dash.nodes', { nodes: (calls.nodes || []).join(', ') }) + ' · '
      + t('dash.updated', { time: fmtTime(new Date(), { timeStyle: 'medium' }), seconds: RANGES[state.range].refresh });
    const ms = (s) => s.points.map((p) => (p.v === null ? null : p.v * 1000));
    makePlot('calls', [{ label: t('dash.callsAxis'), stroke: COLORS.calls, width: 2, fill: 'rgba(10, 94, 168, 0.12)', spanGaps: true }],
      (u, min, max) => [0, Math.max(1, max * 1.1)], [xs, cv], (v) => fmtNumber(v));
    makePlot('latency', [{ label: 'p50', stroke: COLORS.p50, width: 2, points: { show: true, size: 5 } }, { label: 'p99', stroke: COLORS.p99, width: 2, points: { show: true, size: 5 } }],
      (u, min, max) => [0, Math.max(1, max * 1.1)], [xs, ms(p50), ms(p99)], (v) => t('dash.ms', { n: fmtNumber(v, 1) }));
    makePlot('success', [{ label: t('dash.stat.success'), stroke: COLORS.success, width: 2, points: { show: true, size: 5 } }],
      () => [0, 100], [xs, success.points.map((p) => (p.v === null ? null : p.v * 100))], (v) => fmtNumber(v, 2) + '%');
  };

  const loadTraffic = async (background) => {
    try {
      drawTraffic(await Promise.all(METRICS.map((m) => api.get(query(m), { background }))));
    } catch (err) {
      status.className = 'alert alert-error';
      status.textContent = describe(err);
      status.hidden = false;
    }
  };

  const loadHealth = async (background) => {
    let metrics = null;
    try {
      metrics = parseMetrics(await metricsText());
    } catch (err) {
      clear(codesBody).append(h('p', { class: 'alert alert-error', role: 'alert' }, describe(err)));
      clear(nodeBody).append(h('p', { class: 'alert alert-error', role: 'alert' }, describe(err)));
    }
    if (metrics) { drawCodes(metrics); drawNode(metrics); }
    try {
      drawCluster(await api.get('/cluster', { background }));
    } catch (err) {
      clear(clusterBody).append(h('p', { class: 'alert alert-error', role: 'alert' }, describe(err)));
    }
  };

  const apiName = (id) => {
    const a = apis.find((x) => x.id === id);
    return a ? `${a.method} ${a.path}` : (id || t('dash.noApi'));
  };

  const drawCodes = (metrics) => {
    const byCode = new Map();
    const onlyApi = state.filter.startsWith('api:') ? state.filter.slice(4) : null;
    for (const m of metrics.filter((x) => x.name === 'lijiang_calls_total' && x.labels.code !== 'OK')) {
      if (onlyApi && m.labels.api !== onlyApi) continue;
      const e = byCode.get(m.labels.code) || { n: 0, apis: new Map() };
      e.n += m.value;
      e.apis.set(m.labels.api, (e.apis.get(m.labels.api) || 0) + m.value);
      byCode.set(m.labels.code, e);
    }
    codesNote.textContent = t('dash.codesNote') + (onlyApi ? ' ' + t('dash.codesApiNote') : '')
      + (state.filter.startsWith('app:') ? ' ' + t('dash.codesAppNote') : '');
    const rows = [...byCode.entries()].filter(([, e]) => e.n > 0).sort((a, b) => b[1].n - a[1].n).slice(0, 8);
    const failures = rows.reduce((a, [, e]) => a + e.n, 0);
    if (!rows.length) { clear(codesBody).append(h('p', { class: 'empty' }, t('dash.codesEmpty'))); return; }
    clear(codesBody).append(h('div', { class: 'table-wrap' }, h('table', { class: 'table dash-codes' },
      h('thead', {}, h('tr', {}, ['dash.col.code', 'dash.col.count', 'dash.col.share', 'dash.col.apis'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows.map(([code, e]) => {
        const share = e.n / failures;
        const top = [...e.apis.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([id]) => apiName(id)).join('、');
        const bar = h('span', { class: 'dash-bar' });
        bar.style.width = Math.max(2, Math.round(share * 100)) + '%';
        return h('tr', { 'data-code': code },
          h('th', { scope: 'row', class: 'mono' }, code),
          h('td', { class: 'nowrap' }, fmtNumber(e.n, 0)),
          h('td', { class: 'dash-share' }, h('span', { class: 'dash-bar-track' }, bar), fmtNumber(share * 100, 1) + '%'),
          h('td', { class: 'small' }, top));
      })))));
  };

  const drawNode = (metrics) => {
    const gauge = (name) => metrics.filter((m) => m.name === name);
    const raft = gauge('lijiang_raft_state').find((m) => m.value === 1);
    const raftState = raft ? raft.labels.state : 'Shutdown';
    const auditOk = (gauge('lijiang_audit_ready')[0] || { value: 0 }).value === 1;
    const open = gauge('lijiang_breaker_open').filter((m) => m.value === 1).map((m) => m.labels.target);
    const ready = (raftState === 'Leader' || raftState === 'Follower') && auditOk;
    clear(healthStatus).append(h('p', { class: 'alert ' + (ready && !open.length ? 'alert-ok' : 'alert-warn'), role: 'status' },
      t('dash.readyLine', { ready: ready ? t('dash.ready') : t('dash.notReady'), state: t('dash.state.' + raftState) })));
    clear(nodeBody).append(h('dl', { class: 'dash-dl' },
      h('dt', {}, t('dash.raft')), h('dd', {}, badge(t('dash.state.' + raftState), raftState === 'Leader' || raftState === 'Follower')),
      h('dt', {}, t('dash.audit')), h('dd', {}, auditOk ? badge(t('dash.auditOk'), true) : badge(t('dash.auditDown'), false)),
      h('dt', {}, t('dash.breakers')), h('dd', {}, open.length
        ? badge(t('dash.breakersOpen', { n: open.length, targets: open.join(', ') }), false) : badge(t('dash.breakersNone'), true))));
  };

  const drawCluster = (st) => {
    const members = st.members || [];
    const reachable = members.filter((m) => m.reachable).length;
    const parts = [];
    if (!st.leader_id) parts.push(h('p', { class: 'alert alert-error', role: 'alert' }, t('dash.noLeader')));
    else parts.push(h('p', {}, t('dash.clusterSummary', { leader: st.leader_id, term: st.term, reachable, total: members.length })));
    parts.push(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['dash.col.member', 'dash.col.state', 'dash.col.reach', 'dash.col.lag', 'dash.col.contact'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, members.map((m) => h('tr', { 'data-member': m.id },
        h('th', { scope: 'row' }, m.id, h('div', { class: 'muted small mono' }, m.admin_addr || m.address)),
        h('td', { class: 'nowrap' }, m.state ? t('dash.state.' + m.state) : '—',
          h('div', { class: 'muted small' }, t(m.suffrage === 'voter' ? 'dash.voter' : 'dash.nonvoter'))),
        h('td', { class: 'nowrap' }, badge(m.reachable ? t('dash.yes') : t('dash.no'), m.reachable)),
        h('td', { class: 'nowrap' }, m.lag === undefined ? '—' : fmtNumber(m.lag, 0)),
        h('td', { class: 'nowrap' }, m.last_contact_ms === undefined || m.last_contact_ms < 0 ? '—' : t('dash.ms', { n: fmtNumber(m.last_contact_ms, 0) }))))))));
    clear(clusterBody).append(...parts);
  };

  // The selector's options: every API and app (their names shown).
  const loadChoices = async () => {
    try {
      const [a, p] = await Promise.all([api.get('/apis?limit=500'), api.get('/apps?limit=500')]);
      apis = a.items || [];
      select.append(
        h('optgroup', { label: t('dash.filter.apis') }, apis.map((x) => h('option', { value: 'api:' + x.id }, `${x.method} ${x.path} · ${x.name}`)),
          h('option', { value: 'api:other' }, t('dash.other'))),
        h('optgroup', { label: t('dash.filter.apps') }, (p.items || []).map((x) => h('option', { value: 'app:' + x.id }, `${x.id} (${x.env})`)),
          h('option', { value: 'app:other' }, t('dash.other'))));
    } catch (err) {
      status.className = 'alert alert-error';
      status.textContent = describe(err);
      status.hidden = false;
    }
  };

  let every = null;
  const schedule = () => {
    clearInterval(every);
    every = setInterval(() => {
      if (document.hidden) return;
      loadTraffic(true);
      loadHealth(true);
    }, RANGES[state.range].refresh * 1000);
  };
  const reload = () => { destroyPlots(); loadTraffic(false); loadHealth(false); schedule(); };

  loadChoices().then(() => loadHealth(false));
  loadTraffic(false);
  schedule();
  const onResize = () => { for (const [k, p] of Object.entries(plots)) p.setSize({ width: width(boxes[k]), height: 220 }); };
  window.addEventListener('resize', onResize);
  return () => { clearInterval(every); window.removeEventListener('resize', onResize); destroyPlots(); };
}

function stat(name, value) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-name' }, name));
}

// fmtSmall shows a small rate with two significant digits (0.00010, not 0).
function fmtSmall(n) {
  if (n === 0 || n >= 0.01) return fmtNumber(n, 3);
  return new Intl.NumberFormat(lang(), { maximumSignificantDigits: 2 }).format(n);
}

function badge(text, ok) {
  return h('span', { class: ok ? 'badge badge-ok' : 'badge badge-paused' }, text);
}

// metricsText is GET /metrics (Prometheus text, not JSON); a refusal is an
// ApiError as api.get's are. A background read does not count as activity.
async function metricsText() {
  let resp;
  try {
    resp = await fetch(ADMIN_API + '/metrics', { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/plain' } });
  } catch {
    throw new ApiError(0, null, '/metrics');
  }
  const text = await resp.text();
  if (!resp.ok) {
    let body = null;
    try { body = JSON.parse(text); } catch { body = null; }
    throw new ApiError(resp.status, body, '/metrics');
  }
  return text;
}

// parseMetrics reads the samples of a Prometheus text exposition:
// [{name, labels, value}].
export function parseMetrics(text) {
  const out = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const l of text.split('\n')) {
    if (!l || l.startsWith('#')) continue;
    const m = line.exec(l);
    if (!m) continue;
    const labels = {};
    for (const lm of (m[2] || '').matchAll(label)) labels[lm[1]] = lm[2].replace(/\\(.)/g, (s, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}
