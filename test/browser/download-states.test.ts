// The Models page's download states as a user meets them, in real Chromium against the real
// services: a download that is checking or waiting between its files can still be stopped.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

describe.skipIf(skip !== null)('download states on the Models page', () => {
  let h: Harness
  let page: Page

  beforeAll(async () => {
    h = await startHarness()
    page = await h.openApp()
    await page.getByRole('button', { name: 'Models' }).click()
  })
  afterAll(async () => h?.close())

  const download = () => page.getByTestId('download')
  const downloadState = () => download().getAttribute('data-state')
  const catalogButton = () => page.getByTestId('catalog-entry').getByRole('button')
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
    await page.screenshot({ path: join(ARTIFACTS, 'models-download-checking.png') })

    await download().getByRole('button', { name: 'Cancel' }).click()
    await page
      .getByRole('group', { name: 'Cancel the download of Tiny VLM (F32)?' })
      .getByRole('button', { name: 'Delete download' })
      .click()
    await expect.poll(() => download().count()).toBe(0)
    expect(await staged()).toEqual([])
    h.hub.options.silentRequests = []
  })
})
