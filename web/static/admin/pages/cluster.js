// Cluster: the nodes of the cluster as each reports itself (GET
// /admin/api/v1/cluster): role, leader, term, applied index, lag behind the
// leader's commit index, reachability. Admins may show the join token new
// nodes pass with --join-token (GET /cluster/token), on request only: it is
// a secret, kept in the page's memory while shown and never in browser
// storage, and they may replace it (POST /cluster/token/rotate) after a
// confirmation.

import { h, clear, toast } from '../../js/dom.js';
import { t, lang, fmtTime, fmtNumber } from '../../js/i18n.js';
import { confirmDialog } from '../../js/dialog.js';

export const strings = {
  'zh-CN': {
    'cluster.title': '集群',
    'cluster.intro': '集群中每个节点自己报告的状态（每 10 秒刷新）。落后量是节点已应用的日志序号与领导者提交序号之差；持续增大说明该节点跟不上或与领导者失去联系。',
    'cluster.summary': '概况',
    'cluster.leader': '领导者',
    'cluster.noLeader': '没有领导者',
    'cluster.noLeaderHint': '集群当前没有领导者，无法处理任何变更。请检查多数节点是否在线、网络是否连通。',
    'cluster.term': '任期',
    'cluster.commit': '领导者提交序号',
    'cluster.members': '成员数',
    'cluster.viewFrom': '本页数据来自节点 {node}（{state}）。',
    'cluster.nodes': '节点',
    'cluster.col.node': '节点',
    'cluster.col.role': '角色',
    'cluster.col.state': '状态',
    'cluster.col.term': '任期',
    'cluster.col.applied': '已应用序号',
    'cluster.col.lag': '落后',
    'cluster.col.contact': '与领导者最近联系',
    'cluster.col.reach': '可达性',
    'cluster.voter': '投票成员',
    'cluster.nonvoter': '非投票成员',
    'cluster.isLeader': '领导者',
    'cluster.reachable': '可达',
    'cluster.unreachable': '不可达',
    'cluster.unreachableHint': '该节点没有及时应答：{error}。请检查该节点进程和网络；若已永久下线，请用 lijiang cluster remove 将其移出集群。',
    'cluster.contactLeader': '（本身是领导者）',
    'cluster.contactNever': '从未联系',
    'cluster.contactAgo': '{ms} 毫秒前',
    'cluster.lagOk': '同步',
    'cluster.lagN': '落后 {n}',
    'cluster.raft': 'Raft 地址 {addr}',
    'cluster.admin': '管理地址 {addr}',
    'cluster.state.Leader': '领导者',
    'cluster.state.Follower': '跟随者',
    'cluster.state.Candidate': '候选者',
    'cluster.state.Shutdown': '已停止',
    'cluster.registered': '已登记的节点',
    'cluster.registeredAt': '登记于 {at}',
    'cluster.token.title': '加入令牌',
    'cluster.token.intro': '新节点加入集群时需要通过 --join-token 传入此令牌。',
    'cluster.token.secret': '这是一个机密：持有它的人可以让新节点加入本集群。请只通过安全渠道交给部署新节点的人，不要截图、不要发到聊天群。它不会保存在浏览器里，离开本页即从页面清除。',
    'cluster.token.show': '显示加入令牌',
    'cluster.token.hide': '隐藏令牌',
    'cluster.token.copy': '复制',
    'cluster.token.copied': '已复制到剪贴板。用完后请清空剪贴板。',
    'cluster.token.copyFailed': '无法访问剪贴板。请选中令牌文本后手动复制。',
    'cluster.token.label': '加入令牌',
    'cluster.token.rotate': '更换令牌',
    'cluster.token.rotateTitle': '确认更换加入令牌？',
    'cluster.token.rotateBody': '旧令牌将立即失效：正在用旧令牌加入的节点会被拒绝。已在集群中的节点不受影响。',
    'cluster.token.rotateOk': '更换令牌',
    'cluster.token.rotated': '已更换加入令牌，旧令牌已失效。',
    'cluster.token.adminOnly': '仅系统管理员可以查看或更换加入令牌。',
  },
  en: {
    'cluster.title': 'Cluster',
    'cluster.intro': 'Each node of the cluster as it reports itself (refreshed every 10 s). Lag is how far a node\'s applied index is behind the leader\'s commit index; a lag that keeps growing means the node cannot keep up or has lost the leader.',
    'cluster.summary': 'Summary',
    'cluster.leader': 'Leader',
    'cluster.noLeader': 'No leader',
    'cluster.noLeaderHint': 'The cluster has no leader now and cannot take any change. Check that a majority of the nodes run and can reach each other.',
    'cluster.term': 'Term',
    'cluster.commit': 'Leader\'s commit index',
    'cluster.members': 'Members',
    'cluster.viewFrom': 'As node {node} ({state}) sees it.',
    'cluster.nodes': 'Nodes',
    'cluster.col.node': 'Node',
    'cluster.col.role': 'Role',
    'cluster.col.state': 'State',
    'cluster.col.term': 'Term',
    'cluster.col.applied': 'Applied index',
    'cluster.col.lag': 'Lag',
    'cluster.col.contact': 'Last contact with the leader',
    'cluster.col.reach': 'Reachable',
    'cluster.voter': 'Voter',
    'cluster.nonvoter': 'Non-voter',
    'cluster.isLeader': 'Leader',
    'cluster.reachable': 'Reachable',
    'cluster.unreachable': 'Unreachable',
    'cluster.unreachableHint': 'The node did not answer in time: {error}. Check its process and the network; if it is gone for good, remove it with lijiang cluster remove.',
    'cluster.contactLeader': '(it is the leader)',
    'cluster.contactNever': 'never',
    'cluster.contactAgo': '{ms} ms ago',
    'cluster.lagOk': 'in sync',
    'cluster.lagN': '{n} behind',
    'cluster.raft': 'Raft {addr}',
    'cluster.admin': 'admin {addr}',
    'cluster.state.Leader': 'Leader',
    'cluster.state.Follower': 'Follower',
    'cluster.state.Candidate': 'Candidate',
    'cluster.state.Shutdown': 'Shut down',
    'cluster.registered': 'Registered nodes',
    'cluster.registeredAt': 'registered {at}',
    'cluster.token.title': 'Join token',
    'cluster.token.intro': 'A new node passes this token with --join-token to join the cluster.',
    'cluster.token.secret': 'This is a secret: whoever holds it can join a node to this cluster. Hand it only over a secure channel to whoever deploys the node; no screenshots, no chat groups. It is never kept in the browser and leaves the page when you leave it.',
    'cluster.token.show': 'Show the join token',
    'cluster.token.hide': 'Hide the token',
    'cluster.token.copy': 'Copy',
    'cluster.token.copied': 'Copied to the clipboard. Clear the clipboard when done.',
    'cluster.token.copyFailed': 'The clipboard cannot be reached. Select the token and copy it by hand.',
    'cluster.token.label': 'Join token',
    'cluster.token.rotate': 'Replace the token',
    'cluster.token.rotateTitle': 'Replace the join token?',
    'cluster.token.rotateBody': 'The old token stops working at once: a node joining with it is refused. Nodes already in the cluster are not affected.',
    'cluster.token.rotateOk': 'Replace it',
    'cluster.token.rotated': 'The join token is replaced; the old one no longer works.',
    'cluster.token.adminOnly': 'Only administrators may see or replace the join token.',
  },
};

const REFRESH_MS = 10000;

export function render({ root, me, api, describe }) {
  const isAdmin = me.role === 'admin';
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const summary = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const nodes = h('div', {});
  const registered = h('div', {});
  root.append(
    h('h1', {}, t('cluster.title')),
    h('p', { class: 'muted' }, t('cluster.intro')),
    errorBox,
    h('section', { class: 'card', 'aria-labelledby': 'cl-summary' }, h('h2', { id: 'cl-summary' }, t('cluster.summary')), summary),
    h('section', { class: 'card', 'aria-labelledby': 'cl-nodes' }, h('h2', { id: 'cl-nodes' }, t('cluster.nodes')), nodes, registered),
    tokenCard());

  const stat = (name, value, testid) => h('div', { class: 'stat', 'data-testid': testid }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-name' }, name));
  const stateText = (s) => (s ? t('cluster.state.' + s) : '');

  const load = async (background) => {
    let st;
    try {
      st = await api.get('/cluster', { background });
    } catch (err) {
      errorBox.textContent = describe(err);
      errorBox.hidden = false;
      return;
    }
    errorBox.hidden = true;
    const leader = st.leader_id;
    clear(summary).append(
      h('div', { class: 'stats' },
        stat(t('cluster.leader'), leader || t('cluster.noLeader'), 'cluster-leader'),
        stat(t('cluster.term'), fmtNumber(st.term, 0)),
        stat(t('cluster.commit'), fmtNumber(st.lag_reference_index, 0)),
        stat(t('cluster.members'), fmtNumber((st.members || []).length, 0))),
      leader ? '' : h('p', { class: 'alert alert-error' }, t('cluster.noLeaderHint')),
      h('p', { class: 'small muted' }, t('cluster.viewFrom', { node: st.id, state: stateText(st.state) })));
    clear(nodes).append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['node', 'role', 'state', 'term', 'applied', 'lag', 'contact', 'reach'].map((c) => h('th', { scope: 'col' }, t('cluster.col.' + c))))),
      h('tbody', {}, (st.members || []).map(row)))));
    const reg = st.nodes || [];
    clear(registered);
    if (reg.length) {
      registered.append(h('h3', {}, t('cluster.registered')), h('ul', { class: 'cluster-reg' }, reg.map((n) => h('li', {},
        h('strong', {}, n.id), ' · ', h('span', { class: 'mono' }, t('cluster.raft', { addr: n.raft_addr })), ' · ',
        h('span', { class: 'mono' }, t('cluster.admin', { addr: n.admin_addr })), ' · ',
        h('span', { class: 'small muted' }, t('cluster.registeredAt', { at: fmtTime(n.registered_at) }))))));
    }
  };

  // nl labels a cell on narrow screens, where the table's header is hidden.
  const nl = (key) => h('span', { class: 'narrow-label' }, t(key) + (lang() === 'en' ? ': ' : '：'));
  const row = (m) => {
    const reach = m.reachable
      ? h('span', { class: 'badge badge-ok' }, t('cluster.reachable'))
      : h('div', {}, h('span', { class: 'badge badge-paused' }, t('cluster.unreachable')),
        h('div', { class: 'small muted' }, t('cluster.unreachableHint', { error: m.error || '?' })));
    let contact = '';
    if (m.reachable) {
      if (m.leader || m.last_contact_ms === 0) contact = t('cluster.contactLeader');
      else if (m.last_contact_ms < 0) contact = t('cluster.contactNever');
      else contact = t('cluster.contactAgo', { ms: fmtNumber(m.last_contact_ms, 0) });
    }
    return h('tr', { 'data-node': m.id },
      h('th', { scope: 'row' }, h('div', {}, m.id), h('div', { class: 'small muted mono' }, m.address)),
      h('td', { class: 'nowrap' }, m.leader ? h('span', { class: 'badge badge-ok' }, t('cluster.isLeader')) : null, ' ',
        h('span', { class: 'badge' }, m.suffrage === 'voter' ? t('cluster.voter') : t('cluster.nonvoter'))),
      h('td', { class: 'nowrap' }, m.reachable ? stateText(m.state) : ''),
      h('td', { class: 'nowrap' }, m.reachable ? [nl('cluster.col.term'), fmtNumber(m.term, 0)] : ''),
      h('td', { class: 'nowrap mono' }, m.reachable ? [nl('cluster.col.applied'), String(m.applied_index)] : ''),
      h('td', { class: 'nowrap' }, m.reachable ? (m.lag === 0 ? h('span', { class: 'badge badge-ok' }, t('cluster.lagOk'))
        : h('span', { class: 'badge badge-warn' }, t('cluster.lagN', { n: fmtNumber(m.lag, 0) }))) : ''),
      h('td', { class: 'nowrap small' }, contact ? [nl('cluster.col.contact'), contact] : ''),
      h('td', { class: 'wide' }, reach));
  };

  function tokenCard() {
    const card = h('section', { class: 'card', 'aria-labelledby': 'cl-token' }, h('h2', { id: 'cl-token' }, t('cluster.token.title')),
      h('p', { class: 'muted small' }, t('cluster.token.intro')));
    if (!isAdmin) {
      card.append(h('p', { class: 'alert alert-info' }, t('cluster.token.adminOnly')));
      return card;
    }
    const area = h('div', {});
    const showBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'show-token', onclick: () => show() }, t('cluster.token.show'));
    const rotateBtn = h('button', { type: 'button', class: 'btn btn-danger', 'data-action': 'rotate-token', onclick: async () => {
      const ok = await confirmDialog({ title: t('cluster.token.rotateTitle'), body: t('cluster.token.rotateBody'), confirmLabel: t('cluster.token.rotateOk'), danger: true });
      if (!ok) return;
      try {
        const res = await api.post('/cluster/token/rotate', {});
        toast(t('cluster.token.rotated'));
        display(res.token);
      } catch (err) { toast(describe(err), 'error'); }
    } }, t('cluster.token.rotate'));
    const hide = () => { clear(area); showBtn.hidden = false; };
    const display = (token) => {
      showBtn.hidden = true;
      const box = h('input', { type: 'text', id: 'join-token', class: 'mono', readonly: true, value: token, autocomplete: 'off', spellcheck: 'false' });
      clear(area).append(
        h('label', { for: 'join-token' }, t('cluster.token.label')),
        h('div', { class: 'cluster-token' }, box,
          h('button', { type: 'button', class: 'btn', 'data-action': 'copy-token', onclick: async () => {
            try { await navigator.clipboard.writeText(box.value); toast(t('cluster.token.copied')); } catch {
              box.select();
              toast(t('cluster.token.copyFailed'), 'error');
            }
          } }, t('cluster.token.copy')),
          h('button', { type: 'button', class: 'btn', onclick: hide }, t('cluster.token.hide'))));
      box.focus();
      box.select();
    };
    const show = async () => {
      try { display((await api.get('/cluster/token')).token); } catch (err) { toast(describe(err), 'error'); }
    };
    card.append(h('p', { class: 'alert alert-warn' }, t('cluster.token.secret')), h('div', { class: 'actions-row' }, showBtn, rotateBtn), area);
    return card;
  }

  load(false);
  const timer = setInterval(() => load(true), REFRESH_MS);
  return () => clearInterval(timer);
}
