// Building blocks of the second screen set's pages: window frames, menu bars, tab strips,
// breadcrumbs, status bars, drop-down menus with shortcuts, wallpapers. Every separate UI item is
// its own data-seg element (one truth line, see set 1's measure.ts); a drop-down row (a label and
// its shortcut) is one segment, like a table row in set 1. Breadcrumb separators are drawn as
// CSS chevrons, not glyphs, as most toolkits draw them, so they are no text of their own.
// data-case on a container names the issue-20 case its lines belong to (see index.ts).
import { APP_CSS, esc, themeVars, type Theme } from '../screens/apps.js'

export type CaseKind = 'columns' | 'chrome' | 'code' | 'table' | 'overlap' | 'hard' | 'accents' | 'cjk'
export const CASE_KINDS: readonly CaseKind[] = ['columns', 'chrome', 'code', 'table', 'overlap', 'hard', 'accents', 'cjk']

export { esc, themeVars, type Theme }

/** Low-contrast colours per theme: grey on light grey (about 2:1), and its dark counterpart. */
export const LOW = { light: { fg: '#9c9c9c', bg: '#e8e8e8' }, dark: { fg: '#6e6e6e', bg: '#2a2a2a' } } as const

export const CSS2 = `${APP_CSS}
body { position: relative; }
.w2 { position: absolute; overflow: hidden; background: var(--bg); color: var(--fg); border: 1px solid var(--border); box-shadow: 0 8px 28px rgba(0,0,0,.4); border-radius: 6px 6px 0 0; }
.w2 > .tt { height: 30px; background: var(--title); display: flex; align-items: center; padding: 0 12px; gap: 10px; white-space: nowrap; border-bottom: 1px solid var(--border); font-size: 13px; }
.w2 > .bd { position: absolute; left: 0; right: 0; top: 30px; bottom: 0; overflow: hidden; }
.hb { display: flex; align-items: center; white-space: nowrap; overflow: hidden; background: var(--panel); border-bottom: 1px solid var(--border); }
.menubar { gap: 16px; padding: 0 10px; height: 26px; }
.tabs { height: 32px; gap: 0; }
.tabs > span { padding: 0 16px; height: 100%; display: flex; align-items: center; border-right: 1px solid var(--border); }
.tabs > span.on { background: var(--bg); border-top: 2px solid var(--accent); }
.crumbs { gap: 22px; padding: 0 12px; height: 24px; background: var(--bg); }
.crumbs > span + span::before { content: ''; position: absolute; margin-left: -15px; margin-top: 5px; width: 5px; height: 5px; border-right: 1.5px solid var(--muted); border-top: 1.5px solid var(--muted); transform: rotate(45deg); }
.statusbar { position: absolute; left: 0; right: 0; bottom: 0; height: 22px; gap: 22px; padding: 0 10px; background: var(--accent); color: #fff; }
.navbar { gap: 26px; padding: 0 24px; height: 44px; }
.menu { position: absolute; background: var(--panel); color: var(--fg); border: 1px solid var(--border); box-shadow: 0 6px 20px rgba(0,0,0,.35); padding: 4px 0; min-width: 240px; z-index: 20; }
.menu > div { display: flex; justify-content: space-between; gap: 40px; padding: 4px 14px; white-space: nowrap; }
.menu > div > span:last-child { color: var(--muted); }
.menu > hr { border: 0; border-top: 1px solid var(--border); margin: 4px 0; }
.field { border: 1px solid var(--border); border-radius: 4px; padding: 5px 8px; background: var(--bg); white-space: nowrap; overflow: hidden; }
.ph { color: var(--muted); opacity: .75; }
.disabled { opacity: .45; }
.dock { position: absolute; left: 0; right: 0; bottom: 0; height: 40px; display: flex; gap: 16px; align-items: center; padding: 0 14px; background: rgba(20,20,24,.82); color: #eee; font-size: 12px; white-space: nowrap; }
.dicon { position: absolute; width: 96px; text-align: center; color: #fff; font-size: 12px; text-shadow: 0 1px 2px rgba(0,0,0,.8); }
.dicon::before { content: ''; display: block; width: 40px; height: 40px; margin: 0 auto 5px; border-radius: 8px; background: rgba(255,255,255,.6); }
`

/** Each string its own segment, in a span (optional extra attributes on each). */
export const segs = (items: readonly string[], attrs = ''): string => items.map((s) => `<span data-seg ${attrs}>${esc(s)}</span>`).join('')
export const seg = (text: string, attrs = ''): string => `<span data-seg ${attrs}>${esc(text)}</span>`
export const div = (text: string, style = '', attrs = ''): string => `<div data-seg ${attrs} style="${style}">${esc(text)}</div>`

export const menuBar = (items: readonly string[], size: number): string =>
  `<div class="hb menubar" data-case="chrome" style="font-size:${size}px">${segs(items)}</div>`
export const tabStrip = (items: readonly string[], size: number, on = 0): string =>
  `<div class="hb tabs" data-case="chrome" style="font-size:${size}px">${items.map((t, i) => `<span data-seg class="${i === on ? 'on' : ''}">${esc(t)}</span>`).join('')}</div>`
export const crumbs = (items: readonly string[], size: number): string =>
  `<div class="hb crumbs" data-case="chrome" style="font-size:${size}px">${segs(items)}</div>`
export const statusBar = (items: readonly string[], size: number): string =>
  `<div class="hb statusbar" data-case="chrome" style="font-size:${size}px">${segs(items)}</div>`
export const navBar = (items: readonly string[], size: number, style = ''): string =>
  `<div class="hb navbar" data-case="chrome" style="font-size:${size}px;${style}">${segs(items)}</div>`

/** A drop-down or context menu: [label, shortcut] rows ('' shortcut: none; '-' label: a separator). */
export function dropMenu(rows: readonly (readonly [string, string])[], x: number, y: number, size: number, c: CaseKind = 'chrome'): string {
  const body = rows
    .map(([label, key]) =>
      label === '-' ? '<hr>' : `<div data-seg><span>${esc(label)}</span>${key ? `<span>${esc(key)}</span>` : ''}</div>`,
    )
    .join('')
  return `<div class="menu" data-case="${c}" style="left:${x}px;top:${y}px;font-size:${size}px">${body}</div>`
}

export interface Frame {
  x: number
  y: number
  w: number
  h: number
  theme: Theme
  title: string
  body: string
  font?: string
  z?: number
  case?: CaseKind
}
/** A window with a title bar; the body fills the rest and clips what overflows. */
export function frame(f: Frame): string {
  const font = f.font ? `font-family:${f.font};` : ''
  const c = f.case ? ` data-case="${f.case}"` : ''
  return `<div class="w2"${c} style="left:${f.x}px;top:${f.y}px;width:${f.w}px;height:${f.h}px;z-index:${f.z ?? 1};${themeVars(f.theme)};${font}">
    <div class="tt"><span data-seg>${esc(f.title)}</span></div><div class="bd">${f.body}</div></div>`
}

/** A noisy photo-like wallpaper: SVG turbulence over colour blobs (text on it is the hard case). */
export function noisyWallpaper(seed: number): string {
  const svg = `<svg xmlns='http://www.w3.org/2000/svg' width='512' height='512'><filter id='n'><feTurbulence type='fractalNoise' baseFrequency='0.9' numOctaves='3' seed='${seed}'/><feColorMatrix values='0 0 0 0 0.5 0 0 0 0 0.5 0 0 0 0 0.5 0 0 0 .55 0'/></filter><rect width='512' height='512' filter='url(#n)'/></svg>`
  // Fully escaped and unquoted, so it fits in a style attribute and in a style sheet alike.
  const url = `data:image/svg+xml,${encodeURIComponent(svg).replace(/'/g, '%27').replace(/\(/g, '%28').replace(/\)/g, '%29')}`
  return `url(${url}), radial-gradient(circle at 25% 35%, #d9a45b 0, transparent 40%), radial-gradient(circle at 70% 60%, #4b7fa8 0, transparent 45%), linear-gradient(160deg, #23313f, #6d8a5a 55%, #c8b27a)`
}

/** The whole page: the shared CSS, the body's font and background, and the content. */
export function page(content: string, o: { width: number; height: number; font: string; background: string; theme: Theme }): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>${CSS2}
    html, body { width: ${o.width}px; height: ${o.height}px; overflow: hidden; }
    body { background: ${o.background}; font-family: ${o.font}; ${themeVars(o.theme)}; color: var(--fg); }
    </style></head><body>${content}</body></html>`
}
