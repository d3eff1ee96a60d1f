// Answers as the reader sees them, in real Chromium under the app's CSP: Markdown.svelte alone
// (built from markdown-fixture.*), its text set as a streamed answer sets it. Formulas as
// MathML, the Markdown a model writes (tasks, images, wide tables, right-to-left text, code),
// and streaming that re-renders only the block being written, keeping a selection and a focus.
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import type { Browser, Page } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serveFolder } from '../support/static-server.js'
import { chromiumMissing, launchChromium } from '../support/chromium.js'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const ARTIFACTS = join(ROOT, 'test-results')

/** A long answer of the usual kinds of block: headings, paragraphs, lists, code, tables, quotes. */
function longAnswer(characters: number): string {
  const part = (n: number): string =>
    [
      `## Part ${n}: what the screenshot shows`,
      '',
      `The window in part ${n} has a **terminal** on the left and an *editor* on the right. The build failed because \`src/main.ts\` imports a module that does not exist; the [TypeScript handbook](https://www.typescriptlang.org/docs/) explains module resolution.`,
      '',
      '1. Open the file named in the error.',
      '2. Check the import path:',
      '   - relative paths start with `./`',
      '   - the extension is `.js` in ESM output',
      '3. Rebuild.',
      '',
      '```ts',
      `export function add${n}(a: number, b: number): number {`,
      '  // the bug was here',
      '  return a + b',
      '}',
      '```',
      '',
      '| File | Status | Lines |',
      '|---|---|---:|',
      `| src/main.ts | failing | ${100 + n} |`,
      '| src/util.ts | ok | 42 |',
      '',
      '> Note: run the tests again after the fix.',
      '',
      '',
    ].join('\n')
  let text = ''
  for (let n = 1; text.length < characters; n++) text += part(n)
  return text.slice(0, characters)
}

/** The fixture page, built as the renderer is (the same Svelte config), into a folder of its own. */
async function buildFixture(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'lva-markdown-'))
  await build({
    configFile: false,
    root: join(ROOT, 'test/browser'),
    base: './',
    publicDir: false,
    logLevel: 'warn',
    resolve: { alias: { '@contract': join(ROOT, 'electron/ipc/contract.ts') } },
    plugins: [svelte({ configFile: join(ROOT, 'svelte.config.js') })],
    build: { outDir, emptyOutDir: true, rollupOptions: { input: join(ROOT, 'test/browser/markdown-fixture.html') } },
  })
  return outDir
}

/**
 * Runs in the page before its scripts: times each animation-frame callback the page asks for
 * (Markdown.svelte renders in one), with Svelte's DOM updates and the layout they cause, into
 * window.__frameCosts. The test's own waits use the untimed original, window.__frame.
 */
function timeFrames(): void {
  const w = window as unknown as { __frameCosts: number[]; __frame: (cb: FrameRequestCallback) => number }
  const raf = window.requestAnimationFrame.bind(window)
  w.__frameCosts = []
  w.__frame = raf
  window.requestAnimationFrame = (callback) =>
    raf((time) => {
      const start = performance.now()
      callback(time)
      window.__markdown?.flush()
      void document.body.offsetHeight
      w.__frameCosts.push(performance.now() - start)
    })
}

const chromium = chromiumMissing()
if (chromium) console.warn(`[browser tests skipped] ${chromium}`)

describe.skipIf(chromium !== null)('Markdown in Chromium', () => {
  let outDir: string
  let server: Server
  let browser: Browser
  let page: Page
  /** Console errors (a CSP refusal is one) and uncaught exceptions. */
  let errors: string[]
  /** Every URL the page asked for. */
  let requests: string[]
  let origin: string

  beforeAll(async () => {
    outDir = await buildFixture()
    server = await serveFolder(outDir)
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    server?.close()
    if (outDir) await rm(outDir, { recursive: true, force: true })
  })

  async function open(viewport = { width: 700, height: 800 }): Promise<void> {
    await page?.close()
    page = await browser.newPage({ viewport })
    page.setDefaultTimeout(5000)
    errors = []
    requests = []
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())))
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('request', (r) => requests.push(r.url()))
    await page.addInitScript(timeFrames)
    await page.goto(`${origin}/markdown-fixture.html`)
    await page.waitForFunction(() => window.__markdown !== undefined)
  }

  const md = () => page.getByTestId('markdown')

  /** Sets the text, then waits two frames: the view renders once a frame. */
  async function show(text: string, live = false): Promise<void> {
    await page.evaluate(
      ([t, l]) =>
        new Promise<void>((done) => {
          window.__markdown!.show(t, l)
          const frame = (window as unknown as { __frame: (cb: () => void) => number }).__frame
          frame(() => frame(() => done()))
        }),
      [text, live] as const,
    )
  }

  it('shows formulas as MathML, laid out, with nothing refused by the CSP; prices and code stay text', async () => {
    await open()
    await show(
      [
        'The area is $A = \\pi r^2$, and',
        '',
        '$$',
        '\\begin{aligned} f(x) &= (x+1)^2 \\\\ &= x^2 + 2x + 1 \\end{aligned}',
        '$$',
        '',
        'with \\(E = mc^2\\) and',
        '\\[\\sum_{i=1}^n i = \\frac{n(n+1)}{2}\\]',
        '',
        'It costs $5 and $10; \\$x\\$ is no formula, `$y$` is code, $\\frac{1}{$ does not parse.',
      ].join('\n'),
    )
    const formulas = md().locator('math')
    await expect.poll(() => formulas.count()).toBe(4)
    expect(await md().locator('math[display="block"]').count()).toBe(2)
    for (const box of await formulas.evaluateAll((all) => all.map((m) => m.getBoundingClientRect().toJSON() as DOMRect)))
      expect(box.width * box.height).toBeGreaterThan(0)
    expect(await formulas.first().evaluate((m) => m.namespaceURI)).toBe('http://www.w3.org/1998/Math/MathML')
    // The aligned columns: right, then left, by Temml's classes.
    expect(
      await md()
        .locator('mtd.tml-right')
        .first()
        .evaluate((c) => getComputedStyle(c).textAlign),
    ).toBe('right')
    const text = (await md().textContent()) ?? ''
    expect(text).toContain('It costs $5 and $10; $x$ is no formula')
    expect(await md().locator('code').allTextContents()).toEqual(['$y$', '$\\frac{1}{$'])
    expect(await md().locator('[style]').count()).toBe(0)
    expect(errors).toEqual([])
    await md().screenshot({ path: join(ARTIFACTS, 'markdown-math.png') })
  })

  it('keeps task checks, shows an image as its description without fetching it, scrolls a wide table', async () => {
    await open({ width: 520, height: 900 })
    const wide = Array.from({ length: 8 }, () => 'internationalisation')
    await show(
      [
        '- [x] done',
        '- [ ] to do',
        '',
        'Look: ![a cat on a mat](https://example.com/cat.png)',
        '',
        `| ${wide.map((_, i) => `col ${i}`).join(' | ')} |`,
        `|${'---|'.repeat(wide.length)}`,
        `| ${wide.join(' | ')} |`,
        '',
        '| Step | Notes |',
        '|---|---|',
        '| 1 | first line<br>second line |',
        '',
        '> A quoted line.',
        '',
        'مرحبا بالعالم، هذا نص عربي.',
      ].join('\n'),
    )
    const boxes = md().getByRole('checkbox')
    await expect.poll(() => boxes.count()).toBe(2)
    expect(await boxes.evaluateAll((all) => all.map((b) => [(b as HTMLInputElement).checked, (b as HTMLInputElement).disabled]))).toEqual([
      [true, true],
      [false, true],
    ])
    expect(await md().textContent()).toContain('Look: [image: a cat on a mat]')
    expect(await md().locator('img').count()).toBe(0)
    expect(requests.filter((url) => !url.startsWith(origin))).toEqual([])
    // The wide table scrolls in its frame, its cells' words whole (each cell one word, on one line).
    const frame = md().locator('.table-scroll').first()
    expect(await frame.evaluate((f) => f.scrollWidth > f.clientWidth)).toBe(true)
    const lines = await frame
      .locator('td')
      .first()
      .evaluate((cell) => {
        const range = document.createRange()
        range.selectNodeContents(cell)
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size
      })
    expect(lines).toBe(1)
    expect(await md().locator('td br').count()).toBe(1)
    expect(
      await md()
        .locator('blockquote')
        .evaluate((q) => getComputedStyle(q).borderInlineStartWidth),
    ).not.toBe('0px')
    const arabic = md().locator('p', { hasText: 'مرحبا' })
    expect(await arabic.evaluate((p) => p.matches(':dir(rtl)'))).toBe(true)
    expect(
      await md()
        .locator('p', { hasText: 'Look' })
        .evaluate((p) => p.matches(':dir(ltr)')),
    ).toBe(true)
    expect(errors).toEqual([])
    await md().screenshot({ path: join(ARTIFACTS, 'markdown-blocks.png') })
  })

  it('names each copy button after its code, and a selection of the code leaves its bar out', async () => {
    await open()
    await show('```python\nprint(1)\n```\n\n```\nplain text\n```')
    await expect.poll(() => md().getByRole('button', { name: 'Copy Python code', exact: true }).count()).toBe(1)
    expect(await md().getByRole('button', { name: 'Copy code', exact: true }).count()).toBe(1)
    const selected = await md()
      .locator('.code-block')
      .first()
      .evaluate((block) => {
        getSelection()!.selectAllChildren(block)
        return getSelection()!.toString()
      })
    expect(selected.trim()).toBe('print(1)')
  })

  it('while an answer streams, re-renders only the block being written: a selection and a focus in earlier blocks stay', async () => {
    await open()
    const start = 'First paragraph, finished and selected.\n\n```python\nprint(1)\n```\n\nSecond paragraph.\n\n'
    await show(start, true)
    // Mark the first paragraph's element, select words in it, and focus the code's copy button.
    await page.evaluate(() => {
      const first = document.querySelector('[data-testid="markdown"] p')!
      ;(first as unknown as { __mark: boolean }).__mark = true
      const range = document.createRange()
      range.setStart(first.firstChild!, 6)
      range.setEnd(first.firstChild!, 15)
      getSelection()!.removeAllRanges()
      getSelection()!.addRange(range)
    })
    await md().getByRole('button', { name: 'Copy Python code' }).focus()
    let text = start
    for (let i = 0; i < 30; i++) {
      text += i % 10 === 9 ? '\n\n' : `word${i} `
      await show(text, true)
    }
    await show(text, false)
    const kept = await page.evaluate(() => {
      const first = document.querySelector('[data-testid="markdown"] p')!
      return {
        sameElement: (first as unknown as { __mark?: boolean }).__mark === true,
        selection: getSelection()!.toString(),
        focused: document.activeElement?.getAttribute('aria-label'),
      }
    })
    expect(kept).toEqual({ sameElement: true, selection: 'paragraph', focused: 'Copy Python code' })
    expect(await md().locator('p').count()).toBe(5)
  })

  it('shows half-written syntax as what it will be', async () => {
    await open()
    await show('This is **ab', true)
    expect(await md().locator('strong').textContent()).toBe('ab')
    expect(await md().textContent()).not.toContain('*')
    await show('Some text\n-', true)
    expect(await md().locator('h1, h2').count()).toBe(0)
    expect((await md().textContent())?.trim()).toBe('Some text')
    await show('| Name | Age |', true)
    expect(await md().locator('th').allTextContents()).toEqual(['Name', 'Age'])
    await show('See [the docs](htt', true)
    expect((await md().textContent())?.trim()).toBe('See the docs')
    // Finished, it is the Markdown as written.
    await show('This is **ab', false)
    expect((await md().textContent())?.trim()).toBe('This is **ab')
  })

  it('costs about the same per frame at the end of a long streamed answer as at its start', async () => {
    await open()
    const answer = longAnswer(16_000)
    const pieces = answer.match(/[\s\S]{1,40}/g)!
    await page.evaluate(() => ((window as unknown as { __frameCosts: number[] }).__frameCosts = []))
    let text = ''
    for (const piece of pieces) {
      text += piece
      await show(text, true)
    }
    const costs = await page.evaluate(() => (window as unknown as { __frameCosts: number[] }).__frameCosts)
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
    const fifth = Math.floor(costs.length / 5)
    const early = median(costs.slice(0, fifth))
    const late = median(costs.slice(-fifth))
    console.log(
      `markdown: ${answer.length} characters in ${pieces.length} pieces, frame cost median ${early.toFixed(2)} ms in the first fifth, ${late.toFixed(2)} ms in the last`,
    )
    // Re-rendering the whole answer grew with it: about 1 ms a frame per thousand characters.
    expect(late).toBeLessThan(early * 3 + 2)
  })
})
