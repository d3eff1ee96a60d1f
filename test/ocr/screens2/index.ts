// The second screen set for the text layer (issue 20): desktop-like screens of the layout cases
// where reading fails (columns, tab strips and menus, code gutters, tables, overlapping windows,
// hard rendering, accented Latin, Chinese), in four font families and four text-smoothing
// modes, rendered by Debian's Chromium with the truth measured in the page by set 1's
// measure.ts (each character hit-tested with elementFromPoint, so covered or clipped text is
// not in the truth). Lines holding Chinese are kept in a truth of their own (cjkLines); every
// line is labelled with the case of the region it lies in (the data-case at its centre).
//
//   loadScreens2()        the set through a cache keyed by the generator's sources, for the bench
//   renderPages(pages)    any pages (the small case screens of desktop-cases.test.ts)
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CACHE_ROOT, SIZES, screensSkipReason, type ScreenSize, type TruthLine } from '../screens/index.js'
import { MEASURE_SCRIPT } from '../screens/measure.js'
import { launchWithSmoothing, type Smoothing } from './fontconfig.js'
import { LAYOUTS2, layoutPage, type Layout2 } from './layouts.js'
import type { CaseKind, Theme } from './parts.js'
import { isCjk } from './text2.js'

export { screensSkipReason, type ScreenSize }
export type { CaseKind } from './parts.js'

export interface TruthLine2 extends TruthLine {
  /** The issue-20 case of the region the line lies in. */
  case: CaseKind
}
export interface ScreenCase2 {
  /** e.g. "editor-menu-dark@4k" */
  id: string
  file: string
  width: number
  height: number
  scale: number
  theme: Theme
  smoothing: Smoothing
  /** Lines without Chinese. */
  lines: TruthLine2[]
  /** Lines holding Chinese characters or full-width punctuation. */
  cjkLines: TruthLine2[]
}

export interface PageSpec {
  name: string
  html: string
  /** CSS px. */
  width: number
  height: number
  theme: Theme
  smoothing: Smoothing
}

/** The case of each line: the nearest data-case around the element at the line box's centre. */
const caseScript = (boxes: TruthLine['box'][]): string => String.raw`(() => {
  const dpr = window.devicePixelRatio
  return ${JSON.stringify(boxes)}.map((b) => {
    const hit = document.elementFromPoint((b.x + b.width / 2) / dpr, (b.y + b.height / 2) / dpr)
    const owner = hit && hit.closest('[data-case]')
    return owner ? owner.getAttribute('data-case') : 'chrome'
  })
})()`

export interface RenderOptions2 {
  out: string
  sizes?: ScreenSize[]
  log?: (line: string) => void
}

/** Renders each page at each size into out: <name>@<size>.png and .json (the ScreenCase2). */
export async function renderPages(pages: readonly PageSpec[], options: RenderOptions2): Promise<ScreenCase2[]> {
  const sizes = options.sizes ?? (['1080p', '4k'] as ScreenSize[])
  await mkdir(options.out, { recursive: true })
  const cases: ScreenCase2[] = []
  // The smoothing mode is the browser's (its fontconfig): one browser per mode in use.
  for (const smoothing of [...new Set(pages.map((p) => p.smoothing))]) {
    const browser = await launchWithSmoothing(smoothing)
    try {
      for (const size of sizes) {
        const { scale } = SIZES[size]
        const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: scale })
        const tab = await context.newPage()
        try {
          for (const spec of pages.filter((p) => p.smoothing === smoothing)) {
            const started = performance.now()
            await tab.setViewportSize({ width: spec.width, height: spec.height })
            await tab.setContent(spec.html, { waitUntil: 'load' })
            await tab.evaluate('document.fonts.ready.then(() => true)')
            const measured = (await tab.evaluate(MEASURE_SCRIPT)) as TruthLine[]
            const kinds = (await tab.evaluate(caseScript(measured.map((l) => l.box)))) as CaseKind[]
            const lines = measured.map((l, i) => ({ ...l, case: kinds[i]! }))
            const id = `${spec.name}@${size}`
            const file = join(options.out, `${id}.png`)
            await tab.screenshot({ path: file, type: 'png' })
            const screen: ScreenCase2 = {
              id,
              file,
              width: spec.width * scale,
              height: spec.height * scale,
              scale,
              theme: spec.theme,
              smoothing,
              lines: lines.filter((l) => !isCjk(l.text)),
              cjkLines: lines.filter((l) => isCjk(l.text)),
            }
            await writeFile(join(options.out, `${id}.json`), JSON.stringify(screen, null, 1))
            cases.push(screen)
            options.log?.(
              `${id}: ${screen.lines.length} lines + ${screen.cjkLines.length} CJK, ${Math.round(performance.now() - started)} ms`,
            )
          }
        } finally {
          await context.close()
        }
      }
    } finally {
      await browser.close()
    }
  }
  return cases
}

export const layoutSpec = (layout: Layout2): PageSpec => ({
  name: layout.name,
  html: layoutPage(layout),
  width: 1920,
  height: 1080,
  theme: layout.theme,
  smoothing: layout.smoothing,
})

function resolveLayouts(names: readonly string[] | undefined): Layout2[] {
  if (!names) return LAYOUTS2
  return names.map((n) => {
    const found = LAYOUTS2.find((l) => l.name === n)
    if (!found) throw new Error(`no set-2 screen layout named ${n} (have: ${LAYOUTS2.map((l) => l.name).join(', ')})`)
    return found
  })
}

const HERE = dirname(fileURLToPath(import.meta.url))

/** Hash of this set's sources and set 1's (whose measuring and text it uses); tests left out. */
export async function generatorHash2(): Promise<string> {
  const hash = createHash('sha256')
  for (const dir of [HERE, join(HERE, '..', 'screens')])
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts')).sort()) {
      hash.update(name)
      hash.update(await readFile(join(dir, name)))
    }
  return hash.digest('hex').slice(0, 16)
}

/** The set (or the sizes/layouts asked for) from ~/.cache/.../ocr-screens/set2-<hash>/, rendering what is missing. */
export async function loadScreens2(
  options: { sizes?: ScreenSize[]; layouts?: string[]; log?: (line: string) => void; cacheDir?: string } = {},
): Promise<ScreenCase2[]> {
  const dir = options.cacheDir ?? join(CACHE_ROOT, `set2-${await generatorHash2()}`)
  const sizes = options.sizes ?? (['1080p', '4k'] as ScreenSize[])
  const layouts = resolveLayouts(options.layouts)
  const has = (name: string, size: ScreenSize): boolean =>
    existsSync(join(dir, `${name}@${size}.json`)) && existsSync(join(dir, `${name}@${size}.png`))
  const missingSizes = sizes.filter((s) => layouts.some((l) => !has(l.name, s)))
  const missing = layouts.filter((l) => sizes.some((s) => !has(l.name, s)))
  if (missing.length) {
    // Rendered into a scratch folder and moved in, so a killed run leaves no half case.
    const scratch = `${dir}.tmp-${process.pid}`
    const rendered = await renderPages(missing.map(layoutSpec), { out: scratch, sizes: missingSizes, log: options.log })
    await mkdir(dir, { recursive: true })
    for (const c of rendered) {
      const png = join(dir, `${c.id}.png`)
      await rename(c.file, png)
      await writeFile(join(dir, `${c.id}.json`), JSON.stringify({ ...c, file: png }, null, 1))
    }
    await rm(scratch, { recursive: true, force: true })
  }
  const cases: ScreenCase2[] = []
  for (const layout of layouts)
    for (const size of sizes) {
      const id = `${layout.name}@${size}`
      const screen = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as ScreenCase2
      cases.push({ ...screen, file: join(dir, `${id}.png`) })
    }
  return cases
}
