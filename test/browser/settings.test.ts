// The Settings dialog's engine section in real Chromium, against the real services: the
// choice is saved in the data folder, survives a restart and reaches the next model load.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Locator, Page } from 'playwright-core'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

describe.skipIf(skip !== null)('engine settings in Chromium', () => {
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
    expect(await dialog.getByText('Changes take effect the next time a model is loaded.').isVisible()).toBe(true)
    await dialog.getByRole('button', { name: 'Close' }).click()
  })

  it('turns on CPU only, saves it, and the next load runs on the CPU with those settings', async () => {
    let dialog = await openSettings()
    await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).check()
    await dialog.getByRole('combobox', { name: 'Threads' }).selectOption('1')
    await dialog.getByRole('combobox', { name: 'Image detail' }).selectOption('low')
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect
      .poll(() => dialog.getByTestId('engine-settings-state').textContent())
      .toBe('Saved. The next model load uses these settings.')
    // The API was left alone: applying engine settings does not restart its server.
    expect(await dialog.getByTestId('api-state').textContent()).toBe('Off')
    await page.screenshot({ path: join(ARTIFACTS, 'settings-engine.png') })
    await dialog.getByRole('button', { name: 'Close' }).click()
    expect(h.engineSettings.view().settings).toEqual({ cpuOnly: true, threads: 1, imageDetail: 'low' })

    // Read back in a fresh dialog.
    dialog = await openSettings()
    expect(await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).isChecked()).toBe(true)
    expect(await dialog.getByRole('combobox', { name: 'Threads' }).inputValue()).toBe('1')
    await dialog.getByRole('button', { name: 'Close' }).click()

    await page.getByPlaceholder('/path/to/model.gguf').fill(fx.textModel)
    await page.getByRole('button', { name: 'Load', exact: true }).click()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toMatch(/tiny-llama-f32\.gguf.*CPU/)
  })

  it('finds CPU only still on after the services restart', async () => {
    const dataDir = h.dataDir
    await h.close()
    h = await startHarness(dataDir)
    page = await h.openApp()
    const dialog = await openSettings()
    expect(await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).isChecked()).toBe(true)
    await dialog.getByRole('checkbox', { name: 'CPU only (never use the GPU)' }).uncheck()
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => h.engineSettings.view().settings.cpuOnly).toBe(false)
  })
})
