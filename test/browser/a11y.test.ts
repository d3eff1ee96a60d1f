// axe-core over the windows the other browser tests open, in real Chromium against the real
// services: the chat window (empty, and with an answer holding code, a table and links, in both
// colour schemes), the Models page, the Settings dialog and quick-ask. A serious or critical
// finding fails; the milder ones are printed, for a person to judge.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { AxeResults } from 'axe-core'
import { screenshotPng } from '../support/images.js'
import { browserSkipReason, startHarness, type Harness } from './harness.js'

declare global {
  interface Window {
    axe?: { run(context: Document, options: object): Promise<AxeResults> }
  }
}

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

/** An answer with what Markdown gives a screen reader most to get wrong: headings, code, a table, links of each kind. */
const MARKDOWN_ANSWER = [
  '## Part 1: what the screenshot shows',
  '',
  'The build failed because `src/main.ts` imports a module that does not exist; the',
  '[TypeScript handbook](https://www.typescriptlang.org/docs/) explains module resolution,',
  'the [old mirror](http://example.com/handbook) too, or [write to us](mailto:help@example.com).',
  '',
  '```ts',
  'export function parse(text: string): number[] {',
  '  return JSON.parse(text).map((n: unknown) => Number(n)) // built-ins: JSON, Number',
  '}',
  '```',
  '',
  '| File | Error |',
  '| --- | --- |',
  '| src/main.ts | TS2307 |',
  '| src/util.ts | none |',
  '',
  '```bash',
  'npm run build && echo "done"',
  '```',
  '',
  '```diff',
  '- import { parse } from "./pars"',
  '+ import { parse } from "./parse"',
  '```',
  '',
  '```markdown',
  '# Release notes',
  '',
  '- **Fixed** the import',
  '```',
].join('\n')

interface Finding {
  rule: string
  impact: string
  nodes: string[]
}

describe.skipIf(skip !== null)('accessibility (axe-core) in Chromium', () => {
  let h: Harness
  let axeSource: string

  beforeAll(async () => {
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
    h = await startHarness()
  })
  afterAll(async () => h?.close())

  /** axe's findings on the page as it is now, each with the elements it names and why. */
  async function audit(page: Page, what: string): Promise<Finding[]> {
    // Evaluated through the DevTools protocol, which the page's CSP (no inline scripts) does not govern.
    if (!(await page.evaluate(() => window.axe !== undefined))) await page.evaluate(axeSource)
    const results = await page.evaluate(() =>
      window.axe!.run(document, {
        resultTypes: ['violations'],
        // axe says of this rule that it is for Safari: Chromium 130 and later (Electron 33 on; the
        // app is built on 45) put a scrollable element with nothing focusable inside in the Tab
        // order themselves. The app runs only in Chromium, and 'lets the keyboard reach and scroll
        // a code block wider than the answer' below checks that the keyboard does reach one.
        rules: { 'scrollable-region-focusable': { enabled: false } },
      }),
    )
    const findings = results.violations.map((v) => ({
      rule: v.id,
      impact: v.impact ?? 'unknown',
      nodes: v.nodes.map((n) => `${n.target.join(' ')} :: ${n.failureSummary ?? ''}`),
    }))
    for (const f of findings.filter((f) => !isSerious(f)))
      console.warn(`[axe ${what}] ${f.rule} (${f.impact}): ${f.nodes.length} node(s), first: ${f.nodes[0]}`)
    return findings
  }
  const isSerious = (f: Finding): boolean => f.impact === 'serious' || f.impact === 'critical'
  const serious = async (page: Page, what: string): Promise<Finding[]> => (await audit(page, what)).filter(isSerious)

  async function openChat(colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const page = await h.openApp({ colorScheme })
    page.setDefaultTimeout(10_000)
    await page.getByTestId('status-bar').filter({ hasText: /\S/ }).waitFor()
    return page
  }

  it('finds nothing serious in the empty chat window', async () => {
    const page = await openChat()
    await page.getByText('No conversations yet.').waitFor()
    expect(await serious(page, 'empty chat')).toEqual([])
    await page.close()
  })

  it.each(['light', 'dark'] as const)(
    'finds nothing serious in a conversation whose answer holds code, a table and links (%s)',
    async (colorScheme) => {
      const chat = await h.chats.create({ title: `Markdown answer (${colorScheme})` })
      await h.chats.update(chat.id, (c) => {
        c.messages.push(h.chats.newMessage('user', 'What is on my screen?'), {
          ...h.chats.newMessage('assistant', `<think>\nThe user wants the build error.\n</think>\n\n${MARKDOWN_ANSWER}`),
          status: 'complete',
        })
      })
      const page = await openChat(colorScheme)
      const answer = page.getByTestId('turn-assistant').last()
      await answer.locator('pre code.hljs').first().waitFor()
      await answer.locator('table').waitFor()
      expect(await serious(page, `chat with an answer, ${colorScheme}`)).toEqual([])
      await page.close()
    },
  )

  it('lets the keyboard reach and scroll a code block wider than the answer', async () => {
    const chat = await h.chats.create({ title: 'Wide code' })
    const wide = `const line = [${Array.from({ length: 60 }, (_, i) => i).join(', ')}]`
    await h.chats.update(chat.id, (c) => {
      c.messages.push(h.chats.newMessage('user', 'Show me a long line'), {
        ...h.chats.newMessage('assistant', `See [the docs](https://example.com/docs):\n\n\`\`\`ts\n${wide}\n\`\`\``),
        status: 'complete',
      })
    })
    const page = await openChat()
    const code = page.getByTestId('turn-assistant').last().locator('pre code.hljs')
    await code.waitFor()
    expect(await code.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true)
    await page.getByRole('link', { name: 'the docs' }).focus()
    // The link, the code block's Copy button, then the block itself.
    for (let i = 0; i < 3 && !(await code.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab')
    expect(await code.evaluate((el) => el === document.activeElement)).toBe(true)
    await page.keyboard.press('ArrowRight')
    await expect.poll(() => code.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0)
    await page.close()
  })

  it.each(['light', 'dark'] as const)('finds nothing serious on the Models page (%s)', async (colorScheme) => {
    const page = await openChat(colorScheme)
    await page.getByRole('button', { name: /^Models/ }).click()
    await page
      .getByRole('button', { name: /Download/ })
      .first()
      .waitFor()
    expect(await serious(page, `Models page, ${colorScheme}`)).toEqual([])
    await page.close()
  })

  it.each(['light', 'dark'] as const)('finds nothing serious in the Settings dialog (%s)', async (colorScheme) => {
    const page = await openChat(colorScheme)
    await page.getByRole('button', { name: 'Settings' }).click()
    const dialog = page.getByRole('dialog', { name: 'Settings' })
    await dialog.getByRole('group', { name: 'Engine' }).waitFor()
    expect(await serious(page, `Settings, ${colorScheme}`)).toEqual([])
    await page.close()
  })

  it('finds nothing serious in quick-ask with a screenshot', async () => {
    await h.capture.set(await screenshotPng(1920, 1080), { id: 1, bounds: { x: 0, y: 0, width: 1920, height: 1080 }, scaleFactor: 1 })
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
    quick.setDefaultTimeout(10_000)
    await quick.getByTestId('screenshot').waitFor()
    const findings = await audit(quick, 'quick-ask')
    expect(findings.filter(isSerious)).toEqual([])
    // A window of its own, so a page with its own heading.
    expect(findings.map((f) => f.rule)).not.toContain('page-has-heading-one')
    await quick.close()
  })
})
