// Tables: a spreadsheet stretched across the screen (column letters, row numbers, right-aligned
// numbers far from the text cells) and a finance dashboard in a condensed font with KPI cards on
// gradients. Issue 20: wide gaps split a row into pieces; a row is one truth line (set 1's rule:
// cells joined by single spaces).
import { amount, city, person, product } from '../screens/text.js'
import { accented } from './text2.js'
import { div, esc, frame, menuBar, navBar, seg, segs, statusBar, tabStrip } from './parts.js'
import type { BuildContext } from './docs.js'

const row = (cells: string[], h: number): string => `<tr data-seg style="height:${h}px">${cells.join('')}</tr>`
const td = (s: string, num = false): string => `<td class="${num ? 'n' : ''}">${esc(s)}</td>`

export function spreadsheet({ r, theme }: BuildContext): string {
  const letters = 'ABCDEFGH'.split('')
  const head = row(['<th></th>', ...letters.map((l) => `<th style="text-align:center">${l}</th>`)], 22)
  const names = row(
    [td('1', true), ...['Item', 'Region', 'Owner', 'Qty', 'Unit price', 'Total', 'Margin %', 'Status'].map((h) => `<th>${h}</th>`)],
    24,
  )
  const body = Array.from({ length: 30 }, (_, i) =>
    row(
      [
        td(String(i + 2), true),
        td(product(r)),
        td(city(r)),
        td(person(r)),
        td(String(r.int(1, 9000)), true),
        td(amount(r, 900), true),
        td(amount(r), true),
        td(`${(r.int(-150, 600) / 10).toFixed(1)}%`, true),
        td(r.pick(['Shipped', 'Pending', 'Paid', 'Overdue'])),
      ],
      24,
    ),
  ).join('')
  const content = `${menuBar(['File', 'Edit', 'View', 'Insert', 'Format', 'Data', 'Tools', 'Extensions', 'Help'], 13)}
    <div class="hb" data-case="chrome" style="height:34px;gap:14px;padding:0 10px;font-size:12px">${segs(['Undo', 'Redo', '100%', 'Roboto', '11', 'Bold', 'Italic'], 'class="btn"')}</div>
    <div class="hb" data-case="chrome" style="height:28px;gap:12px;padding:0 10px;font-size:13px">${seg(`G${r.int(2, 31)}`, 'class="mono" style="width:60px"')}${seg(`=SUM(G2:G31)*(1-H${r.int(2, 31)}/100)`, 'class="mono"')}</div>
    <div data-case="table" style="position:absolute;left:0;right:0;top:90px;bottom:48px;overflow:hidden;font-size:13px;background:var(--bg)">
      <table style="width:100%">${head}${names}${body}</table></div>
    <div style="position:absolute;left:0;right:0;bottom:22px">${tabStrip(['Orders 2026', 'Summary', 'Regions', 'Pivot 1'], 12)}</div>
    ${statusBar([`Sum: ${amount(r)}`, `Average: ${amount(r, 9999)}`, `Count: ${r.int(2, 30)}`], 11)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: 'Orders 2026 - Spreadsheet', body: content })
}

export function finance({ r, theme }: BuildContext): string {
  const cards = [
    ['Revenue', `€${amount(r, 999)}k`, 'linear-gradient(135deg,#3a7bd5,#00d2ff)'],
    ['Expenses', `€${amount(r, 999)}k`, 'linear-gradient(135deg,#ee0979,#ff6a00)'],
    ['Net margin', `${(r.int(10, 400) / 10).toFixed(1)}%`, 'linear-gradient(135deg,#11998e,#38ef7d)'],
    ['Open invoices', String(r.int(10, 400)), 'linear-gradient(135deg,#8e2de2,#4a00e0)'],
  ]
    .map(
      ([t, v, g], i) =>
        `<div data-case="hard" style="position:absolute;left:${260 + i * 400}px;top:80px;width:370px;height:110px;border-radius:10px;background:${g};color:#fff;padding:16px 20px">
        ${div(t!, 'font-size:14px;opacity:.9')}${div(v!, 'font-size:32px;font-weight:bold;margin-top:6px')}</div>`,
    )
    .join('')
  const head = row(
    ['Date', 'Description', 'Category', 'Account', 'Amount', 'Balance'].map(
      (h, i) => `<th style="${i >= 4 ? 'text-align:right' : ''}">${h}</th>`,
    ),
    24,
  )
  const body = Array.from({ length: 26 }, () => {
    const desc = r.chance(0.3)
      ? accented(r, r.pick(['fr', 'de', 'pl'] as const))
          .slice(0, 38)
          .replace(/[ ,]+$/, '')
      : `Invoice ${r.int(1000, 9999)} ${person(r)}`
    return row(
      [
        td(`2026-${String(r.int(1, 11)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`),
        td(desc),
        td(r.pick(['Travel', 'Software', 'Office', 'Payroll', 'Taxes'])),
        td(`DE${r.int(10, 99)} ${r.int(1000, 9999)} ${r.int(1000, 9999)}`),
        td(`${r.chance(0.4) ? '-' : ''}${amount(r, 20000)}`, true),
        td(amount(r, 900000), true),
      ],
      26,
    )
  }).join('')
  const side = ['Dashboard', 'Transactions', 'Invoices', 'Customers', 'Reports', 'Settings']
    .map((s, i) => div(s, 'padding:8px 20px', i === 1 ? 'class="sel"' : ''))
    .join('')
  const content = `${navBar(['Finance', 'Overview', 'Budgets', 'Forecasts', 'Help'], 13)}
    <div data-case="chrome" style="position:absolute;left:0;top:44px;width:230px;bottom:22px;background:var(--panel);padding-top:14px;font-size:14px">${side}</div>
    ${cards}
    <div data-case="table" style="position:absolute;left:260px;right:40px;top:220px;bottom:40px;overflow:hidden;font-size:11px">
      <table style="width:100%">${head}${body}</table></div>
    ${statusBar([`Showing 1-26 of ${r.int(300, 900)}`, `Last sync ${String(r.int(7, 19)).padStart(2, '0')}:${String(r.int(10, 59))}`, 'EUR'], 10)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: 'Finance - Transactions', body: content })
}
