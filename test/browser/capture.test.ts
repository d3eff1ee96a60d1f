// The screenshot flow in Chromium: the region overlay on a HiDPI display, and the
// quick-ask window against the real services and the tiny vision model.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { screenshotPng } from '../support/images.js'
import type { Page } from 'playwright-core'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'
import { missingWords, textPng, wordsOf } from './text-png.js'

const skip = browserSkipReason()

// A terminal's error, and an invoice below it: a region around the invoice must not take the error's words.
const ERROR_LINES = ['$ npm run build', "Error: Cannot find module 'sharp'", 'Require stack: /srv/app/server.js']
const INVOICE_LINES = ['Invoice 2291 due Friday', 'Total amount 4,180.00 EUR', 'Contact billing@example.com']

/** A capture whose every pixel names its position: red = x mod 256, green = y mod 256. */
async function coordinatePng(width: number, height: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      raw[i] = x & 0xff
      raw[i + 1] = y & 0xff
      raw[i + 2] = 128
    }
  return new Uint8Array(
    await sharp(raw, { raw: { width, height, channels: 3 } })
      .png({ compressionLevel: 1 })
      .toBuffer(),
  )
}

async function pixel(png: Uint8Array, x: number, y: number): Promise<[number, number]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
  const i = (y * info.width + x) * info.channels
  return [data[i]!, data[i + 1]!]
}

describe.skipIf(skip !== null)('screenshot flow in Chromium', () => {
  let h: Harness
  let fx: FixturePaths
  const laptop = { id: 7, bounds: { x: 0, y: 0, width: 1440, height: 900 }, scaleFactor: 2 }

  beforeAll(async () => {
    fx = await ensureFixtures()
    await mkdir(ARTIFACTS, { recursive: true })
    h = await startHarness()
  })
  afterAll(async () => h?.close())

  const screen = { id: 1, bounds: { x: 0, y: 0, width: 900, height: 520 }, scaleFactor: 1 }

  /** Quick-ask, allowed to use the clipboard as the app's window is. */
  async function openQuick(): Promise<Page> {
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
    await quick.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.origin })
    return quick
  }
  const panel = (quick: Page) => quick.getByRole('region', { name: 'Text on screen' })
  const clipboard = (quick: Page) => quick.evaluate(() => navigator.clipboard.readText())

  async function setScreenText(mode: 'auto' | 'always' | 'never'): Promise<void> {
    await h.engineSettings.set({ ...h.engineSettings.view().settings, screenText: mode })
  }

  it('region overlay: a rectangle dragged on a 2x display crops exactly those physical pixels', async () => {
    await h.capture.set(await coordinatePng(2880, 1800), laptop)
    const page = await h.openApp({ page: 'overlay.html', viewport: { width: 1440, height: 900 }, deviceScaleFactor: 2 })
    await page.waitForFunction(() => getComputedStyle(document.querySelector('.overlay')!).backgroundImage.startsWith('url('))
    await page.mouse.move(100, 50)
    await page.mouse.down()
    await page.mouse.move(200, 150, { steps: 4 })
    await page.mouse.move(300, 250, { steps: 4 })
    expect(await page.getByTestId('selection').textContent()).toBe('400 × 400')
    await page.screenshot({ path: join(ARTIFACTS, 'region-overlay.png') })
    await page.mouse.up()
    await expect.poll(() => h.windowCalls.at(-1)).toBe('region:drawn')
    const crop = h.capture.info()!
    expect(crop).toMatchObject({ width: 400, height: 400, displayId: 7 })
    const png = h.capture.bytes(crop.id)
    expect(await pixel(png, 0, 0)).toEqual([200 & 0xff, 100])
    expect(await pixel(png, 399, 399)).toEqual([599 & 0xff, 499 & 0xff])
    await page.close()
  })

  it('region overlay: a click is not a selection, and Esc cancels', async () => {
    await h.capture.set(await coordinatePng(2880, 1800), laptop)
    const before = h.capture.info()!.id
    const page = await h.openApp({ page: 'overlay.html', viewport: { width: 1440, height: 900 }, deviceScaleFactor: 2 })
    await page.waitForFunction(() => getComputedStyle(document.querySelector('.overlay')!).backgroundImage.startsWith('url('))
    await page.mouse.click(500, 500)
    await expect.poll(() => page.locator('.hint').textContent()).toBe('Drag a larger rectangle, or press Esc to cancel.')
    expect(h.capture.info()!.id).toBe(before)
    await page.keyboard.press('Escape')
    await expect.poll(() => h.windowCalls.at(-1)).toBe('region:cancelled')
    await page.close()
  })

  it('region overlay: a window’s capture keeps its aspect between bars, and the size shown while dragging is the crop’s', async () => {
    // A portrait window (600 × 900) chosen on a 960 × 540 display: shown 360 × 540, with bars 300 wide each side.
    await h.capture.set(await coordinatePng(600, 900), { id: 3, bounds: { x: 0, y: 0, width: 960, height: 540 }, scaleFactor: 1 })
    const page = await h.openApp({ page: 'overlay.html', viewport: { width: 960, height: 540 } })
    await page.waitForFunction(() => getComputedStyle(document.querySelector('.overlay')!).backgroundImage.startsWith('url('))
    const at = async (x: number, y: number): Promise<[number, number]> => pixel(new Uint8Array(await page.screenshot()), x, y)
    // Painted once the picture's two sides differ.
    await expect.poll(async () => (await at(310, 270)).join() !== (await at(650, 270)).join()).toBe(true)
    // Each bar is one colour from end to end; stretched, the picture would run across it.
    expect(await at(20, 270)).toEqual(await at(280, 270))
    expect(await at(680, 270)).toEqual(await at(940, 270))
    const calls = h.windowCalls.length
    await page.mouse.move(100, 100)
    await page.mouse.down()
    await page.mouse.move(250, 250, { steps: 4 })
    await page.mouse.move(400, 400, { steps: 4 })
    const label = await page.getByTestId('selection').textContent()
    await page.mouse.up()
    await expect.poll(() => h.windowCalls.slice(calls)).toEqual(['region:drawn'])
    const crop = h.capture.info()!
    expect(label).toBe(`${crop.width} × ${crop.height}`)
    // From the picture's left edge (the drag began in the bar) to 100 DIP in, 5/3 of its pixels to each.
    expect(crop).toMatchObject({ width: 167, height: 501, displayId: 3 })
    const png = h.capture.bytes(crop.id)
    expect(await pixel(png, 0, 0)).toEqual([0, 166])
    expect(await pixel(png, 166, 500)).toEqual([166, 666 & 0xff])
    await page.close()
  })

  it('quick-ask: shows the text on the screenshot as it is read, and Copy all copies exactly that text', async () => {
    const png = await textPng(h.browser, { blocks: [ERROR_LINES, INVOICE_LINES], dark: true })
    await h.capture.set(png, screen)
    const started = performance.now()
    const quick = await openQuick()
    const lines = panel(quick).getByTestId('screen-text')
    await expect.poll(() => lines.textContent(), { timeout: 20_000 }).toBeTruthy()
    const shown = (await lines.textContent())!
    console.log(
      `[text layer] quick-ask showed ${shown.split('\n').length} lines ${Math.round(performance.now() - started)} ms after opening`,
    )
    expect(missingWords(shown, [...ERROR_LINES, ...INVOICE_LINES])).toEqual([])
    // What main kept for this screenshot, read once: the panel shows it whole.
    const kept = await h.textLayer.read(png)
    expect(kept.status).toBe('read')
    if (kept.status !== 'read') return
    expect(shown).toBe(kept.text)
    expect(await panel(quick).getByTestId('screen-text-count').textContent()).toBe(`${kept.lines} lines`)
    // Selectable, and reachable from the keyboard to scroll.
    expect(await lines.evaluate((el) => [getComputedStyle(el).userSelect, el.tabIndex])).toEqual(['text', 0])
    // For the README: the question about the screen, typed under its text.
    await quick.getByRole('textbox', { name: 'Question' }).fill('Why does the build fail?')
    await quick.screenshot({ path: join(ARTIFACTS, 'quick-ask-text.png') })
    await panel(quick).getByRole('button', { name: 'Copy all' }).click()
    await expect.poll(() => panel(quick).getByRole('button', { name: 'Copied' }).count()).toBe(1)
    expect(await clipboard(quick)).toBe(kept.text)
    await quick.close()
  })

  it('quick-ask: a region just copies its text, with Ctrl+Shift+C while the question is empty', async () => {
    await h.capture.set(await textPng(h.browser, { blocks: [ERROR_LINES, INVOICE_LINES] }), screen)
    const quick = await openQuick()
    await expect.poll(() => panel(quick).getByTestId('screen-text').textContent(), { timeout: 20_000 }).toContain('Invoice')
    // The region around the invoice, drawn on the overlay as the user would.
    const overlay = await h.openApp({ page: 'overlay.html', viewport: { width: 900, height: 520 } })
    await overlay.waitForFunction(() => getComputedStyle(document.querySelector('.overlay')!).backgroundImage.startsWith('url('))
    // This drag's own crop, not one an earlier test left as the last call.
    const calls = h.windowCalls.length
    await overlay.mouse.move(10, 205)
    await overlay.mouse.down()
    await overlay.mouse.move(500, 400, { steps: 4 })
    await overlay.mouse.move(890, 510, { steps: 4 })
    await overlay.mouse.up()
    await expect.poll(() => h.windowCalls.slice(calls)).toEqual(['region:drawn'])
    await overlay.close()
    // Main shows quick-ask with the region, as capture-windows does.
    const region = h.capture.info()!
    h.push('capture:new', region)
    await expect.poll(() => quick.getByTestId('screenshot').getAttribute('alt')).toBe(`Screenshot (${region.width} × ${region.height})`)
    const question = quick.getByRole('textbox', { name: 'Question' })
    await expect.poll(() => quick.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Question')
    expect(await question.inputValue()).toBe('')
    // Pressed at once: the copy waits for the region's reading.
    await quick.keyboard.press('Control+Shift+KeyC')
    await expect.poll(() => panel(quick).getByRole('button', { name: 'Copied' }).count(), { timeout: 20_000 }).toBe(1)
    const copied = await clipboard(quick)
    expect(copied).toBe(await panel(quick).getByTestId('screen-text').textContent())
    expect(missingWords(copied, INVOICE_LINES)).toEqual([])
    expect(wordsOf(ERROR_LINES).filter((word) => copied.toLowerCase().includes(word))).toEqual([])
    // With a question typed, the same keys are the text box's own.
    await question.fill('keep')
    await quick.evaluate(() => navigator.clipboard.writeText('before'))
    await quick.keyboard.press('Control+Shift+KeyC')
    expect(await clipboard(quick)).toBe('before')
    await quick.close()
  })

  it('quick-ask: a screen without text says so', async () => {
    await h.capture.set(await screenshotPng(640, 400), screen)
    const quick = await openQuick()
    await expect.poll(() => panel(quick).getByRole('status').textContent(), { timeout: 20_000 }).toMatch(/^No text found/)
    expect(await panel(quick).getByRole('button', { name: 'Copy all' }).count()).toBe(0)
    await quick.close()
  })

  it('quick-ask: a chosen window replaces the screenshot', async () => {
    await h.capture.set(await screenshotPng(1920, 1080), { id: 1, bounds: { x: 0, y: 0, width: 1920, height: 1080 }, scaleFactor: 1 })
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
    await expect.poll(() => quick.getByTestId('screenshot').getAttribute('alt')).toBe('Screenshot (1920 × 1080)')
    await quick.getByRole('button', { name: 'Choose window' }).click()
    const list = quick.getByRole('list', { name: 'Windows' })
    await expect.poll(() => list.getByRole('button').allTextContents()).toEqual(['Editor — main.ts', 'Terminal'])
    await list.getByRole('button', { name: 'Terminal' }).click()
    await expect.poll(() => quick.getByTestId('screenshot').getAttribute('alt')).toBe('Screenshot (1200 × 700)')
    expect(h.windowCalls.at(-1)).toBe('window:window:102:0')
    expect(h.capture.info()).toMatchObject({ width: 1200, height: 700 })
    expect(await list.count()).toBe(0)
    await quick.close()
  })

  it('quick-ask: the window list closes with Cancel, with Esc before the window does, and with a new screenshot', async () => {
    await h.capture.set(await screenshotPng(1920, 1080), { id: 1, bounds: { x: 0, y: 0, width: 1920, height: 1080 }, scaleFactor: 1 })
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
    await expect.poll(() => quick.getByTestId('screenshot').getAttribute('alt')).toBe('Screenshot (1920 × 1080)')
    const list = quick.getByRole('list', { name: 'Windows' })
    const choose = async (): Promise<void> => {
      await quick.getByRole('button', { name: 'Choose window' }).click()
      await expect.poll(() => list.count()).toBe(1)
    }
    await choose()
    await quick.getByRole('button', { name: 'Cancel' }).click()
    await expect.poll(() => list.count()).toBe(0)

    await choose()
    const calls = h.windowCalls.length
    await quick.keyboard.press('Escape')
    await expect.poll(() => list.count()).toBe(0)
    expect(h.windowCalls.slice(calls)).toEqual([])
    await quick.keyboard.press('Escape')
    await expect.poll(() => h.windowCalls.at(-1)).toBe('quick:hide')

    await choose()
    const next = await h.capture.set(await screenshotPng(1000, 600), {
      id: 1,
      bounds: { x: 0, y: 0, width: 1920, height: 1080 },
      scaleFactor: 1,
    })
    h.push('capture:new', next)
    await expect.poll(() => quick.getByTestId('screenshot').getAttribute('alt')).toBe('Screenshot (1000 × 600)')
    expect(await list.count()).toBe(0)
    await quick.close()
  })

  it('quick-ask: the window list gives the focus back to Choose window when it closes, and to the question after a pick', async () => {
    await h.capture.set(await screenshotPng(1920, 1080), { id: 1, bounds: { x: 0, y: 0, width: 1920, height: 1080 }, scaleFactor: 1 })
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
    await expect.poll(() => quick.getByTestId('screenshot').getAttribute('alt')).toBe('Screenshot (1920 × 1080)')
    const list = quick.getByRole('list', { name: 'Windows' })
    const focused = (): Promise<string | null> =>
      quick.evaluate(() => {
        const here = document.activeElement
        return here && here !== document.body ? (here.getAttribute('aria-label') ?? here.textContent?.trim() ?? here.tagName) : null
      })
    /** Opens the list from the keyboard, and tabs to its first window. */
    const chooseByKeyboard = async (): Promise<void> => {
      await quick.getByRole('button', { name: 'Choose window' }).focus()
      await quick.keyboard.press('Enter')
      await expect.poll(() => list.count()).toBe(1)
      await quick.keyboard.press('Tab')
      expect(await focused()).toBe('Editor — main.ts')
    }

    await chooseByKeyboard()
    await list.getByRole('button', { name: 'Terminal' }).focus()
    await quick.keyboard.press('Tab')
    expect(await focused()).toBe('Cancel')
    await quick.keyboard.press('Enter')
    await expect.poll(() => list.count()).toBe(0)
    expect(await focused()).toBe('Choose window')

    await chooseByKeyboard()
    await quick.keyboard.press('Escape')
    await expect.poll(() => list.count()).toBe(0)
    expect(await focused()).toBe('Choose window')

    // A window gone before it could be captured: the list is gone, and the way on is to choose again.
    await quick.evaluate(() => {
      const call = window.__assistantCall.bind(window)
      window.__assistantCall = (channel, payload) =>
        channel === 'capture:window' ? Promise.reject(new Error('That window is no longer open.')) : call(channel, payload)
    })
    await chooseByKeyboard()
    await quick.keyboard.press('Enter')
    await expect.poll(() => quick.getByRole('alert').count()).toBe(1)
    expect(await list.count()).toBe(0)
    expect(await focused()).toBe('Choose window')
    await quick.reload()
    await expect.poll(() => quick.getByTestId('screenshot').count()).toBe(1)

    // A window chosen: the question about it comes next.
    await chooseByKeyboard()
    await quick.keyboard.press('Enter')
    await expect.poll(() => quick.getByTestId('screenshot').getAttribute('alt')).toBe('Screenshot (1600 × 1000)')
    await expect.poll(focused).toBe('Question')
    await quick.close()
  })

  it('quick-ask: with the text layer set to Never, reads nothing unless asked, and refuses the screenshot while the model cannot see', async () => {
    await h.engine.load({ modelPath: fx.textModel, gpu: false })
    await setScreenText('never')
    await h.capture.set(await textPng(h.browser, { blocks: [INVOICE_LINES] }), screen)
    const quick = await openQuick()
    await expect.poll(() => quick.getByTestId('screenshot').count()).toBe(1)
    await expect.poll(() => panel(quick).getByRole('button', { name: 'Read text' }).count()).toBe(1)
    expect(await panel(quick).getByTestId('screen-text').count()).toBe(0)
    expect(await quick.getByTestId('text-only').count()).toBe(0)
    await quick.getByRole('textbox', { name: 'Question' }).fill('What is on screen?')
    await quick.keyboard.press('Enter')
    await expect.poll(() => quick.getByRole('alert').textContent()).toContain('no vision projector')
    // Asked for: read now.
    await panel(quick).getByRole('button', { name: 'Read text' }).click()
    await expect.poll(() => panel(quick).getByTestId('screen-text').textContent(), { timeout: 20_000 }).toContain('Invoice')
    await quick.close()
    await setScreenText('auto')
  })

  it('quick-ask: a model that cannot see answers from the text on the screen, and says so', async () => {
    await h.capture.set(await textPng(h.browser, { blocks: [INVOICE_LINES] }), screen)
    const quick = await openQuick()
    await expect
      .poll(() => quick.getByTestId('text-only').textContent())
      .toBe('This model cannot see images; it answers from the text on the screen.')
    await quick.getByRole('textbox', { name: 'Question' }).fill('When is the invoice due?')
    await quick.keyboard.press('Enter')
    await expect.poll(() => quick.getByTestId('quick-notes').textContent(), { timeout: 30_000 }).toContain('cannot see images')
    await expect
      .poll(() => quick.getByTestId('quick-stats').textContent(), { timeout: 30_000 })
      .toMatch(/^\d+ tokens · first token \d+ ms$/)
    expect(await quick.getByRole('alert').count()).toBe(0)
    await quick.close()
  })

  it('quick-ask: screenshot attached, focused, answer streams, Open in chat hands it over, Esc hides', async () => {
    await h.engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    const chatWindow = await h.openApp()
    await h.capture.set(await screenshotPng(3840, 2160), { id: 1, bounds: { x: 0, y: 0, width: 3840, height: 2160 }, scaleFactor: 1 })
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
    await expect.poll(() => quick.getByTestId('screenshot').getAttribute('alt')).toBe('Screenshot (3840 × 2160)')
    await expect.poll(() => quick.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Question')
    await quick.keyboard.type('What is on my screen?')
    await quick.keyboard.press('Enter')
    await expect
      .poll(() => quick.getByTestId('quick-stats').textContent(), { timeout: 30_000 })
      .toMatch(/^512 tokens · first token \d+ ms · 16 image tokens$/)
    await quick.screenshot({ path: join(ARTIFACTS, 'quick-ask.png') })

    await quick.getByRole('button', { name: 'Open in chat' }).click()
    await expect.poll(() => h.windowCalls.at(-1)).toMatch(/^open:/)
    const chatId = h.windowCalls.at(-1)!.slice('open:'.length)
    const saved = await h.chats.get(chatId)
    expect(saved.title).toBe('Quick ask: What is on my screen?')
    expect(saved.messages.map((m) => m.role)).toEqual(['user', 'assistant'])
    expect(saved.messages[0]!.images).toMatchObject([{ width: 3840, height: 2160, name: 'screenshot.png' }])
    // The chat window opens the handed-over conversation.
    await expect.poll(() => chatWindow.locator('summary').textContent()).toBe('Quick ask: What is on my screen?')
    await expect.poll(() => chatWindow.getByTestId('turn-user').locator('img').count()).toBe(1)

    await quick.keyboard.press('Escape')
    await expect.poll(() => h.windowCalls.at(-1)).toBe('quick:hide')
  })

  it('quick-ask: a pasted question keeps its line breaks, shows a few lines of itself, and a long address does not widen the answer', async () => {
    await h.engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    await h.capture.set(await screenshotPng(1280, 720), { id: 1, bounds: { x: 0, y: 0, width: 1280, height: 720 }, scaleFactor: 1 })
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
    await expect.poll(() => quick.getByTestId('screenshot').count(), { timeout: 20_000 }).toBe(1)
    const url = 'https://ci.example.com/job/frontend-monorepo/build/123456/artifact/packages/web/dist/reports/' + 'x'.repeat(120)
    const pasted =
      `Why does this fail? ${url}\n` + Array.from({ length: 30 }, (_, i) => `  at frame${i} (src/module${i}.ts:${i}:1)`).join('\n')
    await quick.getByRole('textbox', { name: 'Question' }).fill(pasted)
    await quick.keyboard.press('Enter')
    // The question is echoed as soon as it is asked; its answer is not needed to measure it.
    await expect.poll(() => quick.getByTestId('quick-answer').count(), { timeout: 30_000 }).toBe(1)
    const m = await quick.evaluate(() => {
      const answer = document.querySelector<HTMLElement>('[data-testid="quick-answer"]')!
      const asked = answer.querySelector<HTMLElement>('.asked')!
      const line = parseFloat(getComputedStyle(asked).lineHeight)
      return {
        pageWider: document.documentElement.scrollWidth > innerWidth,
        answerWider: answer.scrollWidth > answer.clientWidth,
        askedWider: asked.scrollWidth > asked.clientWidth,
        lines: Math.round(asked.getBoundingClientRect().height / line),
        keptBreaks: getComputedStyle(asked).whiteSpace,
      }
    })
    await quick.screenshot({ path: join(ARTIFACTS, 'quick-ask-long-question.png') })
    expect(m).toEqual({ pageWider: false, answerWider: false, askedWider: false, lines: 3, keptBreaks: 'pre-wrap' })
    await quick.close()
  })
})
