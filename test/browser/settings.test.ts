// The Settings dialog in real Chromium, against the real services: the engine section's
// choice is saved in the data folder, survives a restart and reaches the next model load;
// the API's allowed origins are checked, kept, and decide whether a page served from
// another port may call the API.
import { mkdir, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import type OpenAI from 'openai'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Locator, Page } from 'playwright-core'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

const LOAD_HINT =
  'CPU only, threads and image detail take effect the next time a model is loaded on this computer; remote engines use image detail from the next question.'
/** Main's sentence for an origin with a trailing slash (electron/api/origins.ts). */
const SLASH_ORIGIN = '"https://example.app/" is not an origin as browsers send it; write https://example.app.'

describe.skipIf(skip !== null)('the Settings dialog in Chromium', () => {
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

  async function openSettings(): Promise<Locator> {
    await page.getByRole('button', { name: 'Settings' }).click()
    const dialog = page.getByRole('dialog', { name: 'Settings' })
    await expect.poll(() => dialog.getByRole('group', { name: 'Engine' }).isVisible()).toBe(true)
    return dialog
  }

  it('shows the defaults, with what auto comes to on this computer', async () => {
    const dialog = await openSettings()
    const { cpu } = h.engineSettings.view()
    expect(await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).isChecked()).toBe(false)
    const threads = dialog.getByRole('combobox', { name: 'Threads' })
    expect(await threads.locator('option').first().textContent()).toBe(`Auto (${cpu.autoThreads} of ${cpu.physicalCores} physical cores)`)
    expect(await threads.locator('option').count()).toBe(cpu.logicalCores + 1)
    expect(await dialog.getByRole('combobox', { name: 'Image detail' }).inputValue()).toBe('balanced')
    const screenText = dialog.getByRole('combobox', { name: 'Text on screen' })
    expect(await screenText.inputValue()).toBe('auto')
    expect(await screenText.locator('option').allTextContents()).toEqual([
      'Automatic: images holding a few words or more',
      'Always: every image, even one word',
      'Never: nothing read unless you ask',
    ])
    expect(await screenText.getAttribute('aria-describedby')).toBe('screen-text-hint')
    // The load-time hint is about the three settings a load uses; Text on screen applies at once and has its own.
    const loadHint = dialog.getByText(LOAD_HINT, { exact: true })
    expect(await loadHint.isVisible()).toBe(true)
    const loadHintId = await loadHint.getAttribute('id')
    for (const field of [
      dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }),
      threads,
      dialog.getByRole('combobox', { name: 'Image detail' }),
    ])
      expect(await field.getAttribute('aria-describedby')).toBe(loadHintId)
    await dialog.getByRole('button', { name: 'Close' }).click()
  })

  it('turns on CPU only, saves it, and the next load runs on the CPU with those settings', async () => {
    let dialog = await openSettings()
    await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).check()
    await dialog.getByRole('combobox', { name: 'Threads' }).selectOption('1')
    await dialog.getByRole('combobox', { name: 'Image detail' }).selectOption('low')
    await dialog.getByRole('combobox', { name: 'Text on screen' }).selectOption('never')
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect
      .poll(() => dialog.getByTestId('engine-settings-state').textContent())
      .toBe('Saved. The next model load uses these settings.')
    // The API was left alone: applying engine settings does not restart its server.
    expect(await dialog.getByTestId('api-state').textContent()).toBe('Off')
    await page.screenshot({ path: join(ARTIFACTS, 'settings-engine.png') })
    await dialog.getByRole('button', { name: 'Close' }).click()
    expect(h.engineSettings.view().settings).toEqual({ cpuOnly: true, threads: 1, imageDetail: 'low', screenText: 'never' })

    // Read back in a fresh dialog.
    dialog = await openSettings()
    expect(await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).isChecked()).toBe(true)
    expect(await dialog.getByRole('combobox', { name: 'Threads' }).inputValue()).toBe('1')
    expect(await dialog.getByRole('combobox', { name: 'Text on screen' }).inputValue()).toBe('never')
    await dialog.getByRole('button', { name: 'Close' }).click()

    await page.getByPlaceholder('/path/to/model.gguf').fill(fx.textModel)
    await page.getByRole('button', { name: 'Load', exact: true }).click()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toMatch(/tiny-llama-f32\.gguf.*CPU/)
  })

  it('finds CPU only and the text layer’s setting still there after the services restart; the text layer alone applies at once', async () => {
    const dataDir = h.dataDir
    await h.close()
    h = await startHarness(dataDir)
    page = await h.openApp()
    const dialog = await openSettings()
    expect(await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).isChecked()).toBe(true)
    const screenText = dialog.getByRole('combobox', { name: 'Text on screen' })
    expect(await screenText.inputValue()).toBe('never')
    await screenText.selectOption('always')
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => dialog.getByTestId('engine-settings-state').textContent()).toBe('Saved. The next question uses it.')
    expect(h.engineSettings.view().settings).toMatchObject({ cpuOnly: true, screenText: 'always' })
    await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).uncheck()
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => h.engineSettings.view().settings.cpuOnly).toBe(false)
    await dialog.getByRole('button', { name: 'Close' }).click()
  })

  it('keeps the API’s allowed origins: each checked, a page on an allowed origin may call the API, others may not', async () => {
    // A plain page on another 127.0.0.1 port: a web app the user runs, not the app's own window.
    const site: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>site</title>'),
    )
    await new Promise<void>((ok) => site.listen(0, '127.0.0.1', ok))
    const siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`
    const probe = createServer()
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok))
    const port = (probe.address() as AddressInfo).port
    await new Promise((ok) => probe.close(ok))

    let dialog = await openSettings()
    const origins = dialog.getByRole('list', { name: 'Allowed origins' })
    expect(await origins.getByRole('listitem').count()).toBe(0)
    await dialog.getByRole('checkbox', { name: 'Serve the API' }).check()
    await dialog.getByRole('spinbutton', { name: 'Port' }).fill(String(port))
    const field = dialog.getByRole('textbox', { name: 'Origin to allow' })
    await field.fill(siteOrigin)
    await dialog.getByRole('button', { name: 'Add' }).click()
    // One main would refuse is refused as it is added (Enter, without applying the form), in main's
    // own words beside the field, and stays typed to be fixed.
    await field.fill('https://example.app/')
    await field.press('Enter')
    await expect.poll(() => dialog.getByTestId('origin-problem').textContent()).toBe(SLASH_ORIGIN)
    expect(await field.inputValue()).toBe('https://example.app/')
    expect(await field.getAttribute('aria-invalid')).toBe('true')
    expect(await field.getAttribute('aria-describedby')).toBe(await dialog.getByTestId('origin-problem').getAttribute('id'))
    expect(await origins.locator('code').allTextContents()).toEqual([siteOrigin])
    // Apply with it still typed: refused the same way, and the API is left as it was.
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => dialog.getByTestId('origin-problem').textContent()).toBe(SLASH_ORIGIN)
    expect(await field.inputValue()).toBe('https://example.app/')
    expect(h.api.status()).toMatchObject({ enabled: false, allowedOrigins: [] })
    // Fixed, Enter adds it.
    await field.fill('https://example.app')
    expect(await dialog.getByTestId('origin-problem').count()).toBe(0)
    await field.press('Enter')
    expect(await origins.locator('code').allTextContents()).toEqual([siteOrigin, 'https://example.app'])
    expect(await field.inputValue()).toBe('')
    expect(h.api.status()).toMatchObject({ enabled: false, allowedOrigins: [] })
    await dialog.getByRole('button', { name: 'Remove https://example.app' }).click()
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => dialog.getByTestId('api-state').textContent()).toBe(`Running at http://127.0.0.1:${port}/v1`)
    expect(h.api.status().allowedOrigins).toEqual([siteOrigin])
    const key = await dialog.getByTestId('api-key').textContent()
    await dialog.getByRole('button', { name: 'Close' }).click()

    // Read back in a fresh dialog.
    dialog = await openSettings()
    expect(await dialog.getByRole('list', { name: 'Allowed origins' }).locator('code').allTextContents()).toEqual([siteOrigin])

    // The page's fetch carries the key, so Chromium sends a preflight first.
    const sitePage = await h.browser.newPage()
    await sitePage.goto(siteOrigin)
    const callApi = () =>
      sitePage.evaluate(
        ([url, token]) =>
          fetch(`${url}/models`, { headers: { authorization: `Bearer ${token}` } }).then(
            async (res) => ({ status: res.status, body: (await res.json()) as unknown }),
            (error: unknown) => ({ failed: String(error) }),
          ),
        [`http://127.0.0.1:${port}/v1`, key] as const,
      )
    expect(await callApi()).toEqual({ status: 200, body: { object: 'list', data: [] } })
    // OpenAI's own JS client, which adds its x-stainless-* headers: the preflight allows them.
    const openai = await build({
      stdin: { contents: "import OpenAI from 'openai'; globalThis.OpenAI = OpenAI", resolveDir: process.cwd() },
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      logLevel: 'silent',
    })
    await sitePage.addScriptTag({ content: openai.outputFiles[0]!.text })
    const listed = await sitePage.evaluate(
      async ([url, token]) => {
        const { OpenAI: Client } = globalThis as unknown as { OpenAI: typeof OpenAI }
        return (await new Client({ baseURL: url, apiKey: token ?? '', dangerouslyAllowBrowser: true, maxRetries: 0 }).models.list()).data
      },
      [`http://127.0.0.1:${port}/v1`, key] as const,
    )
    expect(listed).toEqual([])

    await dialog.getByRole('button', { name: `Remove ${siteOrigin}` }).click()
    await dialog.getByRole('button', { name: 'Apply' }).click()
    // The running server takes the new list when the settings are saved: wait for it to refuse the page.
    await expect.poll(callApi).toEqual({ failed: 'TypeError: Failed to fetch' })
    expect(h.api.status().allowedOrigins).toEqual([])

    await dialog.getByRole('checkbox', { name: 'Serve the API' }).uncheck()
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => dialog.getByTestId('api-state').textContent()).toBe('Off')
    await dialog.getByRole('button', { name: 'Close' }).click()
    await sitePage.close()
    await new Promise((ok) => site.close(ok))
  })

  it('makes a new API key only once asked and confirmed, and shows it', async () => {
    const dialog = await openSettings()
    const before = h.api.status().token
    expect(await dialog.getByTestId('api-key').textContent()).toBe(before)
    await dialog.getByRole('button', { name: 'New key' }).click({ timeout: 5000 })
    const question = dialog.getByRole('group', { name: 'Make a new API key?' })
    expect(await question.textContent()).toContain('Programs using the old key will stop working.')
    await question.getByRole('button', { name: 'Keep this key' }).click()
    expect(await question.count()).toBe(0)
    expect(h.api.status().token).toBe(before)

    await dialog.getByRole('button', { name: 'New key' }).click()
    await dialog.getByRole('button', { name: 'Make a new key' }).click()
    await expect.poll(() => dialog.getByTestId('api-key').textContent()).not.toBe(before)
    const after = h.api.status().token
    expect(after).not.toBe(before)
    expect(await dialog.getByTestId('api-key').textContent()).toBe(after)
    await dialog.getByRole('button', { name: 'Close' }).click()
  })

  it('refuses a 33rd origin, or one too long, as it is added, in main’s words', async () => {
    const dialog = await openSettings()
    const field = dialog.getByRole('textbox', { name: 'Origin to allow' })
    const long = `https://${'a'.repeat(290)}.example`
    await field.fill(long)
    await dialog.getByRole('button', { name: 'Add' }).click()
    await expect
      .poll(() => dialog.getByTestId('origin-problem').textContent())
      .toBe(`This origin is ${long.length} characters long; an origin has at most 256.`)
    expect(await field.inputValue()).toBe(long)
    for (let i = 0; i < 32; i++) {
      await field.fill(`http://localhost:${3000 + i}`)
      await field.press('Enter')
    }
    const origins = dialog.getByRole('list', { name: 'Allowed origins' })
    expect(await origins.getByRole('listitem').count()).toBe(32)
    await field.fill('http://localhost:4000')
    await field.press('Enter')
    await expect
      .poll(() => dialog.getByTestId('origin-problem').textContent())
      .toBe('At most 32 origins can be allowed; remove one to add another.')
    expect(await field.inputValue()).toBe('http://localhost:4000')
    expect(await origins.getByRole('listitem').count()).toBe(32)
    // Closed unapplied: nothing reached main.
    await dialog.getByRole('button', { name: 'Close' }).click()
    expect(h.api.status().allowedOrigins).toEqual([])
  })

  it('saves an engine change applied together with an origin it refuses, and says each result', async () => {
    const dialog = await openSettings()
    const imageDetail = h.engineSettings.view().settings.imageDetail === 'high' ? 'low' : 'high'
    await dialog.getByRole('combobox', { name: 'Image detail' }).selectOption(imageDetail)
    await dialog.getByRole('textbox', { name: 'Origin to allow' }).fill('https://example.app/')
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect
      .poll(() => dialog.getByTestId('engine-settings-state').textContent())
      .toBe('Saved. The next model load uses these settings.')
    expect(h.engineSettings.view().settings.imageDetail).toBe(imageDetail)
    expect(await dialog.getByTestId('origin-problem').textContent()).toBe(SLASH_ORIGIN)
    expect(await dialog.getByRole('textbox', { name: 'Origin to allow' }).inputValue()).toBe('https://example.app/')
    expect(h.api.status().allowedOrigins).toEqual([])
    await dialog.getByRole('button', { name: 'Close' }).click()
  })

  it('takes the saved line away once a setting is changed again, until it is applied', async () => {
    const dialog = await openSettings()
    const detail = dialog.getByRole('combobox', { name: 'Image detail' })
    await detail.selectOption('balanced')
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect
      .poll(() => dialog.getByTestId('engine-settings-state').textContent())
      .toBe('Saved. The next model load uses these settings.')
    await detail.selectOption('high')
    expect(await dialog.getByTestId('engine-settings-state').count()).toBe(0)
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect
      .poll(() => dialog.getByTestId('engine-settings-state').textContent())
      .toBe('Saved. The next model load uses these settings.')
    expect(h.engineSettings.view().settings.imageDetail).toBe('high')
    await dialog.getByRole('button', { name: 'Close' }).click()
  })

  it('says in words, in the Engine section, when the engine settings cannot be saved', async () => {
    // A folder where engine.json goes: the atomic write's rename fails, as on a read-only or full disk.
    const file = join(h.dataDir, 'engine.json')
    await rm(file, { force: true })
    await mkdir(file)
    try {
      const dialog = await openSettings()
      const before = h.engineSettings.view().settings
      const engine = dialog.getByRole('group', { name: 'Engine' })
      await engine.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).setChecked(!before.cpuOnly)
      await dialog.getByRole('button', { name: 'Apply' }).click()
      await expect
        .poll(() => engine.getByRole('alert').textContent())
        .toMatch(/^The engine settings could not be saved \(EISDIR: .*\); nothing was changed\.$/)
      expect(await dialog.getByTestId('engine-settings-state').count()).toBe(0)
      expect(h.engineSettings.view().settings).toEqual(before)
      // What was chosen stays on screen, to apply again once the folder can be written.
      expect(await engine.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).isChecked()).toBe(!before.cpuOnly)
      await dialog.getByRole('button', { name: 'Close' }).click()
    } finally {
      await rm(file, { recursive: true, force: true })
    }
  })
})
