// The Models page and the first-run offer in real Chromium, against the real services:
// downloads come from a stand-in Hugging Face hub on 127.0.0.1, the library is read by the
// engine process, and the tiny generated model is loaded for real.
import { access, mkdir, readdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { hubOptions } from '../models/hub-server.js'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  )

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

describe.skipIf(skip !== null)('Models page in Chromium', () => {
  let h: Harness
  let fx: FixturePaths
  let page: Page

  beforeAll(async () => {
    fx = await ensureFixtures()
    await mkdir(ARTIFACTS, { recursive: true })
    h = await startHarness()
    page = await h.openApp()
  })
  afterAll(async () => h?.close())

  const download = () => page.getByTestId('download')
  const downloadState = () => download().getAttribute('data-state')
  const progress = async (): Promise<number> => Number(await download().locator('progress').getAttribute('value'))
  // Each download's staging folder is named by its id; downloads.json (and its atomic-write temp files) sit beside them.
  const staged = async (): Promise<string[]> =>
    (await readdir(join(h.dataDir, 'models', '.downloads')).catch(() => [])).filter((f) => /^[0-9a-f-]{36}$/.test(f))

  it('offers the recommended model, with its size, when there is no model yet', async () => {
    const offer = page.getByTestId('first-run')
    await expect.poll(() => offer.textContent()).toContain('Get a vision model to start')
    expect(await offer.getByRole('button', { name: /^Download Tiny VLM \(≈ \d+ KiB\)$/ }).count()).toBe(1)
    await page.screenshot({ path: join(ARTIFACTS, 'models-first-run.png') })
  })

  it('shows the empty library, this machine, and the catalog', async () => {
    await page.getByRole('button', { name: 'Models' }).click()
    await expect.poll(() => page.getByTestId('library-empty').isVisible()).toBe(true)
    expect(await page.getByTestId('hardware').textContent()).toMatch(/This computer: .* memory free/)
    const entry = page.getByTestId('catalog-entry')
    expect(await entry.count()).toBe(1)
    expect(await entry.textContent()).toMatch(/Tiny VLM.*Start here.*≈ \d+ KiB with its vision projector.*MIT/)
  })

  it('starts, pauses, resumes and cancels a download from the local server', async () => {
    h.hub.options.bytesPerTick = 4 * 1024 // about 200 KB/s: slow enough to act mid-file
    await page.getByTestId('catalog-entry').getByRole('button', { name: 'Download' }).click()
    await expect.poll(downloadState).toBe('downloading')
    await expect.poll(progress).toBeGreaterThan(0)
    await expect.poll(() => download().getByTestId('download-state').textContent()).toMatch(/\d+(\.\d)? (B|KiB)\/s · \d+ s left/)
    expect(await page.getByRole('button', { name: /^Models \(1 downloading\)$/ }).count()).toBe(1)

    await download().getByRole('button', { name: 'Pause' }).click()
    await expect.poll(downloadState).toBe('paused')
    const pausedAt = await progress()
    await new Promise((r) => setTimeout(r, 400))
    expect(await progress()).toBe(pausedAt)
    expect(await staged()).toHaveLength(1)

    await download().getByRole('button', { name: 'Resume' }).click()
    await expect.poll(downloadState).toBe('downloading')
    await expect.poll(progress).toBeGreaterThan(pausedAt)
    // The resumed request asked for the bytes after the ones already on disk.
    expect(h.hub.requests.some((r) => /^bytes=[1-9]\d*-$/.test(r))).toBe(true)

    // Cancel asks first; "Keep for later" pauses instead of deleting.
    await download().getByRole('button', { name: 'Cancel' }).click()
    const confirm = page.getByRole('group', { name: 'Cancel the download of Tiny VLM (F32)?' })
    await expect.poll(() => confirm.textContent()).toMatch(/Delete the \d+(\.\d)? KiB downloaded so far\?/)
    await page.screenshot({ path: join(ARTIFACTS, 'models-cancel-confirm.png') })
    await confirm.getByRole('button', { name: 'Keep for later' }).click()
    await expect.poll(downloadState).toBe('paused')
    expect(await staged()).toHaveLength(1)

    await download().getByRole('button', { name: 'Cancel' }).click()
    await confirm.getByRole('button', { name: 'Delete download' }).click()
    await expect.poll(() => download().count()).toBe(0)
    expect(await staged()).toEqual([])
    expect(await page.getByTestId('library-empty').isVisible()).toBe(true)
  })

  it('shows a download being retried, with why and which retry', async () => {
    // The first request is refused and the retry gets no answer, so the retry stays on screen.
    h.hub.options.failWith = [503]
    h.hub.options.unresponsive = 1
    await page.getByTestId('catalog-entry').getByRole('button', { name: 'Download' }).click()
    await expect
      .poll(() => download().getByTestId('download-state').textContent())
      .toBe('Interrupted (the server answered 503), retrying (1 of 1)')
    expect(await downloadState()).toBe('downloading')
    await download().getByRole('button', { name: 'Pause' }).click()
    await expect.poll(downloadState).toBe('paused')
    expect(await download().getByTestId('download-state').textContent()).toBe('Paused')
    await download().getByRole('button', { name: 'Cancel' }).click()
    await page
      .getByRole('group', { name: 'Cancel the download of Tiny VLM (F32)?' })
      .getByRole('button', { name: 'Delete download' })
      .click()
    await expect.poll(() => download().count()).toBe(0)
  })

  it('drops the cancel question when the download finishes while it is asked', async () => {
    h.hub.options.failWith = []
    h.hub.options.unresponsive = 0
    h.hub.options.bytesPerTick = 2 * 1024
    await page.getByTestId('catalog-entry').getByRole('button', { name: 'Download' }).click()
    await expect.poll(downloadState).toBe('downloading')
    await download().getByRole('button', { name: 'Cancel' }).click()
    const confirm = page.getByRole('group', { name: 'Cancel the download of Tiny VLM (F32)?' })
    expect(await confirm.count()).toBe(1)
    h.hub.options.bytesPerTick = undefined
    await expect.poll(downloadState, { timeout: 15_000 }).toBe('done')
    // Nothing is left to cancel: the finished download's own buttons, not "Delete download".
    await expect.poll(() => confirm.count()).toBe(0)
    expect(await download().getByRole('button').allTextContents()).toEqual(['Load', 'Dismiss'])

    await download().getByRole('button', { name: 'Dismiss' }).click()
    await expect.poll(() => download().count()).toBe(0)
    await page.getByTestId('library-model').getByRole('button', { name: 'Delete…' }).click()
    await page.getByRole('group', { name: 'Delete tiny-vlm-F32?' }).getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => page.getByTestId('library-empty').isVisible()).toBe(true)
  })

  it('downloads model and projector together, then lists them paired with a fit estimate, and loads them', async () => {
    h.hub.options.bytesPerTick = undefined
    // The retry test above may be cancelled before its retry reached the server: its
    // unanswered request must not be waiting for this download's first request.
    h.hub.options.failWith = []
    h.hub.options.unresponsive = 0
    await page.getByTestId('catalog-entry').getByRole('button', { name: 'Download' }).click()
    await expect.poll(downloadState, { timeout: 15_000 }).toBe('done')
    // Both files had a SHA-256 to be checked against.
    expect(await download().getByTestId('unverified').count()).toBe(0)
    const model = page.getByTestId('library-model')
    await expect.poll(() => model.count()).toBe(1)
    expect(await model.textContent()).toMatch(
      /tiny-vlm-F32.*Vision.*llama · \d+K parameters · F32 · .*4,096-token context.*Vision projector: mmproj-tiny-vlm-F32\.gguf \(mlp, 64-wide\)/,
    )
    expect(await model.getByTestId('fit').textContent()).toMatch(/^Fits: on the CPU, about .* of memory .* with a 4,096-token context\.$/)
    expect(await page.getByTestId('catalog-entry').getByRole('button', { name: 'Installed' }).isDisabled()).toBe(true)
    await page.screenshot({ path: join(ARTIFACTS, 'models-library.png'), fullPage: true })

    // The header's picker offers installed models, with the projector they pair with.
    const picker = page.getByRole('combobox', { name: 'Choose a model' })
    expect(await picker.locator('optgroup[label="Installed"] option').allTextContents()).toEqual(['tiny-vlm-F32 (vision)'])

    // While a model loads, no Load button starts another, the finished download's as the library's.
    const loadDownload = download().getByRole('button', { name: 'Load' })
    expect(await loadDownload.isEnabled()).toBe(true)
    h.push('engine:state', { state: 'loading', modelPath: join(h.dataDir, 'models', 'other.gguf') })
    try {
      await expect.poll(() => loadDownload.isDisabled()).toBe(true)
      expect(await model.getByRole('button', { name: 'Load' }).isDisabled()).toBe(true)
    } finally {
      h.push('engine:state', h.engine.state())
    }
    await expect.poll(() => loadDownload.isEnabled()).toBe(true)

    await model.getByRole('button', { name: 'Load' }).click()
    await expect.poll(() => model.textContent(), { timeout: 20_000 }).toContain('Loaded')
    // The loaded model's download offers no second load of it.
    expect(await loadDownload.isDisabled()).toBe(true)
    await expect.poll(() => page.getByTestId('status-bar').textContent()).toMatch(/tiny-vlm-F32\.gguf/)

    await model.getByRole('button', { name: 'Show in folder' }).click()
    await expect.poll(() => h.revealed.at(-1)).toBe(join(h.dataDir, 'models', 'tiny-vlm-F32', 'tiny-vlm-F32.gguf'))
  })

  it('finds a repository on the hub, picks a quantisation and projector, and downloads them', async () => {
    await page.getByRole('searchbox', { name: 'Search Hugging Face for GGUF models' }).fill('tiny')
    await page.getByRole('button', { name: 'Search' }).click()
    const result = page.getByTestId('search-result')
    await expect.poll(() => result.textContent()).toContain('test-org/Tiny-VLM-GGUF')
    await result.getByRole('button', { name: 'Choose files' }).click()
    const files = page.getByTestId('repo-files')
    await expect.poll(() => files.getByRole('combobox', { name: 'Model file' }).inputValue()).toBe('tiny-vlm-F32.gguf')
    expect(await files.getByRole('combobox', { name: 'Vision projector' }).inputValue()).toBe('mmproj-tiny-vlm-F32.gguf')
    // Already installed from the catalog: refused with the reason, nothing replaced.
    await files.getByRole('button', { name: 'Download' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('tiny-vlm-F32.gguf is already in your library.')
  })

  it('says why a search failed beside the search box, and forgets it once the page is left', async () => {
    // The hub's search answers 404.
    const hub = h.hub.options
    const json = hub.json!
    hub.json = (path, query) => (path === 'api/models' ? null : json(path, query))
    const box = page.getByRole('searchbox', { name: 'Search Hugging Face for GGUF models' })
    try {
      await box.fill('qwen')
      await box.press('Enter')
      const alert = page.getByRole('region', { name: 'Search Hugging Face' }).getByRole('alert')
      await expect.poll(() => alert.count()).toBe(1)
      // The only error on the page, just under the box the user typed in: not at the top of a scrolled page.
      expect(await page.getByRole('alert').count()).toBe(1)
      const [shown, typed] = [(await alert.boundingBox())!, (await box.boundingBox())!]
      expect(shown.y - (typed.y + typed.height)).toBeLessThan(40)
      expect(shown.y).toBeGreaterThan(0)
      await page.screenshot({ path: join(ARTIFACTS, 'models-search-error.png') })
    } finally {
      hub.json = json
    }
    await page.getByRole('button', { name: 'Back to chat' }).click()
    await page.getByRole('button', { name: /^Models/ }).click()
    await expect.poll(() => box.isVisible()).toBe(true)
    expect(await page.getByRole('alert').count()).toBe(0)
  })

  it('asks for two characters when the search is only spaces, in a plain sentence', async () => {
    const box = page.getByRole('searchbox', { name: 'Search Hugging Face for GGUF models' })
    // Spaces pass the field's minlength.
    await box.fill('   ')
    await box.press('Enter')
    const alert = page.getByRole('region', { name: 'Search Hugging Face' }).getByRole('alert')
    await expect.poll(() => alert.textContent()).toBe('Type at least two characters to search.')
  })

  it('deletes a model after asking, freeing its folder, and unloads it first', async () => {
    const model = page.getByTestId('library-model')
    await model.getByRole('button', { name: 'Delete…' }).click()
    const confirm = page.getByRole('group', { name: 'Delete tiny-vlm-F32?' })
    expect(await confirm.textContent()).toMatch(/Delete the model and its projector and free .*\?/)
    await confirm.getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => page.getByTestId('library-empty').isVisible(), { timeout: 15_000 }).toBe(true)
    expect(await readdir(join(h.dataDir, 'models'))).not.toContain('tiny-vlm-F32')
    await expect.poll(() => page.getByTestId('status-bar').textContent()).toContain('No model loaded')
  })

  it('marks a file the hub publishes no checksum for as unverified, on its download and on the installed model', async () => {
    // Finished downloads from the tests before are dismissed, so this one is the only row.
    const dismiss = download().getByRole('button', { name: 'Dismiss' })
    for (let left = await dismiss.count(); left > 0; left--) {
      await dismiss.first().click()
      await expect.poll(() => dismiss.count()).toBe(left - 1)
    }
    // The projector is listed with neither an LFS SHA-256 nor a git id.
    const hub = hubOptions(h.hub)
    hub.listing = { 'mmproj-tiny-vlm-F32.gguf': 'none' }
    await page.getByTestId('catalog-entry').getByRole('button', { name: 'Download' }).click()
    await expect.poll(downloadState, { timeout: 15_000 }).toBe('done')
    const explanation =
      'No checksum is published for mmproj-tiny-vlm-F32.gguf, so its bytes cannot be checked against the original. Use it only if you trust where it came from.'
    expect(await download().getByTestId('unverified').textContent()).toBe('Unverified')
    expect(await download().getByTestId('unverified-note').textContent()).toBe(explanation)

    // The model it installed says so too, in text a screen reader reads with the item.
    const model = page.getByRole('listitem', { name: 'tiny-vlm-F32' })
    await expect.poll(() => model.getByTestId('unverified').isVisible()).toBe(true)
    expect(await model.getByTestId('unverified-note').textContent()).toBe(explanation)
    await page.screenshot({ path: join(ARTIFACTS, 'models-unverified.png'), fullPage: true })

    hub.listing = {}
    // Main keeps the record: the warning stays once the download's row is dismissed, and in a window opened later.
    await download().getByRole('button', { name: 'Dismiss' }).click()
    await expect.poll(() => download().count()).toBe(0)
    expect(await model.getByTestId('unverified-note').textContent()).toBe(explanation)
    const later = await h.openApp()
    try {
      await later.getByRole('button', { name: 'Models' }).click()
      const again = later.getByRole('listitem', { name: 'tiny-vlm-F32' })
      await expect.poll(() => again.getByTestId('unverified-note').textContent()).toBe(explanation)
    } finally {
      await later.context().close()
    }

    await model.getByRole('button', { name: 'Delete…' }).click()
    await page.getByRole('group', { name: 'Delete tiny-vlm-F32?' }).getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => page.getByTestId('library-empty').isVisible()).toBe(true)
  })

  it('imports a model by copying the files the user picks', async () => {
    h.pickFiles = [fx.textModel, fx.mmproj]
    // The copy is held until the page has been looked at: a multi-GB model takes minutes.
    const service = h.models.models
    const importFiles = service.import
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    service.import = async (mode) => {
      await held
      return importFiles(mode)
    }
    try {
      await page.getByRole('button', { name: 'Import a copy…' }).click()
      const copying = page.getByRole('button', { name: 'Copying…' })
      await expect.poll(() => copying.isDisabled()).toBe(true)
      expect(await page.getByRole('button', { name: 'Link files…' }).isDisabled()).toBe(true)
      expect(await page.getByTestId('import-status').textContent()).toBe(
        'Copying the model into the models folder. A large model takes a few minutes.',
      )
    } finally {
      release()
      service.import = importFiles
    }
    await expect.poll(() => page.getByRole('button', { name: 'Import a copy…' }).isEnabled()).toBe(true)
    expect(await page.getByRole('button', { name: 'Link files…' }).isEnabled()).toBe(true)
    expect(await page.getByTestId('import-status').count()).toBe(0)
    const model = page.getByTestId('library-model')
    await expect.poll(() => model.textContent()).toContain('tiny-llama-f32')
    expect(await model.textContent()).toContain('Vision projector: mmproj-tiny-f32.gguf')
    await model.getByRole('button', { name: 'Delete…' }).click()
    await page.getByRole('group', { name: 'Delete tiny-llama-f32?' }).getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => page.getByTestId('library-empty').isVisible()).toBe(true)
  })

  it('asks before deleting a file the library cannot use, as it does for a model', async () => {
    const broken = join(h.dataDir, 'models', 'broken', 'my-20GB-download.gguf')
    await mkdir(dirname(broken), { recursive: true })
    await writeFile(broken, Buffer.alloc(4096, 7))
    h.push('models:changed', null)
    const problem = page.getByTestId('library-problem')
    await expect.poll(() => problem.count()).toBe(1)

    await problem.getByRole('button', { name: /^Delete/ }).click()
    const confirm = page.getByRole('group', { name: 'Delete my-20GB-download.gguf?' })
    await expect.poll(() => confirm.textContent()).toContain('Delete my-20GB-download.gguf from the disk?')
    expect(await exists(broken)).toBe(true)
    // The focus lands on the safe answer (the button that asked is gone), Esc gives it, and the
    // focus goes back to the button that asked.
    const focused = (): Promise<string> => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '')
    await expect.poll(focused).toBe('Keep')
    await page.keyboard.press('Escape')
    await expect.poll(() => confirm.count()).toBe(0)
    await expect.poll(focused).toBe('Delete…')
    expect(await exists(broken)).toBe(true)
    await problem.getByRole('button', { name: 'Delete…' }).click()
    await confirm.getByRole('button', { name: 'Keep' }).click()
    expect(await exists(broken)).toBe(true)
    await expect.poll(focused).toBe('Delete…')

    await problem.getByRole('button', { name: 'Delete…' }).click()
    await confirm.getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => problem.count()).toBe(0)
    expect(await exists(broken)).toBe(false)
  })

  it('downloads and loads the recommended model from the first-run offer', async () => {
    await page.getByRole('button', { name: 'Back to chat' }).click()
    const offer = page.getByTestId('first-run')
    await offer.getByRole('button', { name: /^Download Tiny VLM/ }).click()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toMatch(/tiny-vlm-F32\.gguf/)
    await expect.poll(() => offer.count()).toBe(0)
    await page.screenshot({ path: join(ARTIFACTS, 'models-first-run-done.png') })
  })
})
