// Reporting a security defect: the bank's channel as the
// developer manual (section 11) documents it — what to include, what never
// to send, and to test in the sandbox. The portal API has no report route
// yet: reports go to the bank's security mailbox named in the agreement.

import { h, clear } from '../../js/dom.js';
import { t } from '../../js/i18n.js';
import { markdown } from './manual.js';

export const strings = {
  'zh-CN': {
    'sec.title': '报告安全缺陷',
    'sec.intro': '如果您发现网关、LJ1 协议、SDK 或开发者手册存在安全缺陷（例如本应被拒绝的响应被接受，或可以读取其他应用的数据），请私下报告给银行，不要公开披露。',
    'sec.how': '如何报告',
    'sec.contact': '报告渠道：服务协议中列明的银行开放平台安全邮箱。',
    'sec.include': '请提供：您的操作步骤、预期结果、实际结果、相关调用的 LJ-Request-Id、时间和您的 App_ID。',
    'sec.never': '切勿发送：私钥、App_Secret、用户令牌或客户的个人信息。',
    'sec.sandbox': '请在沙箱环境中验证，不要在生产环境中测试。在银行修复之前，请勿公开该缺陷。',
    'sec.agreement': '查看服务协议（含安全邮箱）',
    'sec.manual': '开发者手册原文（第 11 节）',
  },
  en: {
    'sec.title': 'Report a security defect',
    'sec.intro': 'If you find a weakness in the gateway, the LJ1 protocol, the SDK or the developer manual (for example a response that should have been rejected, or a way to read another app\'s data), report it privately to the bank; do not disclose it publicly.',
    'sec.how': 'How to report',
    'sec.contact': 'Where: the bank\'s open-platform security mailbox listed in your agreement.',
    'sec.include': 'Include what you did, what you expected, what happened, the LJ-Request-Id of the calls, the time and your App_ID.',
    'sec.never': 'Never send private keys, App_Secrets, user tokens or customers\' personal data.',
    'sec.sandbox': 'Test in the sandbox, not in production. Do not disclose the defect before the bank has fixed it.',
    'sec.agreement': 'Read the agreement (it names the security mailbox)',
    'sec.manual': 'The developer manual\'s text (section 11)',
  },
};

export function render({ root, api }) {
  const quote = h('div', {});
  root.append(h('h1', {}, t('sec.title')), h('p', {}, t('sec.intro')),
    h('section', { class: 'card', 'aria-labelledby': 'sec-how' }, h('h2', { id: 'sec-how' }, t('sec.how')),
      h('ul', {}, h('li', {}, h('strong', {}, t('sec.contact'))), h('li', {}, t('sec.include')), h('li', {}, h('strong', {}, t('sec.never'))), h('li', {}, t('sec.sandbox'))),
      h('p', {}, h('a', { href: '#/agreement', class: 'btn' }, t('sec.agreement')))),
    h('section', { class: 'card', 'aria-labelledby': 'sec-manual' }, h('h2', { id: 'sec-manual' }, t('sec.manual')), quote));
  (async () => {
    try {
      const m = await api.get('/manual');
      const part = m.markdown.split(/\n(?=## )/).find((s) => /^## 11\./.test(s));
      if (part) clear(quote).append(h('div', { lang: 'en', class: 'manual' }, markdown(part.replace(/^## [^\n]*\n/, ''))));
    } catch { /* the summary above says it all */ }
  })();
}
