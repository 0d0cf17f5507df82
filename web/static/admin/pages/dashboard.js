// Dashboard (stub): calls per second over the last hour across the cluster,
// from GET /admin/api/v1/series, drawn with uPlot. More charts (latency,
// success rate, per API and app, health) belong here later.

import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { h, clear } from '../../js/dom.js';
import { t, fmtNumber, fmtTime } from '../../js/i18n.js';

export const strings = {
  'zh-CN': {
    'dash.title': '概览',
    'dash.calls': '每秒调用量（全集群，最近 1 小时）',
    'dash.callsAxis': '次/秒',
    'dash.now': '最近 10 秒',
    'dash.peak': '峰值',
    'dash.total': '一小时内调用总数',
    'dash.nodes': '统计节点：{nodes}',
    'dash.unreachable': '以下节点未响应，数据不含其调用：{nodes}',
    'dash.empty': '最近一小时没有 API 调用。应用发起调用后，图表会在 10 秒内更新。',
    'dash.updated': '更新于 {time}，每 10 秒自动刷新',
  },
  en: {
    'dash.title': 'Dashboard',
    'dash.calls': 'Calls per second (whole cluster, last hour)',
    'dash.callsAxis': 'calls/s',
    'dash.now': 'Last 10 s',
    'dash.peak': 'Peak',
    'dash.total': 'Calls in the hour',
    'dash.nodes': 'Nodes counted: {nodes}',
    'dash.unreachable': 'These nodes did not answer; their calls are missing: {nodes}',
    'dash.empty': 'No API calls in the last hour. Once apps call, the chart updates within 10 seconds.',
    'dash.updated': 'Updated {time}; refreshes every 10 seconds',
  },
};

const SERIES = '/series?metric=calls&scope=cluster&range=1h';

export function render({ root, api, describe }) {
  const status = h('p', { class: 'alert', role: 'status', hidden: true });
  const stats = h('div', { class: 'stats' });
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': t('dash.calls') });
  const foot = h('p', { class: 'muted small' });
  root.append(
    h('h1', {}, t('dash.title')),
    h('section', { class: 'card' }, h('h2', {}, t('dash.calls')), status, stats, chartBox, foot));

  let plot = null;
  const width = () => Math.max(280, chartBox.clientWidth || 600);
  const draw = (ans) => {
    const xs = ans.points.map((p) => p.t);
    const ys = ans.points.map((p) => p.v);
    const vals = ys.filter((v) => v !== null);
    const total = vals.reduce((a, v) => a + v * ans.step_seconds, 0);
    clear(stats).append(
      stat(t('dash.now'), fmtNumber(vals.length ? vals[vals.length - 1] : 0)),
      stat(t('dash.peak'), fmtNumber(vals.length ? Math.max(...vals) : 0)),
      stat(t('dash.total'), fmtNumber(Math.round(total), 0)));
    if (total === 0) { status.className = 'alert alert-info'; status.textContent = t('dash.empty'); status.hidden = false; }
    else if (ans.unreachable && ans.unreachable.length) {
      status.className = 'alert alert-warn';
      status.textContent = t('dash.unreachable', { nodes: ans.unreachable.map((u) => u.node).join(', ') });
      status.hidden = false;
    } else status.hidden = true;
    foot.textContent = t('dash.nodes', { nodes: (ans.nodes || []).join(', ') }) + ' · ' + t('dash.updated', { time: fmtTime(new Date(), { timeStyle: 'medium' }) });
    if (plot) { plot.setData([xs, ys]); return; }
    plot = new uPlot({
      width: width(), height: 260,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{ values: (u, splits) => splits.map((s) => fmtTime(s, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })) },
        { label: t('dash.callsAxis') }],
      series: [{}, { label: t('dash.callsAxis'), stroke: '#0a5ea8', width: 2, fill: 'rgba(10, 94, 168, 0.12)', spanGaps: true }],
      legend: { show: false },
    }, [xs, ys], chartBox);
  };
  const load = async (background) => {
    if (background && document.hidden) return;
    try {
      draw(await api.get(SERIES, { background }));
    } catch (err) {
      status.className = 'alert alert-error';
      status.textContent = describe(err);
      status.hidden = false;
    }
  };
  load(false);
  const every = setInterval(() => load(true), 10000);
  const onResize = () => plot && plot.setSize({ width: width(), height: 260 });
  window.addEventListener('resize', onResize);
  return () => { clearInterval(every); window.removeEventListener('resize', onResize); if (plot) plot.destroy(); };
}

function stat(name, value) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-name' }, name));
}
