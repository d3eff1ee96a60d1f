// The applications the generated screens show, as HTML. Each app fills the box it is given and
// takes its colours from CSS variables on its window (see THEMES), so any app renders light or
// dark. Every separate UI item (a tab, a button, a status-bar segment, a line number) is its own
// element marked data-seg: the truth measurement in measure.ts takes a marked element, or else a
// text node's parent, as one "segment", and cuts it into visual lines. A row of one list item (a
// folder and its unread count, a message's sender and time) is one segment, like a table row.
import type { Rng } from './text.js'
import {
  amount,
  cap,
  city,
  codeLine,
  date,
  email,
  hex,
  ident,
  paragraph,
  path,
  person,
  product,
  pythonTrace,
  sentence,
  stackTrace,
  time,
  timestamp,
  word,
  words,
} from './text.js'

export type Theme = 'light' | 'dark'
export type AppKind = 'terminal' | 'editor' | 'sheet' | 'mail' | 'settings' | 'chat' | 'logs' | 'docs'
export const APP_KINDS: readonly AppKind[] = ['terminal', 'editor', 'sheet', 'mail', 'settings', 'chat', 'logs', 'docs']

export const THEMES: Record<Theme, Record<string, string>> = {
  light: {
    bg: '#ffffff',
    fg: '#1f2328',
    muted: '#57606a',
    panel: '#f3f4f6',
    border: '#d0d7de',
    accent: '#0969da',
    sel: '#ddf4ff',
    kw: '#cf222e',
    str: '#0a3069',
    num: '#0550ae',
    cm: '#6e7781',
    title: '#e6e6e6',
    btn: '#f6f8fa',
    btnfg: '#24292f',
  },
  dark: {
    bg: '#1e1e1e',
    fg: '#d4d4d4',
    muted: '#9da5b4',
    panel: '#252526',
    border: '#3c3c3c',
    accent: '#3794ff',
    sel: '#264f78',
    kw: '#569cd6',
    str: '#ce9178',
    num: '#b5cea8',
    cm: '#6a9955',
    title: '#323233',
    btn: '#3a3d41',
    btnfg: '#e0e0e0',
  },
}
export const themeVars = (theme: Theme): string =>
  Object.entries(THEMES[theme])
    .map(([k, v]) => `--${k}:${v}`)
    .join(';')

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Shared CSS for every app; sizes stay within 10-16 px as the issue asks. */
export const APP_CSS = `
* { box-sizing: border-box; margin: 0; padding: 0; }
.app { position: absolute; inset: 0; overflow: hidden; background: var(--bg); color: var(--fg); font-family: 'DejaVu Sans', sans-serif; }
.mono { font-family: 'DejaVu Sans Mono', monospace; }
.row { display: flex; align-items: center; }
.muted { color: var(--muted); }
.bar { background: var(--panel); border-bottom: 1px solid var(--border); display: flex; align-items: center; gap: 14px; padding: 0 10px; white-space: nowrap; overflow: hidden; }
.status { background: var(--accent); color: #fff; display: flex; gap: 18px; padding: 0 10px; align-items: center; white-space: nowrap; overflow: hidden; position: absolute; left: 0; right: 0; bottom: 0; }
.btn { background: var(--btn); color: var(--btnfg); border: 1px solid var(--border); border-radius: 4px; padding: 3px 10px; white-space: nowrap; }
.btn.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
.side { position: absolute; top: 0; bottom: 0; left: 0; background: var(--panel); border-right: 1px solid var(--border); overflow: hidden; padding: 8px 0; }
.side > div { padding: 3px 12px; white-space: nowrap; }
.sel { background: var(--sel); }
.kw { color: var(--kw); } .str { color: var(--str); } .num { color: var(--num); } .cm { color: var(--cm); font-style: italic; }
table { border-collapse: collapse; }
td, th { padding: 3px 10px; border: 1px solid var(--border); white-space: nowrap; }
th { background: var(--panel); font-weight: bold; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
p { margin: 0 0 10px; }
`

export interface AppBox {
  width: number
  height: number
}
type App = (r: Rng, box: AppBox, size: number) => string

const seg = (text: string, attrs = ''): string => `<span data-seg ${attrs}>${esc(text)}</span>`

const terminal: App = (r, box, size) => {
  const lh = Math.round(size * 1.4)
  const rows = Math.floor((box.height - 16) / lh)
  const user = `${r.pick(['dev', 'anna', 'build', 'ops'])}@${r.pick(['workstation', 'laptop', 'ci-runner-3'])}`
  const lines: string[] = []
  while (lines.length < rows) {
    const dir = `~/${r.pick(['projects', 'src', 'work'])}/${ident(r)}`
    const cmd = r.pick([
      'npm test',
      'npm run build',
      'python3 manage.py migrate',
      'git status',
      'ls -la',
      'node server.js',
      'cargo build --release',
    ])
    lines.push(`${user}:${dir}$ ${cmd}`)
    const form = r.int(0, 3)
    if (form === 0) lines.push(...stackTrace(r))
    else if (form === 1) lines.push(...pythonTrace(r))
    else if (form === 2)
      for (let i = 0; i < r.int(3, 6); i++)
        lines.push(
          `-rw-r--r--  1 ${r.pick(['dev', 'root'])} staff  ${String(r.int(120, 99999)).padStart(6)} ${date(r)} ${time(r)} ${ident(r)}${r.pick(['.ts', '.json', '.log'])}`,
        )
    else {
      lines.push(`> ${ident(r)}@${r.int(0, 4)}.${r.int(0, 20)}.${r.int(0, 9)} ${r.pick(['test', 'build'])}`)
      for (let i = 0; i < r.int(2, 5); i++) lines.push(` ${r.pick(['PASS', 'FAIL', 'WARN'])}  ${path(r, false)} (${r.int(3, 900)} ms)`)
      lines.push(`Tests: ${r.int(0, 5)} failed, ${r.int(10, 300)} passed, ${r.int(10, 305)} total`)
    }
  }
  const body = lines
    .slice(0, rows)
    .map((l) => `<div data-seg style="white-space:pre;height:${lh}px;line-height:${lh}px">${esc(l)}</div>`)
    .join('')
  return `<div class="app mono" style="font-size:${size}px;padding:8px 10px">${body}</div>`
}

const editor: App = (r, box, size) => {
  const lh = Math.round(size * 1.5)
  const sideW = Math.min(240, Math.round(box.width * 0.2))
  const tabs = Array.from(
    { length: r.int(3, 5) },
    (_, i) =>
      `<div data-seg class="${i === 0 ? 'sel' : ''}" style="padding:6px 12px">${esc(ident(r) + r.pick(['.ts', '.py', '.go', '.json']))}</div>`,
  ).join('')
  const tree = Array.from(
    { length: 40 },
    (_, i) =>
      `<div data-seg style="padding-left:${12 + (i % 3) * 12}px">${esc(i % 5 === 0 ? r.pick(['src', 'tests', 'lib', 'scripts', 'docs']) : ident(r) + r.pick(['.ts', '.js', '.md']))}</div>`,
  ).join('')
  const rows = Math.floor((box.height - 60) / lh)
  const start = r.int(1, 300)
  const gutter = Array.from(
    { length: rows },
    (_, i) => `<div data-seg style="height:${lh}px;line-height:${lh}px;text-align:right;padding-right:10px">${start + i}</div>`,
  ).join('')
  const code = Array.from({ length: rows }, () => {
    const line = codeLine(r)
    const html = line.tokens.map((t) => `<span class="${t.kind}">${esc(t.text)}</span>`).join('')
    return `<div data-seg style="height:${lh}px;line-height:${lh}px;white-space:pre;padding-left:${line.indent * 4 * size * 0.6}px">${html}</div>`
  }).join('')
  const status = [
    `${r.pick(['main', 'develop', 'fix/' + word(r)])}*`,
    `Ln ${r.int(1, 400)}, Col ${r.int(1, 80)}`,
    'Spaces: 2',
    'UTF-8',
    'LF',
    'TypeScript',
  ]
    .map((s) => seg(s))
    .join('')
  return `<div class="app" style="font-size:${size}px">
    <div class="side" style="width:${sideW}px;bottom:24px;font-size:${size - 1}px"><div data-seg class="muted" style="font-size:11px">EXPLORER</div>${tree}</div>
    <div class="bar" style="position:absolute;left:${sideW}px;right:0;top:0;height:32px;gap:0;padding:0;font-size:${size - 1}px">${tabs}</div>
    <div class="mono" style="position:absolute;left:${sideW}px;top:36px;width:${size * 4}px;bottom:24px;color:var(--muted);overflow:hidden">${gutter}</div>
    <div class="mono" style="position:absolute;left:${sideW + size * 4 + 8}px;right:0;top:36px;bottom:24px;overflow:hidden">${code}</div>
    <div class="status" style="height:24px;font-size:12px">${status}</div></div>`
}

// Columns stretch across the window, as in a real spreadsheet: a row's cells sit far apart and
// its numbers are right-aligned, yet the row is one line.
const sheet: App = (r, box, size) => {
  const tools = ['File', 'Edit', 'View', 'Insert', 'Format', 'Data', 'Tools', 'Help'].map((s) => seg(s)).join('')
  const head = ['#', 'Item', 'Region', 'Owner', 'Qty', 'Unit price', 'Total', 'Status']
  const rowH = Math.round(size * 1.9)
  const rows = Math.floor((box.height - 110) / rowH)
  const body = Array.from({ length: rows }, (_, i) => {
    const qty = r.int(1, 900)
    const cells = [
      `<td class="n">${i + 1}</td>`,
      `<td>${esc(product(r))}</td>`,
      `<td>${esc(city(r))}</td>`,
      `<td>${esc(person(r))}</td>`,
      `<td class="n">${qty}</td>`,
      `<td class="n">${amount(r, 900)}</td>`,
      `<td class="n">${amount(r)}</td>`,
      `<td>${esc(r.pick(['Shipped', 'Pending', 'Paid', 'Overdue', 'Draft']))}</td>`,
    ]
    return `<tr data-seg style="height:${rowH}px">${cells.join('')}</tr>`
  }).join('')
  const tabs = ['Sheet1', 'Orders ' + r.int(2024, 2026), 'Summary'].map((s) => seg(s, 'style="padding:0 8px"')).join('')
  return `<div class="app" style="font-size:${size}px">
    <div class="bar" style="height:30px;font-size:13px">${tools}</div>
    <div class="bar" style="height:28px;font-size:13px"><span data-seg class="mono">${'ABCDEFG'[r.int(0, 6)]}${r.int(1, 40)}</span><span data-seg class="mono">=SUM(${'FG'[r.int(0, 1)]}2:${'FG'[r.int(0, 1)]}${r.int(20, 90)})</span></div>
    <div style="position:absolute;top:64px;left:8px;right:8px;bottom:34px;overflow:hidden">
      <table style="width:100%"><tr data-seg>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${body}</table></div>
    <div class="bar" style="position:absolute;bottom:0;left:0;right:0;height:30px;border-top:1px solid var(--border);font-size:13px">${tabs}</div></div>`
}

const mail: App = (r, box, size) => {
  const folders = ['Inbox', 'Starred', 'Sent', 'Drafts', 'Archive', 'Spam', 'Trash']
    .map(
      (f, i) =>
        `<div data-seg class="${i === 0 ? 'sel' : ''} row" style="justify-content:space-between"><span>${f}</span>${i < 4 ? `<span class="muted">${r.int(1, 120)}</span>` : ''}</div>`,
    )
    .join('')
  const listW = Math.round(box.width * 0.3)
  const items = Array.from({ length: 14 }, (_, i) => {
    return `<div class="${i === 1 ? 'sel' : ''}" style="padding:8px 12px;border-bottom:1px solid var(--border)">
      <div data-seg class="row" style="justify-content:space-between"><b>${esc(person(r))}</b><span class="muted" style="font-size:12px">${time(r)}</span></div>
      <div data-seg style="white-space:nowrap;overflow:hidden">${esc(cap(words(r, 3, 7)))}</div></div>`
  }).join('')
  const from = person(r)
  const paras = Array.from({ length: 5 }, () => `<p data-seg>${esc(paragraph(r, r.int(2, 4)))}</p>`).join('')
  return `<div class="app" style="font-size:${size}px">
    <div class="side" style="width:170px">${folders}</div>
    <div style="position:absolute;left:170px;width:${listW}px;top:0;bottom:0;overflow:hidden;border-right:1px solid var(--border)">${items}</div>
    <div style="position:absolute;left:${170 + listW}px;right:0;top:0;bottom:0;overflow:hidden;padding:16px 24px">
      <div data-seg style="font-size:16px;font-weight:bold;margin-bottom:10px">${esc(cap(sentence(r, 4, 8)))}</div>
      <div class="muted" style="margin-bottom:4px">${seg('From: ' + from + ' <' + email(r) + '>')}</div>
      <div class="muted" style="margin-bottom:14px">${seg('To: ' + email(r))}</div>
      <p data-seg>Hi ${esc(person(r).split(' ')[0]!)},</p>${paras}<p data-seg>Best regards,</p><p data-seg>${esc(from)}</p></div></div>`
}

const settings: App = (r, _box, size) => {
  const nav = ['General', 'Appearance', 'Accounts', 'Notifications', 'Privacy', 'Network', 'Updates', 'About']
    .map((s, i) => `<div data-seg class="${i === 1 ? 'sel' : ''}">${s}</div>`)
    .join('')
  const fields = Array.from({ length: 12 }, () => {
    const label = cap(words(r, 2, 4))
    const value = r.pick([email(r), path(r), String(r.int(1, 9000)), cap(word(r)), `${r.int(1, 60)} minutes`])
    return `<div class="row" style="gap:16px;margin-bottom:14px"><div data-seg style="width:220px">${esc(label)}</div>
      <div data-seg class="btn" style="width:340px;background:var(--bg);overflow:hidden">${esc(value)}</div></div>
      <div data-seg class="muted" style="font-size:${Math.max(10, size - 2)}px;margin:-8px 0 14px 236px">${esc(sentence(r, 5, 10))}</div>`
  }).join('')
  return `<div class="app" style="font-size:${size}px">
    <div class="side" style="width:200px;padding-top:14px">${nav}</div>
    <div style="position:absolute;left:230px;top:20px;right:20px;bottom:0;overflow:hidden">
      <div data-seg style="font-size:16px;font-weight:bold;margin-bottom:18px">Appearance</div>${fields}</div></div>`
}

const chat: App = (r, box, size) => {
  const channels = ['general', 'random', 'release', 'design', 'support', 'ops-alerts']
    .map((c, i) => `<div data-seg class="${i === 2 ? 'sel' : ''}"># ${c}</div>`)
    .join('')
  const msgs = Array.from({ length: 16 }, () => {
    return `<div style="margin-bottom:12px"><div data-seg class="row" style="gap:8px"><b>${esc(person(r))}</b><span class="muted" style="font-size:11px">${time(r)}</span></div>
      <div data-seg style="max-width:${Math.round(box.width * 0.6)}px">${esc(r.chance(0.2) ? `See ${path(r)} line ${r.int(1, 300)}` : sentence(r, 4, 24))}</div></div>`
  }).join('')
  return `<div class="app" style="font-size:${size}px">
    <div class="side" style="width:180px;padding-top:12px"><div data-seg style="font-weight:bold;margin-bottom:8px">${esc(cap(word(r)))} Team</div>${channels}</div>
    <div class="bar" style="position:absolute;left:180px;right:0;top:0;height:40px">${seg('# release', 'style="font-weight:bold"')}${seg(`${r.int(3, 80)} members`, 'class="muted"')}</div>
    <div style="position:absolute;left:196px;right:16px;top:50px;bottom:60px;overflow:hidden;display:flex;flex-direction:column;justify-content:flex-end">${msgs}</div>
    <div class="btn" style="position:absolute;left:196px;right:16px;bottom:12px;height:36px;display:flex;align-items:center;background:var(--bg)"><span data-seg class="muted">Message # release</span></div></div>`
}

const logs: App = (r, box, size) => {
  const lh = Math.round(size * 1.45)
  const rows = Math.floor((box.height - 70) / lh)
  const lines = Array.from({ length: rows }, () => {
    const level = r.pick(['INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'DEBUG'])
    const colour = level === 'ERROR' ? 'var(--kw)' : level === 'WARN' ? 'var(--str)' : 'var(--fg)'
    const msg = r.pick([
      `request ${hex(r, 8)} completed in ${r.int(2, 900)} ms`,
      `${words(r, 3, 6)} (${path(r, false)})`,
      `connection to ${r.int(10, 192)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}:${r.int(1000, 9000)} ${r.pick(['closed', 'reset', 'opened'])}`,
      `retrying ${ident(r)} attempt ${r.int(1, 5)}/5`,
    ])
    return `<div data-seg style="white-space:pre;height:${lh}px;line-height:${lh}px;color:${colour}">${esc(`${timestamp(r)} ${level.padEnd(5)} [${r.pick(['worker', 'http', 'db', 'sched'])}-${r.int(1, 9)}] ${msg}`)}</div>`
  }).join('')
  const tools = ['All levels', 'Errors only', 'Follow', 'Clear', `Filter: ${word(r)}`]
    .map((s) => `<span data-seg class="btn">${esc(s)}</span>`)
    .join('')
  const status = [`${r.int(1000, 99000)} lines`, `${r.int(0, 40)} errors`, `${r.int(0, 99)} warnings`, `Updated ${time(r)}`]
    .map((s) => seg(s))
    .join('')
  return `<div class="app" style="font-size:${size}px">
    <div class="bar" style="height:40px;font-size:13px">${tools}</div>
    <div class="mono" style="position:absolute;top:46px;left:10px;right:10px;bottom:24px;overflow:hidden">${lines}</div>
    <div class="status" style="height:24px;font-size:12px">${status}</div></div>`
}

const docs: App = (r, box, size) => {
  const tabs = Array.from(
    { length: 4 },
    (_, i) =>
      `<div data-seg class="${i === 0 ? 'sel' : ''}" style="padding:6px 14px;max-width:220px;overflow:hidden">${esc(cap(words(r, 2, 3)))}</div>`,
  ).join('')
  const nav = Array.from({ length: 18 }, (_, i) => `<div data-seg class="${i === 4 ? 'sel' : ''}">${esc(cap(words(r, 1, 3)))}</div>`).join(
    '',
  )
  const article = Array.from({ length: 15 }, (_, i) =>
    i % 3 === 0
      ? `<div data-seg style="font-size:16px;font-weight:bold;margin:12px 0 8px">${esc(cap(words(r, 2, 5)))}</div>`
      : `<p data-seg style="line-height:1.5">${esc(paragraph(r, r.int(3, 5)))}</p>`,
  ).join('')
  return `<div class="app" style="font-size:${size}px">
    <div class="bar" style="height:34px;gap:0;padding:0;font-size:13px">${tabs}</div>
    <div class="bar" style="height:36px"><span data-seg class="btn" style="flex:1;background:var(--bg)">https://docs.${esc(word(r))}.dev/guide/${esc(ident(r))}</span></div>
    <div class="side" style="top:70px;width:220px;padding-top:14px">${nav}</div>
    <div style="position:absolute;left:250px;right:${Math.round(box.width * 0.1)}px;top:84px;bottom:0;overflow:hidden;font-family:'DejaVu Serif',serif">${article}</div></div>`
}

export const APPS: Record<AppKind, App> = { terminal, editor, sheet, mail, settings, chat, logs, docs }

/** A confirmation dialog, drawn over an app in the "dialog" layouts. */
export function dialogHtml(r: Rng, size: number): string {
  return `<div data-seg style="font-weight:bold;font-size:15px;margin-bottom:12px">${esc(cap(words(r, 2, 4)))}?</div>
    <div data-seg style="margin-bottom:14px;line-height:1.45">${esc(paragraph(r, 2))}</div>
    <div class="row" style="gap:8px;margin-bottom:18px;font-size:${size - 1}px"><span style="width:14px;height:14px;border:1px solid var(--border);display:inline-block"></span>${seg('Do not ask me again')}</div>
    <div class="row" style="gap:10px;justify-content:flex-end">${seg('Cancel', 'class="btn"')}${seg(cap(word(r)) + ' changes', 'class="btn primary"')}</div>`
}
