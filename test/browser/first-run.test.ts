// The first-run offer in real Chromium, against the real services, around its download's
// end: what the chat view says when the model cannot be loaded, that a model the user loaded
// meanwhile is not replaced, and that a window reopened mid-download still loads it; and that
// the offer keeps out of the way while a remote engine answers. Each case starts from an empty
// models folder, so each has its own harness.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ensureFixtures } from '../fixtures/generate.js'
import { truncatedCopy } from '../support/engine.js'
import { browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

// Each case downloads the model (slowly, for some) and loads it, twice for some: on a busy
// 2-core machine this has taken 40 s, too close to the default minute.
describe.skipIf(skip !== null)('First-run offer in Chromium', { timeout: 120_000 }, () => {
  let harness: Harness
  /** This case's harness, until closed (none if it failed to start). */
  let started: Harness | undefined
  // Started in a hook, whose time limit is longer: each case's own time is spent on its flow.
  beforeEach(async () => {
    started = harness = await startHarness()
  })
  afterEach(async () => {
    await started?.close()
    started = undefined
  })

  async function open(): Promise<Page> {
    const page = await harness.openApp()
    await expect.poll(() => page.getByTestId('first-run').textContent()).toContain('Get a vision model to start')
    return page
  }

  const download = (page: Page) =>
    page
      .getByTestId('first-run')
      .getByRole('button', { name: /^Download Tiny VLM/ })
      .click()

  it('says in the chat view why the downloaded model could not be loaded, and loads it on Try again', async () => {
    const fx = await ensureFixtures()
    const page = await open()
    // The file the engine is given is damaged (as a bad sector or an antivirus would leave it).
    const damaged = await truncatedCopy(fx.textModel, await mkdtemp(join(tmpdir(), 'first-run-')), 0.5)
    const load = harness.engine.load.bind(harness.engine)
    harness.engine.load = (request) => load({ ...request, modelPath: damaged })
    await download(page)

    const area = page.getByTestId('first-run')
    await expect.poll(() => area.getByRole('alert').textContent(), { timeout: 30_000 }).toMatch(/is incomplete.*Download it again/)
    expect(await area.getByRole('heading').textContent()).toBe('Tiny VLM could not be loaded')
    expect(await area.getByRole('button', { name: 'Manage models' }).count()).toBe(1)

    harness.engine.load = load
    await area.getByRole('button', { name: 'Try again' }).click()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toMatch(/tiny-vlm-F32\.gguf/)
    expect(await area.count()).toBe(0)
  })
  it('leaves a model the user loaded during the download, and loads the downloaded one when asked', async () => {
    const fx = await ensureFixtures()
    const page = await open()
    harness.hub.options.bytesPerTick = 2 * 1024
    await download(page)
    await expect.poll(() => harness.models.downloads.list().some((j) => j.state === 'downloading')).toBe(true)

    // Meanwhile the user loads a model they already have, by its path.
    await page.getByPlaceholder('/path/to/model.gguf').fill(fx.textModel)
    await page.getByRole('button', { name: 'Load', exact: true }).click()
    await expect.poll(() => harness.engine.state().state, { timeout: 20_000 }).toBe('ready')
    harness.hub.options.bytesPerTick = undefined

    const area = page.getByTestId('first-run')
    await expect.poll(() => area.getByRole('heading').textContent(), { timeout: 30_000 }).toBe('Tiny VLM is ready')
    const loaded = harness.engine.state()
    expect(loaded.state === 'ready' && loaded.info.modelPath).toBe(fx.textModel)

    await area.getByRole('button', { name: 'Load Tiny VLM' }).click()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toMatch(/tiny-vlm-F32\.gguf/)
    expect(await area.count()).toBe(0)
  })
  it('loads the downloaded model when the window was reopened during the download', async () => {
    const page = await open()
    harness.hub.options.bytesPerTick = 4 * 1024
    await download(page)
    await expect.poll(() => harness.models.downloads.list().some((j) => j.state === 'downloading')).toBe(true)
    await page.reload()
    await expect.poll(() => page.getByTestId('first-run').getByRole('progressbar').count()).toBe(1)
    harness.hub.options.bytesPerTick = undefined
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 30_000 }).toMatch(/tiny-vlm-F32\.gguf/)
    expect(await page.getByTestId('first-run').count()).toBe(0)
  })
  it('is not offered while a remote engine answers', async () => {
    // Nothing listens there: the offer follows the choice, not the server's answers.
    const engine = await harness.remoteEngines.add({
      name: 'GPU box',
      baseUrl: 'http://127.0.0.1:9/v1',
      model: 'm',
      allowUnencrypted: false,
    })
    await harness.remoteEngines.setDefault({ id: engine.id, model: 'm' })
    const page = await harness.openApp()
    const picker = page.getByRole('combobox', { name: 'Engine' })
    await expect.poll(() => page.getByTestId('engine-privacy').count()).toBe(1)

    // Back to this computer, with no model: offered (the library has been read by now).
    await picker.selectOption('local')
    await expect.poll(() => page.getByTestId('first-run').textContent()).toContain('Get a vision model to start')
    await picker.selectOption({ value: `${engine.id}\nm` })
    await expect.poll(() => page.getByTestId('first-run').count()).toBe(0)
  })
})
