// The real-data screen set for the text layer (issue 11): desktop-like screens rendered by
// Debian's Chromium, with the truth measured in the page (see measure.ts for what a line is).
//
//   renderScreens({ out })        renders the full set (or some of it) into a folder
//   loadScreens()                 the same through a cache keyed by these sources, for the bench
//   renderSmallScreens({ out })   a few 900x600 screens in a second or two, for unit tests
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { chromiumMissing, launchChromium } from '../../support/chromium.js'
import { APP_CSS, APPS, dialogHtml, esc, themeVars, type AppKind, type Theme } from './apps.js'
import { MEASURE_SCRIPT, type TruthLine } from './measure.js'
import { Rng, cap, time, word, words } from './text.js'

export type { TruthBox, TruthLine } from './measure.js'
export type ScreenKind = 'window' | 'desktop'

export interface ScreenCase {
  /** e.g. "window-editor-dark@4k" */
  id: string
  /** Absolute path of the PNG. */
  file: string
  /** Pixel size of the PNG. */
  width: number
  height: number
  /** Device pixels per CSS pixel: 1 for 1080p, 2 for 4K. */
  scale: number
  kind: ScreenKind
  theme: Theme | 'mixed'
  lines: TruthLine[]
}

/** "1080p": 1920x1080 at scale 1; "4k": the same CSS layout at scale 2 (3840x2160). */
export type ScreenSize = '1080p' | '4k'
export const SIZES: Record<ScreenSize, { scale: number }> = { '1080p': { scale: 1 }, '4k': { scale: 2 } }

/** Why screens cannot be rendered here, or null when they can. */
export const screensSkipReason = chromiumMissing

interface WindowSpec {
  app: AppKind
  theme: Theme
  /** CSS px on the page. */
  x: number
  y: number
  width: number
  height: number
  title: string
  size: number
  dialog?: boolean
}
export interface Layout {
  name: string
  kind: ScreenKind
  /** CSS size of the page. */
  width: number
  height: number
  windows: WindowSpec[]
  /** Desktop icons and a taskbar (desktops only). */
  desktop?: { wallpaper: number; taskbarTheme: Theme; icons: boolean }
  seed: number
  /** Extra HTML on top (the small test screens). */
  extra?: string
}

const TITLES: Record<AppKind, string> = {
  terminal: 'Terminal',
  editor: 'Code',
  sheet: 'Spreadsheet',
  mail: 'Mail',
  settings: 'Settings',
  chat: 'Chat',
  logs: 'Log Viewer',
  docs: 'Browser',
}

// The single-window layouts: one app filling the screen, four light and four dark.
const WINDOW_LAYOUTS: [AppKind, Theme, number, boolean?][] = [
  ['terminal', 'dark', 13],
  ['editor', 'dark', 14],
  ['sheet', 'light', 13],
  ['mail', 'light', 14],
  ['settings', 'light', 13, true],
  ['chat', 'dark', 14],
  ['logs', 'light', 12],
  ['docs', 'dark', 15],
]

function windowLayouts(): Layout[] {
  return WINDOW_LAYOUTS.map(([app, theme, size, dialog], i) => ({
    name: `window-${app}-${theme}`,
    kind: 'window',
    width: 1920,
    height: 1080,
    seed: 100 + i,
    windows: [{ app, theme, x: 0, y: 0, width: 1920, height: 1080, title: `${TITLES[app]}`, size, dialog: dialog ?? false }],
  }))
}

// Busy desktops: 3-4 windows of different apps and themes, tiled with slight overlaps, a
// wallpaper, desktop icons and a taskbar. Positions come from the seed, not by hand.
function desktopLayouts(): Layout[] {
  const out: Layout[] = []
  for (let d = 0; d < 6; d++) {
    const r = new Rng(500 + d)
    const count = d % 2 === 0 ? 3 : 4
    const apps = [...APPS_ORDER].sort(() => r.next() - 0.5).slice(0, count)
    const windows: WindowSpec[] = []
    const top = 30
    const usableH = 1080 - 44 - top
    // Three windows: one tall on the left, two stacked right; four: a 2x2 grid. Each window
    // grows past its cell by up to 40 px so neighbours overlap a little, as real desktops do.
    const cells =
      count === 3
        ? [
            { x: 140, y: top, w: 860, h: usableH },
            { x: 1000, y: top, w: 900, h: usableH / 2 },
            { x: 1000, y: top + usableH / 2, w: 900, h: usableH / 2 },
          ]
        : [
            { x: 140, y: top, w: 880, h: usableH / 2 },
            { x: 1020, y: top, w: 880, h: usableH / 2 },
            { x: 140, y: top + usableH / 2, w: 880, h: usableH / 2 },
            { x: 1020, y: top + usableH / 2, w: 880, h: usableH / 2 },
          ]
    cells.forEach((c, i) => {
      const grow = r.int(0, 40)
      const theme: Theme = (i + d) % 2 === 0 ? 'dark' : 'light'
      windows.push({
        app: apps[i]!,
        theme,
        x: Math.round(c.x - r.int(0, 20)),
        y: Math.round(c.y + r.int(0, 12)),
        width: Math.round(c.w + grow - 10),
        height: Math.round(c.h + r.int(0, 30) - 14),
        title: `${TITLES[apps[i]!]} - ${cap(words(r, 1, 3))}`,
        size: r.int(11, 14),
      })
    })
    out.push({
      name: `desktop-${d + 1}`,
      kind: 'desktop',
      width: 1920,
      height: 1080,
      seed: 600 + d,
      windows,
      desktop: { wallpaper: d % 3, taskbarTheme: d % 2 === 0 ? 'dark' : 'light', icons: d % 2 === 1 },
    })
  }
  return out
}
const APPS_ORDER: AppKind[] = ['terminal', 'editor', 'sheet', 'mail', 'settings', 'chat', 'logs', 'docs']

/** The full set: 8 single windows and 6 busy desktops. */
export function fullLayouts(): Layout[] {
  return [...windowLayouts(), ...desktopLayouts()]
}

/** A marker word placed only where a window covers it in the small "overlap" screen. */
export const COVERED_MARKER = 'zqcovered'

/** Small screens for unit tests: a dialog, two windows side by side, a table, an overlap. */
export function smallLayouts(): Layout[] {
  const W = 900
  const H = 600
  const overlapLines = Array.from(
    { length: 8 },
    (_, i) =>
      `<div data-seg style="white-space:pre;font-family:'DejaVu Sans Mono';font-size:14px;line-height:22px">visible line ${i + 1} then ${COVERED_MARKER}${i + 1} end</div>`,
  ).join('')
  return [
    {
      name: 'small-dialog',
      kind: 'window',
      width: W,
      height: H,
      seed: 900,
      windows: [{ app: 'settings', theme: 'light', x: 0, y: 0, width: W, height: H, title: 'Settings', size: 13, dialog: true }],
    },
    {
      name: 'small-side-by-side',
      kind: 'desktop',
      width: W,
      height: H,
      seed: 901,
      windows: [
        { app: 'terminal', theme: 'dark', x: 10, y: 10, width: 430, height: 540, title: 'Terminal', size: 12 },
        { app: 'chat', theme: 'light', x: 455, y: 10, width: 435, height: 540, title: 'Chat', size: 12 },
      ],
      desktop: { wallpaper: 0, taskbarTheme: 'dark', icons: false },
    },
    {
      name: 'small-table',
      kind: 'window',
      width: W,
      height: H,
      seed: 902,
      windows: [{ app: 'sheet', theme: 'light', x: 0, y: 0, width: W, height: H, title: 'Spreadsheet', size: 13 }],
    },
    {
      // The back window's lines end in marker words; the front window covers them.
      name: 'small-overlap',
      kind: 'desktop',
      width: W,
      height: H,
      seed: 903,
      windows: [],
      desktop: { wallpaper: 1, taskbarTheme: 'light', icons: false },
      extra: `<div class="win" style="left:20px;top:20px;width:600px;height:300px;${themeVars('light')}"><div class="app" style="padding:12px;top:0">${overlapLines}</div></div>
        <div class="win" style="left:205px;top:40px;width:640px;height:400px;${themeVars('dark')}"><div class="app" style="padding:16px;font-size:14px;top:0"><div data-seg>The front window reads plainly.</div></div></div>`,
    },
  ]
}

const WALLPAPERS = [
  // Photo-like: soft colour blobs over a gradient, with fine noise from a repeating pattern.
  'radial-gradient(circle at 20% 30%, #6a8caf 0, transparent 45%), radial-gradient(circle at 75% 70%, #c48f65 0, transparent 50%), radial-gradient(circle at 60% 20%, #9bb07a 0, transparent 35%), linear-gradient(135deg, #2d3e50, #7c5c7a)',
  'radial-gradient(ellipse at 30% 80%, #f0b37e 0, transparent 55%), radial-gradient(ellipse at 80% 20%, #5fa8d3 0, transparent 50%), linear-gradient(180deg, #1b263b, #415a77 60%, #e0a96d)',
  'repeating-linear-gradient(45deg, rgba(255,255,255,0.03) 0 2px, transparent 2px 5px), radial-gradient(circle at 50% 50%, #3a7d44 0, transparent 60%), linear-gradient(90deg, #16222a, #3a6073)',
]

function windowHtml(w: WindowSpec, r: Rng): string {
  const titleH = 30
  const content = APPS[w.app](r, { width: w.width, height: w.height - titleH }, w.size)
  const dialog = w.dialog
    ? `<div class="app" style="left:${w.width / 2 - 240}px;top:${w.height / 2 - 130}px;width:480px;height:auto;bottom:auto;right:auto;
        padding:20px;border:1px solid var(--border);border-radius:8px;box-shadow:0 8px 30px rgba(0,0,0,.35);font-size:${w.size}px">${dialogHtml(r, w.size)}</div>`
    : ''
  return `<div class="win" style="left:${w.x}px;top:${w.y}px;width:${w.width}px;height:${w.height}px;${themeVars(w.theme)}">
    <div class="title"><span class="dots"><i></i><i></i><i></i></span><span data-seg>${esc(w.title)}</span></div>
    <div style="position:absolute;left:0;right:0;top:${titleH}px;bottom:0;overflow:hidden">${content}${dialog}</div></div>`
}

export function layoutHtml(layout: Layout): string {
  const r = new Rng(layout.seed)
  const windows = layout.windows.map((w) => windowHtml(w, r)).join('')
  let desktop = ''
  if (layout.desktop) {
    const tb = themeVars(layout.desktop.taskbarTheme)
    const apps = ['Files', ...layout.windows.map((w) => TITLES[w.app]), 'Settings']
    const items = apps.map((a) => `<span data-seg class="tbi">${esc(a)}</span>`).join('')
    const icons = layout.desktop.icons
      ? ['Home', 'Trash', `${cap(word(r))} notes.txt`, `Report ${time(r).replace(':', '')}.pdf`]
          .map((t, i) => `<div class="icon" style="top:${40 + i * 100}px"><div class="glyph"></div><span data-seg>${esc(t)}</span></div>`)
          .join('')
      : ''
    const bar = `<div class="taskbar" style="${tb}"><span data-seg class="tbi" style="font-weight:bold">Activities</span>${items}
      <span style="flex:1"></span><span data-seg>${esc(time(r))}</span><span data-seg>${esc(`Mon ${r.int(1, 28)} Nov`)}</span></div>`
    desktop = icons + bar
  }
  const bg = layout.desktop ? WALLPAPERS[layout.desktop.wallpaper % WALLPAPERS.length] : '#000'
  return `<!doctype html><html><head><meta charset="utf-8"><style>${APP_CSS}
    html, body { width: ${layout.width}px; height: ${layout.height}px; overflow: hidden; background: ${bg}; }
    .win { position: absolute; overflow: hidden; border-radius: 6px 6px 0 0; box-shadow: 0 6px 24px rgba(0,0,0,.45); background: var(--bg); }
    .title { height: 30px; background: var(--title); color: var(--fg); display: flex; align-items: center; gap: 10px; padding: 0 10px; font: 13px 'DejaVu Sans', sans-serif; border-bottom: 1px solid var(--border); white-space: nowrap; }
    .dots i { display: inline-block; width: 11px; height: 11px; border-radius: 50%; margin-right: 6px; background: #e06c5f; }
    .dots i + i { background: #e5c07b; } .dots i + i + i { background: #98c379; }
    .taskbar { position: absolute; left: 0; right: 0; bottom: 0; height: 44px; background: var(--panel); color: var(--fg); display: flex; align-items: center; gap: 18px; padding: 0 16px; font: 13px 'DejaVu Sans', sans-serif; border-top: 1px solid var(--border); }
    .tbi { padding: 6px 10px; border-radius: 4px; background: var(--btn); }
    .icon { position: absolute; left: 20px; width: 100px; text-align: center; color: #fff; font: 12px 'DejaVu Sans', sans-serif; text-shadow: 0 1px 2px rgba(0,0,0,.9); }
    .icon .glyph { width: 44px; height: 44px; margin: 0 auto 6px; border-radius: 8px; background: rgba(255,255,255,.55); }
    </style></head><body>${windows}${layout.extra ?? ''}${desktop}</body></html>`
}

export interface RenderOptions {
  /** Folder for the PNGs and their truth JSON. */
  out: string
  sizes?: ScreenSize[]
  /** Layout names (see fullLayouts/smallLayouts), or the layouts themselves; the full set by default. */
  layouts?: (string | Layout)[]
  /** Reuse an open browser (tests rendering several batches). */
  browser?: Browser
  log?: (line: string) => void
}

function resolveLayouts(wanted: (string | Layout)[] | undefined): Layout[] {
  const all = [...fullLayouts(), ...smallLayouts()]
  if (!wanted) return fullLayouts()
  return wanted.map((w) => {
    if (typeof w !== 'string') return w
    const found = all.find((l) => l.name === w)
    if (!found) throw new Error(`no screen layout named ${w}`)
    return found
  })
}

/** Renders each layout at each size into options.out: <id>.png and <id>.json (the ScreenCase). */
export async function renderScreens(options: RenderOptions): Promise<ScreenCase[]> {
  const sizes = options.sizes ?? (['1080p', '4k'] as ScreenSize[])
  const layouts = resolveLayouts(options.layouts)
  await mkdir(options.out, { recursive: true })
  const browser = options.browser ?? (await launchChromium())
  const cases: ScreenCase[] = []
  try {
    for (const size of sizes) {
      const { scale } = SIZES[size]
      // deviceScaleFactor belongs to the context; one context per size.
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: scale })
      const page = await context.newPage()
      try {
        for (const layout of layouts) {
          const started = performance.now()
          await page.setViewportSize({ width: layout.width, height: layout.height })
          await page.setContent(layoutHtml(layout), { waitUntil: 'load' })
          await page.evaluate('document.fonts.ready.then(() => true)')
          const lines = (await page.evaluate(MEASURE_SCRIPT)) as TruthLine[]
          const id = `${layout.name}@${size}`
          const file = join(options.out, `${id}.png`)
          await page.screenshot({ path: file, type: 'png' })
          const themes = new Set(layout.windows.map((w) => w.theme))
          const screen: ScreenCase = {
            id,
            file,
            width: layout.width * scale,
            height: layout.height * scale,
            scale,
            kind: layout.kind,
            theme: themes.size === 1 ? [...themes][0]! : 'mixed',
            lines,
          }
          await writeFile(join(options.out, `${id}.json`), JSON.stringify(screen, null, 1))
          cases.push(screen)
          options.log?.(`${id}: ${lines.length} lines, ${Math.round(performance.now() - started)} ms`)
        }
      } finally {
        await context.close()
      }
    }
  } finally {
    if (!options.browser) await browser.close()
  }
  return cases
}

const HERE = dirname(fileURLToPath(import.meta.url))

/** Hash of the generator's sources: a change to any of them renders the set again. */
export async function generatorHash(): Promise<string> {
  const hash = createHash('sha256')
  for (const name of (await readdir(HERE)).filter((n) => n.endsWith('.ts')).sort()) {
    hash.update(name)
    hash.update(await readFile(join(HERE, name)))
  }
  return hash.digest('hex').slice(0, 16)
}

export const CACHE_ROOT = join(homedir(), '.cache', 'local-vision-assistant', 'ocr-screens')

/**
 * The full set (or the sizes/layouts asked for) from the cache in
 * ~/.cache/local-vision-assistant/ocr-screens/<hash of the sources>/, rendering what is missing.
 */
export async function loadScreens(options: Omit<RenderOptions, 'out'> & { cacheDir?: string } = {}): Promise<ScreenCase[]> {
  const dir = options.cacheDir ?? join(CACHE_ROOT, await generatorHash())
  const sizes = options.sizes ?? (['1080p', '4k'] as ScreenSize[])
  const layouts = resolveLayouts(options.layouts)
  const cases: ScreenCase[] = []
  const missing: Layout[] = []
  const missingSizes = new Set<ScreenSize>()
  for (const layout of layouts)
    for (const size of sizes) {
      const json = join(dir, `${layout.name}@${size}.json`)
      if (existsSync(json) && existsSync(json.replace(/\.json$/, '.png'))) continue
      if (!missing.includes(layout)) missing.push(layout)
      missingSizes.add(size)
    }
  if (missing.length) {
    // Render into a scratch folder and move the files in, so a killed run leaves no half case.
    const scratch = `${dir}.tmp-${process.pid}`
    const rendered = await renderScreens({ ...options, out: scratch, layouts: missing, sizes: [...missingSizes] })
    await mkdir(dir, { recursive: true })
    for (const c of rendered) {
      const png = join(dir, `${c.id}.png`)
      await rename(c.file, png)
      await writeFile(join(dir, `${c.id}.json`), JSON.stringify({ ...c, file: png }, null, 1))
    }
    await rm(scratch, { recursive: true, force: true })
  }
  for (const layout of layouts)
    for (const size of sizes) {
      const id = `${layout.name}@${size}`
      const screen = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as ScreenCase
      cases.push({ ...screen, file: join(dir, `${id}.png`) })
    }
  return cases
}

/** The small test screens (900x600 CSS px, scale 1): a second or two for all four. */
export async function renderSmallScreens(options: { out: string; browser?: Browser; sizes?: ScreenSize[] }): Promise<ScreenCase[]> {
  return renderScreens({ ...options, sizes: options.sizes ?? ['1080p'], layouts: smallLayouts() })
}
