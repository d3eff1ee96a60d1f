// One small screen per layout case of issue 20, for npm test (desktop-cases.test.ts): a column
// pair, a tab strip, a code gutter, right-aligned table rows (a list and a gridded spreadsheet), a covered line, low-contrast
// lines, accented lines and Chinese lines, each a few hundred pixels and each with the lines a
// reader must give back, one per line. The page's measured truth must equal `expected`, so the
// hand-written list and the hit-testing agree. In the covered case each back line's tail sits
// under the front window and must be in neither the truth nor the expected lines.
import { themeVars } from '../screens/apps.js'
import type { PageSpec } from './index.js'
import { CSS2, esc, LOW } from './parts.js'

export interface DesktopCase {
  name: string
  width: number
  height: number
  /** Body content; the page is light, DejaVu Sans 14 px unless the content says otherwise. */
  html: string
  expected: string[]
  /** Fonts the case needs (it is skipped, saying so, where fontconfig lacks one). */
  fonts: string[]
}

const lines = (items: readonly string[], style = ''): string =>
  items.map((t) => `<div data-seg style="white-space:pre;${style}">${esc(t)}</div>`).join('')

const LEFT = ['The left column starts here', 'and carries on below it', 'with a third short row', 'then ends on the fourth']
const RIGHT = ['A right column sits apart', 'its rows level with the left', 'so a reader may glue them', 'into one line per row']
const TABS = ['Overview', 'Settings', 'Billing', 'Members', 'Audit log']
const GUTTER = ['41', '42', '43', '44']
const CODE = ['const total = items.length', 'if (total > limit) {', 'return trimmed(items)', '}']
const ROWS: [string, string, string][] = [
  ['Widget A-12', 'Berlin', '1,234.50'],
  ['Sensor Pro-7', 'Lisbon', '87.00'],
  ['Cable X-31', 'Oslo', '12,900.25'],
]
const GRID: [string, string, string][] = [
  ['Adapter S2-40', 'Vienna', '3,050.00'],
  ['Module Mini-18', 'Prague', '412.75'],
  ['Valve B-66', 'Dublin', '77,310.90'],
]
const BACK = ['first line under a window', 'second line under a window', 'third line under a window']
const FRONT = ['The front window is read', 'all the way to its edge']
const LOW_LINES = ['Last synced five minutes ago', 'Enter a name for this folder', 'Delete account']
const ACCENTED = ['Größe ändern für alle Benutzer', 'Zażółć gęślą jaźń w Łodzi', 'Paramètres de sécurité avancés']
const CHINESE = ['保存成功！', '网络错误：连接超时', '请在月底之前提交季度报告。']

export const DESKTOP_CASES: DesktopCase[] = [
  {
    name: 'column-pair',
    width: 560,
    height: 140,
    html: `<div style="position:absolute;left:16px;top:16px;width:240px;line-height:24px">${lines(LEFT)}</div>
      <div style="position:absolute;left:292px;top:16px;width:250px;line-height:24px">${lines(RIGHT)}</div>`,
    expected: [...LEFT, ...RIGHT],
    fonts: ['DejaVu Sans'],
  },
  {
    name: 'tab-strip',
    width: 560,
    height: 80,
    html: `<div class="hb tabs" style="font-size:13px;position:absolute;left:0;right:0;top:20px">${TABS.map((t, i) => `<span data-seg class="${i === 1 ? 'on' : ''}">${esc(t)}</span>`).join('')}</div>`,
    expected: TABS,
    fonts: ['DejaVu Sans'],
  },
  {
    name: 'gutter',
    width: 420,
    height: 120,
    html: `<div class="mono" style="position:absolute;left:10px;top:14px;width:28px;text-align:right;color:var(--muted);line-height:22px">${lines(GUTTER)}</div>
      <div class="mono" style="position:absolute;left:54px;top:14px;line-height:22px">${CODE.map((t, i) => `<div data-seg style="white-space:pre;padding-left:${i === 2 ? 2 : 0}ch">${esc(t)}</div>`).join('')}</div>`,
    expected: [...GUTTER, ...CODE],
    fonts: ['DejaVu Sans Mono'],
  },
  {
    name: 'table-row',
    width: 640,
    height: 120,
    html: `<table style="position:absolute;left:10px;top:14px;width:620px;font-size:13px">${ROWS.map((r) => `<tr data-seg style="border-bottom:1px solid var(--border)">${r.map((cell, i) => `<td class="${i === 2 ? 'n' : ''}" style="border:0;padding:5px 10px">${esc(cell)}</td>`).join('')}</tr>`).join('')}</table>`,
    expected: ROWS.map((r) => r.join(' ')),
    fonts: ['DejaVu Sans'],
  },
  {
    // A spreadsheet's grid: the same kind of rows, with cell borders between the cells.
    name: 'grid-row',
    width: 640,
    height: 120,
    html: `<table style="position:absolute;left:10px;top:14px;width:620px;font-size:13px">${GRID.map((r) => `<tr data-seg><td>${esc(r[0])}</td><td>${esc(r[1])}</td><td class="n">${esc(r[2])}</td></tr>`).join('')}</table>`,
    expected: GRID.map((r) => r.join(' ')),
    fonts: ['DejaVu Sans'],
  },
  {
    name: 'covered-line',
    width: 560,
    height: 160,
    html: `<div class="w2" style="left:10px;top:10px;width:420px;height:130px"><div class="bd" style="top:0;padding:12px;line-height:24px">${BACK.map((t) => `<div data-seg style="white-space:pre"><span style="display:inline-block;width:240px">${esc(t)}</span>hidden tail</div>`).join('')}</div></div>
      <div class="w2" style="left:260px;top:14px;width:290px;height:130px;z-index:2;${themeVars('dark')}"><div class="bd" style="top:0;padding:16px;line-height:24px">${lines(FRONT)}</div></div>`,
    expected: [...BACK, ...FRONT],
    fonts: ['DejaVu Sans'],
  },
  {
    name: 'low-contrast',
    width: 480,
    height: 120,
    html: `<div style="position:absolute;inset:0;background:${LOW.light.bg};color:${LOW.light.fg};padding:16px;line-height:26px;font-size:13px">${lines(LOW_LINES)}</div>`,
    expected: LOW_LINES,
    fonts: ['DejaVu Sans'],
  },
  {
    name: 'accented',
    width: 480,
    height: 120,
    html: `<div style="padding:16px;line-height:28px;font-size:15px">${lines(ACCENTED)}</div>`,
    expected: ACCENTED,
    fonts: ['DejaVu Sans'],
  },
  {
    name: 'chinese',
    width: 420,
    height: 130,
    html: `<div style="padding:16px;line-height:30px;font-size:16px;font-family:'Noto Sans CJK SC',sans-serif">${lines(CHINESE)}</div>`,
    expected: CHINESE,
    fonts: ['Noto Sans CJK SC'],
  },
]

/** A case as a page to render: light theme, grey anti-aliasing. */
export function casePage(c: DesktopCase): PageSpec {
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>${CSS2}
    html, body { width: ${c.width}px; height: ${c.height}px; overflow: hidden; }
    body { ${themeVars('light')}; background: var(--bg); color: var(--fg); font: 14px 'DejaVu Sans', sans-serif; }
    </style></head><body>${c.html}</body></html>`
  return { name: c.name, html, width: c.width, height: c.height, theme: 'light', smoothing: 'grayscale' }
}
