// The Models page's download states as a user meets them, in real Chromium against the real
// services: a download that is checking or waiting between its files can still be stopped, the
// catalog goes on with a paused or failed download of its model rather than showing a disabled
// "Downloading", and it says which quantisation is installed while offering the others.
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { hubOptions } from '../models/hub-server.js'
import { ARTIFACTS, browserSkipReason, startHarness, TEST_CATALOG, TEST_REPO, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

const MODEL = 'tiny-vlm-F32.gguf'
const MMPROJ = 'mmproj-tiny-vlm-F32.gguf'
/** A second quantisation of the catalog's model. */
const OTHER = 'tiny-vlm-Q8_0.gguf'

describe.skipIf(skip !== null)('download states on the Models page', () => {
  let h: Harness
  let fx: FixturePaths
  let page: Page

  beforeAll(async () => {
    // This file's catalog offers the model in two quantisations (the harness's has one).
    TEST_CATALOG.entries[0]!.models.push({ file: OTHER, quantisation: 'Q8_0', approxBytes: 300_000, sha256: null })
    fx = await ensureFixtures()
    h = await startHarness()
    page = await h.openApp()
    await page.getByRole('button', { name: 'Models' }).click()
  })
  afterAll(async () => h?.close())

  const download = () => page.getByTestId('download')
  const downloadState = () => download().getAttribute('data-state')
  const entry = () => page.getByTestId('catalog-entry')
  const catalogButton = () => entry().getByRole('button')
  const staged = async (): Promise<string[]> =>
    (await readdir(join(h.dataDir, 'models', '.downloads')).catch(() => [])).filter((f) => /^[0-9a-f-]{36}$/.test(f))

  it('offers Pause and Cancel while a download is checking, and cancels it', async () => {
    // The model file comes whole; the projector's request (the download's next) gets no answer,
    // so the download stays "Checking…" between its files.
    h.hub.options.silentRequests = [h.hub.requests.length + 1]
    await catalogButton().click()
    await expect.poll(downloadState, { timeout: 15_000 }).toBe('verifying')
    expect(await download().getByTestId('download-state').textContent()).toBe('Checking…')
    expect(await download().getByRole('button').allTextContents()).toEqual(['Pause', 'Cancel'])
    expect(await catalogButton().allTextContents()).toEqual(['Checking…'])
    await page.screenshot({ path: join(ARTIFACTS, 'models-download-checking.png') })

    await download().getByRole('button', { name: 'Cancel' }).click()
    await page
      .getByRole('group', { name: 'Cancel the download of Tiny VLM (F32)?' })
      .getByRole('button', { name: 'Delete download' })
      .click()
    await expect.poll(() => download().count()).toBe(0)
    expect(await staged()).toEqual([])
    expect(await catalogButton().allTextContents()).toEqual(['Download'])
    h.hub.options.silentRequests = []
  })

  it('goes on with a paused or failed download of the chosen model from the catalog, never a disabled button', async () => {
    h.hub.options.bytesPerTick = 4 * 1024
    await catalogButton().click()
    await expect.poll(downloadState).toBe('downloading')
    await expect.poll(async () => Number(await download().locator('progress').getAttribute('value'))).toBeGreaterThan(0)
    expect(await catalogButton().allTextContents()).toEqual(['Downloading'])
    expect(await catalogButton().isDisabled()).toBe(true)

    await download().getByRole('button', { name: 'Pause' }).click()
    await expect.poll(downloadState).toBe('paused')
    // (Read without waiting for a button that may not be there: a wrong one fails here, not at the test's time limit.)
    await expect.poll(() => catalogButton().allTextContents()).toEqual(['Resume'])
    const resume = entry().getByRole('button', { name: 'Resume' })
    expect(await resume.isEnabled()).toBe(true)
    expect(await entry().getByTestId('catalog-download').textContent()).toMatch(/^Paused at \d+(\.\d)? (B|KiB) of \d+(\.\d)? KiB\.$/)

    // Resumed from the catalog, into a server that refuses it: the download fails, and the catalog offers to retry it.
    h.hub.options.failWith = [503, 503]
    await resume.click()
    await expect.poll(downloadState, { timeout: 15_000 }).toBe('failed')
    await expect.poll(() => catalogButton().allTextContents()).toEqual(['Retry'])
    const retry = entry().getByRole('button', { name: 'Retry' })
    expect(await retry.isEnabled()).toBe(true)
    expect(await entry().getByTestId('catalog-download').textContent()).toMatch(/^Failed at .* of .*; its card under Downloads says why\.$/)
    expect(await download().getByRole('alert').textContent()).toMatch(
      /^The download of tiny-vlm-F32\.gguf failed 2 times in a row: the server answered 503\./,
    )
    await page.screenshot({ path: join(ARTIFACTS, 'models-catalog-retry.png') })

    h.hub.options.bytesPerTick = undefined
    await retry.click()
    await expect.poll(downloadState, { timeout: 15_000 }).toBe('done')
    // Once the library has read the new model.
    await expect.poll(() => catalogButton().allTextContents(), { timeout: 15_000 }).toEqual(['Installed'])
    expect(await entry().getByTestId('catalog-download').count()).toBe(0)
    await download().getByRole('button', { name: 'Dismiss' }).click()
    await expect.poll(() => download().count()).toBe(0)
  })

  it('says which quantisation is installed and offers the others', async () => {
    // F32 is installed (the test before downloaded it; copied here, so this test stands on its own).
    const folder = join(h.dataDir, 'models', 'tiny-vlm-F32')
    await mkdir(folder, { recursive: true })
    await Promise.all([copyFile(fx.textModel, join(folder, MODEL)), copyFile(fx.mmproj, join(folder, MMPROJ))])
    h.push('models:changed', null)
    // The hub lists the other quantisation (as the model's bytes), and has no file to send for it.
    const [model, mmproj] = await Promise.all([readFile(fx.textModel), readFile(fx.mmproj)])
    hubOptions(h.hub).listAs = { [TEST_REPO]: { [MODEL]: model, [MMPROJ]: mmproj, [OTHER]: model } }
    const quantisation = entry().getByRole('combobox', { name: 'Quantisation of Tiny VLM' })
    await expect.poll(() => entry().getByTestId('catalog-installed').allTextContents(), { timeout: 15_000 }).toEqual(['Installed: F32'])
    expect(await quantisation.locator('option').allTextContents()).toEqual([
      expect.stringMatching(/^F32 \(≈ \d+ KiB\) · installed$/),
      expect.stringMatching(/^Q8_0 \(≈ \d+ KiB\)$/),
    ])
    expect(await catalogButton().allTextContents()).toEqual(['Installed'])
    expect(await catalogButton().isDisabled()).toBe(true)

    await quantisation.selectOption('Q8_0')
    await expect.poll(() => catalogButton().allTextContents()).toEqual(['Download'])
    const get = entry().getByRole('button', { name: 'Download' })
    expect(await get.isEnabled()).toBe(true)
    await page.screenshot({ path: join(ARTIFACTS, 'models-catalog-quantisations.png') })
    // The hub has no file to send for it: its own download fails, and the catalog offers to retry that one.
    await get.click()
    const other = page.getByRole('listitem', { name: 'Tiny VLM (Q8_0)' })
    await expect.poll(() => other.getAttribute('data-state'), { timeout: 15_000 }).toBe('failed')
    await expect.poll(() => catalogButton().allTextContents()).toEqual(['Retry'])
    expect(await other.getByRole('alert').textContent()).toMatch(/the server answered 404 Not Found\.$/)
    expect(await entry().getByTestId('catalog-download').textContent()).toMatch(
      /^Failed at 0 B of .*; its card under Downloads says why\.$/,
    )

    // The installed one is still said to be installed, whatever became of the other's download.
    await quantisation.selectOption('F32')
    await expect.poll(() => catalogButton().allTextContents()).toEqual(['Installed'])
    expect(await entry().getByTestId('catalog-download').count()).toBe(0)
    hubOptions(h.hub).listAs = undefined
  })
})
