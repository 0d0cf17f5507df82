// Platform keys: the platform's SM2 signing and encryption keys with their
// validity and status (GET /admin/api/v1/platform-keys). Admins rotate a
// use's key (POST /platform-keys/rotate) and end a retiring key's overlap
// (POST /platform-keys/{serial}/retire), each after a confirmation. The
// private keys never leave the server: the page shows public parts only.

import { h, clear, toast } from '../../js/dom.js';
import { t, fmtTime } from '../../js/i18n.js';
import { confirmDialog } from '../../js/dialog.js';

export const strings = {
  'zh-CN': {
    'keys.title': '平台密钥',
    'keys.intro': '平台用 SM2 签名密钥为应答签名，应用用 SM2 加密密钥加密 A2 请求。轮换后，新密钥立即生效，旧密钥进入“退役中”，在过渡期内仍可验签和解密，让应用有时间更新。到期前过渡期内系统会自动轮换。这里只显示公钥，私钥从不离开服务器。',
    'keys.col.serial': '序列号',
    'keys.col.use': '用途',
    'keys.col.status': '状态',
    'keys.col.validity': '有效期',
    'keys.col.left': '剩余',
    'keys.col.action': '操作',
    'keys.use.sig': '签名',
    'keys.use.enc': '加密',
    'keys.status.active': '使用中',
    'keys.status.retiring': '退役中',
    'keys.status.retired': '已退役',
    'keys.state.pending': '尚未生效',
    'keys.state.valid': '有效',
    'keys.state.expiring': '即将到期',
    'keys.state.expired': '已过期',
    'keys.daysLeft': '{n} 天',
    'keys.from': '{from} 至 {to}',
    'keys.publicKey': '公钥（PEM）',
    'keys.rotate.sig': '轮换签名密钥',
    'keys.rotate.enc': '轮换加密密钥',
    'keys.rotate.title.sig': '确认轮换签名密钥？',
    'keys.rotate.title.enc': '确认轮换加密密钥？',
    'keys.rotate.body.sig': '将生成新的签名密钥并立即用它为应答签名。当前密钥转为“退役中”，过渡期内仍可验签。请通知应用方从 /.well-known/lijiang/keys 更新平台公钥。',
    'keys.rotate.body.enc': '将生成新的加密密钥，应用应改用它加密 A2 请求。当前密钥转为“退役中”，过渡期内仍可解密。请通知应用方从 /.well-known/lijiang/keys 更新平台公钥。',
    'keys.rotate.ok': '确认轮换',
    'keys.rotated': '已生成新密钥 {serial} 并启用。',
    'keys.retire': '结束过渡期',
    'keys.retireName': '结束 {serial} 的过渡期',
    'keys.retire.title': '确认让 {serial} 立即退役？',
    'keys.retire.body': '退役后，该密钥不再验签或解密：仍在使用旧公钥的应用会立刻失败。只有在确认所有应用都已更新，或该密钥可能已泄露时才应这样做。',
    'keys.retire.ok': '立即退役',
    'keys.retired': '{serial} 已退役。',
    'keys.adminOnly': '仅系统管理员可以轮换或退役平台密钥；您可以查看状态。',
    'keys.empty': '还没有平台密钥。节点首次启动时会自动生成；若一直没有，请查看节点日志。',
    'keys.expiringNote': '有密钥即将到期：领导者节点会在过渡期内自动生成后继密钥。若一天后仍未出现后继密钥，请手动轮换并查看节点日志。',
  },
  en: {
    'keys.title': 'Platform keys',
    'keys.intro': 'The platform signs answers with its SM2 signing key; apps encrypt A2 requests to its SM2 encryption key. A rotation makes a new key active at once; the old one becomes retiring and still verifies and decrypts during the overlap, so apps have time to update. Keys are rotated by themselves within the overlap before they expire. Only public keys are shown: the private keys never leave the server.',
    'keys.col.serial': 'Serial',
    'keys.col.use': 'Use',
    'keys.col.status': 'Status',
    'keys.col.validity': 'Valid',
    'keys.col.left': 'Left',
    'keys.col.action': 'Action',
    'keys.use.sig': 'Signing',
    'keys.use.enc': 'Encryption',
    'keys.status.active': 'Active',
    'keys.status.retiring': 'Retiring',
    'keys.status.retired': 'Retired',
    'keys.state.pending': 'Not yet valid',
    'keys.state.valid': 'Valid',
    'keys.state.expiring': 'Expiring',
    'keys.state.expired': 'Expired',
    'keys.daysLeft': '{n} days',
    'keys.from': '{from} to {to}',
    'keys.publicKey': 'Public key (PEM)',
    'keys.rotate.sig': 'Rotate the signing key',
    'keys.rotate.enc': 'Rotate the encryption key',
    'keys.rotate.title.sig': 'Rotate the signing key?',
    'keys.rotate.title.enc': 'Rotate the encryption key?',
    'keys.rotate.body.sig': 'A new signing key is made and signs answers at once. The current key becomes retiring and still verifies during the overlap. Tell the apps to fetch the platform keys again from /.well-known/lijiang/keys.',
    'keys.rotate.body.enc': 'A new encryption key is made; apps should encrypt A2 requests to it. The current key becomes retiring and still decrypts during the overlap. Tell the apps to fetch the platform keys again from /.well-known/lijiang/keys.',
    'keys.rotate.ok': 'Rotate',
    'keys.rotated': 'New key {serial} made and active.',
    'keys.retire': 'End the overlap',
    'keys.retireName': 'End {serial}\'s overlap',
    'keys.retire.title': 'Retire {serial} now?',
    'keys.retire.body': 'A retired key neither verifies nor decrypts: apps still using the old public key fail at once. Do this only when every app has updated, or when the key may be compromised.',
    'keys.retire.ok': 'Retire now',
    'keys.retired': '{serial} is retired.',
    'keys.adminOnly': 'Only administrators rotate or retire platform keys; you can see their state.',
    'keys.empty': 'There are no platform keys yet. A node makes them when it first starts; if they do not appear, check the node\'s log.',
    'keys.expiringNote': 'A key is expiring: the leader makes its successor within the overlap. If no successor appears within a day, rotate by hand and check the node\'s log.',
  },
};

export function render({ root, me, api, describe }) {
  const mayAct = me.role === 'admin';
  const errorBox = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const body = h('div', {}, h('p', { class: 'loading' }, t('loading')));
  const rotate = (use) => h('button', { type: 'button', class: 'btn btn-danger', 'data-rotate': use, disabled: !mayAct,
    title: mayAct ? null : t('keys.adminOnly'), onclick: async () => {
      const ok = await confirmDialog({ title: t('keys.rotate.title.' + use), body: t('keys.rotate.body.' + use), confirmLabel: t('keys.rotate.ok'), danger: true });
      if (!ok) return;
      try {
        const k = await api.post('/platform-keys/rotate', { use });
        toast(t('keys.rotated', { serial: k.serial }));
      } catch (err) { fail(err); }
      load();
    } }, t('keys.rotate.' + use));
  root.append(
    h('h1', {}, t('keys.title')),
    h('p', { class: 'muted' }, t('keys.intro')),
    mayAct ? '' : h('p', { class: 'alert alert-info' }, t('keys.adminOnly')),
    h('section', { class: 'card', 'aria-labelledby': 'keys-list' },
      h('h2', { id: 'keys-list', class: 'sr-only' }, t('keys.title')),
      h('div', { class: 'actions-row' }, rotate('sig'), rotate('enc')),
      errorBox, body));

  const fail = (err) => { errorBox.textContent = describe(err); errorBox.hidden = false; };

  const load = async () => {
    let keys;
    try { keys = await api.get('/platform-keys'); } catch (err) { fail(err); clear(body); return; }
    errorBox.hidden = true;
    clear(body);
    if (!keys.length) { body.append(h('p', { class: 'empty' }, t('keys.empty'))); return; }
    const order = { active: 0, retiring: 1, retired: 2 };
    keys.sort((a, b) => (a.use.localeCompare(b.use)) || (order[a.status] - order[b.status]) || (b.not_before > a.not_before ? 1 : -1));
    if (keys.some((k) => k.status === 'active' && (k.state === 'expiring' || k.state === 'expired'))) {
      body.append(h('p', { class: 'alert alert-warn' }, t('keys.expiringNote')));
    }
    body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack' },
      h('thead', {}, h('tr', {}, ['serial', 'use', 'status', 'validity', 'left', 'action'].map((c) => h('th', { scope: 'col' }, t('keys.col.' + c))))),
      h('tbody', {}, keys.map(row)))));
  };

  const stateBadge = (s) => h('span', { class: 'badge ' + ({ valid: 'badge-ok', expiring: 'badge-warn', expired: 'badge-paused' }[s] || '') }, t('keys.state.' + s));

  const row = (k) => {
    let action = null;
    if (k.status === 'retiring') {
      action = h('button', { type: 'button', class: 'btn btn-danger', disabled: !mayAct, title: mayAct ? null : t('keys.adminOnly'),
        'aria-label': t('keys.retireName', { serial: k.serial }), onclick: async () => {
          const ok = await confirmDialog({ title: t('keys.retire.title', { serial: k.serial }), body: t('keys.retire.body'), confirmLabel: t('keys.retire.ok'), danger: true });
          if (!ok) return;
          try {
            await api.post('/platform-keys/' + encodeURIComponent(k.serial) + '/retire', {});
            toast(t('keys.retired', { serial: k.serial }));
          } catch (err) { fail(err); }
          load();
        } }, t('keys.retire'));
    }
    return h('tr', { 'data-serial': k.serial },
      h('th', { scope: 'row' }, h('div', { class: 'mono' }, k.serial),
        h('details', { class: 'small' }, h('summary', {}, t('keys.publicKey')), h('pre', { class: 'audit-body' }, k.public_key))),
      h('td', { class: 'nowrap' }, t('keys.use.' + k.use), h('div', { class: 'small muted' }, k.alg)),
      h('td', { class: 'nowrap' }, h('span', { class: 'badge' + (k.status === 'active' ? ' badge-ok' : '') }, t('keys.status.' + k.status) || k.status), ' ', stateBadge(k.state)),
      h('td', { class: 'small' }, t('keys.from', { from: fmtTime(k.not_before, { dateStyle: 'medium' }), to: fmtTime(k.not_after, { dateStyle: 'medium' }) })),
      h('td', { class: 'nowrap' }, t('keys.daysLeft', { n: k.days_left })),
      h('td', { class: 'nowrap' }, action));
  };

  load();
}
