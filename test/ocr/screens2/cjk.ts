// Languages: a mail client in French, German and Polish (accents in every kind of UI text), and
// two Chinese screens: a file manager (menus with full-width accelerators, a table, a toast,
// short lines with full-width punctuation) and a chat app beside a two-column news panel.
// Lines holding Chinese go to the set's separate CJK truth (index.ts).
import { time } from '../screens/text.js'
import { accented, uiWord, zhSentence, zhShort, zhUi, ZH_MENU } from './text2.js'
import { crumbs, div, esc, frame, menuBar, seg, segs, statusBar, tabStrip } from './parts.js'
import type { BuildContext } from './docs.js'

const SENDERS = [
  'Zoé Lefèvre',
  'Jürgen Weiß',
  'Łukasz Wąsowski',
  'Hélène Garçon',
  'Małgorzata Żak',
  'Björn Schäfer',
  'François Dubœuf',
  'Agnieszka Wróbel',
]

export function mailAccents({ r, theme }: BuildContext): string {
  const folders = ['Boîte de réception', 'Envoyés', 'Brouillons', 'Archivés', 'Indésirables', 'Corbeille']
    .map(
      (f, i) =>
        `<div data-seg class="row ${i === 0 ? 'sel' : ''}" style="justify-content:space-between;padding:6px 14px"><span>${esc(f)}</span>${i < 3 ? `<span class="muted">${r.int(1, 99)}</span>` : ''}</div>`,
    )
    .join('')
  const items = Array.from({ length: 11 }, (_, i) => {
    const lang = r.pick(['fr', 'de', 'pl'] as const)
    return `<div class="${i === 0 ? 'sel' : ''}" style="padding:8px 14px;border-bottom:1px solid var(--border)">
      <div data-seg class="row" style="justify-content:space-between"><b>${esc(r.pick(SENDERS))}</b><span class="muted" style="font-size:12px">${time(r)}</span></div>
      <div data-seg style="white-space:nowrap;overflow:hidden;text-overflow:clip">${esc(
        accented(r, lang)
          .slice(0, 44)
          .replace(/[ ,]+$/, ''),
      )}</div></div>`
  }).join('')
  const body = Array.from(
    { length: 6 },
    (_, i) => `<p data-seg style="line-height:1.55">${esc([0, 1, 2].map(() => accented(r, i < 3 ? 'pl' : 'fr')).join(' '))}</p>`,
  ).join('')
  const content = `${menuBar(['Fichier', 'Édition', 'Affichage', 'Messages', 'Outils', 'Aide'], 13)}
    <div class="hb" data-case="chrome" style="height:38px;gap:12px;padding:0 12px;font-size:13px">${segs(['Répondre', 'Répondre à tous', 'Transférer', 'Supprimer', 'Déplacer vers…'], 'class="btn"')}${seg('Rechercher dans les messages', 'class="field ph" style="margin-left:auto;width:300px"')}</div>
    <div data-case="accents" style="position:absolute;left:0;top:64px;width:240px;bottom:22px;background:var(--panel);font-size:14px">${folders}</div>
    <div data-case="accents" style="position:absolute;left:240px;top:64px;width:520px;bottom:22px;overflow:hidden;border-right:1px solid var(--border);font-size:14px">${items}</div>
    <div data-case="accents" style="position:absolute;left:790px;top:84px;right:40px;bottom:40px;overflow:hidden;font-size:15px">
      ${div('Zażółć gęślą jaźń: spotkanie w środę', 'font-size:20px;font-weight:bold;margin-bottom:8px')}
      ${div(`Od: ${r.pick(SENDERS)} <biuro@przykład.pl>`, 'margin-bottom:16px', 'class="muted"')}${body}</div>
    ${statusBar([`${uiWord(r, 'fr')}`, 'Non lus : 12', 'Hors ligne'], 11)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: 'Boîte de réception - Courrier', body: content })
}

export function chineseFiles({ r, theme }: BuildContext): string {
  const side = ['首页', '最近使用', '文档', '图片', '下载', '回收站']
    .map((s, i) => div(s, 'padding:7px 18px', i === 2 ? 'class="sel"' : ''))
    .join('')
  const rows = Array.from({ length: 16 }, (_, i) => {
    const name = `${r.pick(['季度报告', '会议纪要', '项目计划', '预算表', '产品说明', 'Screenshot'])}${i + 1}.${r.pick(['docx', 'xlsx', 'pdf', 'png'])}`
    const cells = [
      name,
      `2026-${String(r.int(1, 11)).padStart(2, '0')}-${String(r.int(10, 28))} ${time(r)}`,
      r.pick(['文档', '表格', '图片']),
      `${(r.int(10, 9999) / 10).toFixed(1)} KB`,
    ]
    return `<tr data-seg>${cells.map((c, j) => `<td class="${j === 3 ? 'n' : ''}" style="border:0;border-bottom:1px solid var(--border)">${esc(c)}</td>`).join('')}</tr>`
  }).join('')
  const content = `${menuBar(ZH_MENU, 13)}
    <div class="hb" data-case="chrome" style="height:40px;gap:12px;padding:0 12px;font-size:13px">${segs(['新建文件夹', '上传', '下载', '删除', '分享'], 'class="btn"')}${seg('搜索文件', 'class="field ph" style="margin-left:auto;width:280px"')}</div>
    ${crumbs(['我的电脑', '文档', '2026 年项目'], 12)}
    <div data-case="cjk" style="position:absolute;left:0;top:90px;width:200px;bottom:22px;background:var(--panel);font-size:14px">${side}</div>
    <div data-case="table" style="position:absolute;left:220px;top:100px;right:520px;bottom:40px;overflow:hidden;font-size:13px">
      <table style="width:100%"><tr data-seg><th>名称</th><th>修改日期</th><th>类型</th><th style="text-align:right">大小</th></tr>${rows}</table></div>
    <div data-case="cjk" style="position:absolute;right:30px;top:110px;width:450px;font-size:14px;line-height:1.6">
      ${div('文件详情', 'font-size:18px;font-weight:bold;margin-bottom:10px')}${Array.from({ length: 7 }, () => div(zhSentence(r), 'margin-bottom:8px')).join('')}
      ${Array.from({ length: 5 }, () => div(zhShort(r), 'margin-bottom:4px;font-size:13px')).join('')}</div>
    <div data-case="cjk" style="position:absolute;right:40px;bottom:50px;background:#2e7d32;color:#fff;padding:10px 18px;border-radius:6px;font-size:14px;z-index:5">${seg(zhShort(r))}</div>
    ${statusBar(['共 16 项', '已选择 1 项', `${zhUi(r)}`], 11)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: '文档 - 文件管理器', body: content })
}

export function chineseChat({ r, theme }: BuildContext): string {
  const names = ['张伟', '李娜', '王芳', '刘洋', '陈静', 'Alex Chen']
  const contacts = names
    .map(
      (n, i) =>
        `<div style="padding:8px 14px;border-bottom:1px solid var(--border)" class="${i === 1 ? 'sel' : ''}">${div(`${n}  ${time(r)}`, 'font-weight:bold')}${div(zhShort(r), 'font-size:12px', 'class="muted"')}</div>`,
    )
    .join('')
  const msgs = Array.from({ length: 9 }, (_, i) => {
    const text = i % 3 === 2 ? zhShort(r) : zhSentence(r)
    return `<div style="margin-bottom:14px;${i % 2 ? 'text-align:right' : ''}">${div(`${r.pick(names)} ${time(r)}`, 'font-size:11px', 'class="muted"')}
      <div data-seg style="display:inline-block;max-width:520px;padding:8px 12px;border-radius:8px;background:var(--panel);text-align:left">${esc(text)}</div></div>`
  }).join('')
  const news = Array.from({ length: 8 }, () => `<p data-seg style="line-height:1.6">${esc(zhSentence(r) + zhSentence(r))}</p>`).join('')
  const content = `${tabStrip(['消息', '通讯录', '收藏', '设置'], 13)}
    <div data-case="cjk" style="position:absolute;left:0;top:32px;width:300px;bottom:22px;background:var(--panel);overflow:hidden;font-size:14px">${contacts}</div>
    <div data-case="cjk" style="position:absolute;left:320px;top:46px;width:760px;bottom:80px;overflow:hidden;font-size:14px">${msgs}</div>
    ${seg('输入消息……', 'class="field ph" data-case="cjk" style="position:absolute;left:320px;bottom:32px;width:760px"')}
    <div data-case="columns" style="position:absolute;left:1120px;top:50px;right:30px;bottom:40px;overflow:hidden;font-size:14px">
      ${div('今日新闻：科技与生活', 'font-size:20px;font-weight:bold;margin-bottom:12px')}<div style="column-count:2;column-gap:30px">${news}</div></div>
    ${statusBar(['已连接', `在线 ${r.int(3, 40)} 人`, '同步完成'], 11)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: '团队聊天', body: content })
}
