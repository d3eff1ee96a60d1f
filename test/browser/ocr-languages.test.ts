// The Models page's text-layer languages in real Chromium, against the real services: the
// system's languages (Spanish, then English) pick the Latin pack, which the stand-in hub on
// 127.0.0.1 serves (the built-in recogniser's bytes under its name: the plumbing, not a real
// Latin model); until it is downloaded the built-in pack reads and the page says so.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

describe.skipIf(skip !== null)('Text layer languages on the Models page in Chromium', () => {
  let h: Harness
  let page: Page

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    h = await startHarness()
    page = await h.openApp()
    await page.getByRole('button', { name: 'Models' }).click()
  })
  afterAll(async () => h?.close())

  const section = () => page.getByTestId('ocr-languages')
  const card = (id: string) => section().locator(`[data-pack="${id}"]`)
  const inUse = () => section().getByTestId('ocr-in-use').locator('xpath=ancestor::li').getAttribute('data-pack')
  const problem = () => section().getByTestId('ocr-problem')

  it('lists the packs with their sizes, picks Latin from the system language, and says it is not downloaded yet', async () => {
    await expect.poll(() => section().isVisible()).toBe(true)
    const choice = section().getByRole('combobox', { name: 'Read screens in' })
    expect(await choice.inputValue()).toBe('auto')
    expect(await choice.locator('option[value="auto"]').textContent()).toBe("Automatic: Latin script (from the system's languages)")
    expect(await inUse()).toBe('builtin')
    expect(await problem().textContent()).toBe('Latin script is not downloaded: screens are read in English and Chinese until it is.')
    expect(await card('builtin').textContent()).toMatch(/English and Chinese.*Included/)
    // The hub's exact size for the pack it has; the catalog's estimate, marked ≈, for one it does not.
    expect(await card('latin').getByTestId('ocr-size').textContent()).toMatch(/^\d+(\.\d)? MiB$/)
    expect(await card('greek').getByTestId('ocr-size').textContent()).toBe('≈ 8.2 MiB')
    await page.screenshot({ path: join(ARTIFACTS, 'ocr-languages.png'), fullPage: true })
  })

  it('downloads the pack from the local hub, with progress, and reads with it once verified', async () => {
    h.hub.options.bytesPerTick = 256 * 1024 // about 13 MB/s: a few frames of progress
    await card('latin').getByRole('button', { name: 'Download' }).click()
    await expect.poll(() => card('latin').locator('progress').count()).toBe(1)
    await expect.poll(inUse, { timeout: 30_000 }).toBe('latin')
    expect(await problem().count()).toBe(0)
    expect(await card('latin').textContent()).toMatch(/Latin script.*In use.*Downloaded/)
    // The model manager's list shows it like any download.
    const download = page.getByTestId('download').filter({ hasText: 'Text layer: Latin script' })
    await expect.poll(() => download.getAttribute('data-state')).toBe('done')
    expect(h.ocrLanguages.recogniser()).toMatchObject({ pack: 'latin', language: 'latin' })
    await page.screenshot({ path: join(ARTIFACTS, 'ocr-languages-downloaded.png'), fullPage: true })
  })

  it('reads with the built-in pack or the in-app French, German and Polish one when chosen, and with the system language again on automatic', async () => {
    const choice = section().getByRole('combobox', { name: 'Read screens in' })
    await choice.selectOption('builtin')
    await expect.poll(inUse).toBe('builtin')
    expect(h.ocrLanguages.recogniser()).toBeNull()
    expect(await card('fr-de-pl').textContent()).toMatch(/French, German and Polish.*Included/)
    expect(await card('fr-de-pl').getByRole('button', { name: 'Download' }).count()).toBe(0)
    await choice.selectOption('fr-de-pl')
    await expect.poll(inUse).toBe('fr-de-pl')
    expect(h.ocrLanguages.recogniser()).toMatchObject({ engine: 'tesseract', languages: ['fra', 'deu', 'pol'] })
    expect(await problem().count()).toBe(0)
    await choice.selectOption('auto')
    await expect.poll(inUse).toBe('latin')
  })

  it('deletes a downloaded pack after asking, and falls back to the built-in one', async () => {
    await card('latin').getByRole('button', { name: 'Delete' }).click()
    await section().getByRole('group', { name: 'Delete Latin script?' }).getByRole('button', { name: 'Delete' }).click()
    await expect.poll(inUse).toBe('builtin')
    expect(await problem().textContent()).toMatch(/^Latin script is not downloaded/)
    expect(await card('latin').getByRole('button', { name: 'Download' }).count()).toBe(1)
  })
})
