// The chat window in real Chromium against the real services and the tiny models.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { screenshotPng } from '../support/images.js'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

describe.skipIf(skip !== null)('chat window in Chromium', () => {
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

  async function loadModel(model: string, mmproj = ''): Promise<void> {
    await page.getByPlaceholder('/path/to/model.gguf').fill(model)
    await page.getByPlaceholder('optional mmproj.gguf').fill(mmproj)
    await page.getByRole('button', { name: 'Load' }).click()
  }

  const lastAnswer = () => page.getByTestId('turn-assistant').last()

  it('opens with no model and says so', async () => {
    await expect.poll(() => page.getByTestId('status-bar').textContent()).toContain('No model loaded')
    await expect.poll(() => page.getByRole('textbox', { name: 'Message' }).isDisabled()).toBe(true)
    await page.screenshot({ path: join(ARTIFACTS, 'chat-empty-light.png') })
  })

  it('shows a clear error for a model file that does not exist', async () => {
    await loadModel('/nowhere/missing.gguf')
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Model file not found: /nowhere/missing.gguf')
  })

  it('loads the text model and streams an answer with stats', async () => {
    await loadModel(fx.textModel)
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toMatch(/tiny-llama-f32\.gguf.*CPU.*0\/\d+ layers on GPU/)
    const box = page.getByRole('textbox', { name: 'Message' })
    await box.fill('Hello, what can you see?')
    await box.press('Enter')
    await expect.poll(() => page.getByTestId('turn-user').count()).toBe(1)
    await expect.poll(() => lastAnswer().getByTestId('turn-stats').textContent(), { timeout: 30_000 }).toMatch(/^1024 tokens · .* tok\/s · first token \d+ ms · \d+ in · max-tokens$/)
    expect((await lastAnswer().getByTestId('turn-text').textContent())!.length).toBeGreaterThan(100)
    expect(await box.inputValue()).toBe('')
  })

  it('stops an answer mid-stream', async () => {
    const box = page.getByRole('textbox', { name: 'Message' })
    await box.fill('Tell me everything.')
    await box.press('Enter')
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect.poll(() => lastAnswer().getByTestId('turn-stats').textContent(), { timeout: 10_000 }).toMatch(/cancelled$/)
    const tokens = Number((await lastAnswer().getByTestId('turn-stats').textContent())!.split(' ')[0])
    expect(tokens).toBeLessThan(1024)
  })

  it('refuses an attached image when the model cannot see', async () => {
    await page.getByTestId('file-input').setInputFiles({ name: 'screen.png', mimeType: 'image/png', buffer: Buffer.from(await screenshotPng(320, 200)) })
    const box = page.getByRole('textbox', { name: 'Message' })
    await box.fill('What is this?')
    await box.press('Enter')
    await expect.poll(() => page.getByRole('alert').last().textContent()).toContain('no vision projector')
    // Nothing typed or attached is lost.
    expect(await box.inputValue()).toBe('What is this?')
    expect(await page.getByRole('list', { name: 'Attached images' }).locator('img').count()).toBe(1)
  })

  it('loads model + mmproj and answers about an attached screenshot', async () => {
    await loadModel(fx.textModel, fx.mmproj)
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toContain('+ vision')
    // The question and image kept from the refused send go out now.
    await page.getByRole('textbox', { name: 'Message' }).press('Enter')
    await expect.poll(() => lastAnswer().getByTestId('turn-stats').textContent(), { timeout: 30_000 }).toMatch(/^1024 tokens · .* \d+ in \(16 image\) · max-tokens$/)
    expect(await page.getByTestId('turn-user').last().locator('img').count()).toBe(1)
    await page.screenshot({ path: join(ARTIFACTS, 'chat-answer-light.png') })
  })

  it('renders in the dark theme', async () => {
    const dark = await h.openApp({ colorScheme: 'dark' })
    await expect.poll(() => dark.getByTestId('status-bar').textContent()).toContain('+ vision')
    const background = await dark.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())
    expect(background).toBe('#1b1d22')
    await dark.screenshot({ path: join(ARTIFACTS, 'chat-dark.png') })
    await dark.close()
  })

  it('rejects invalid payloads from the page at the boundary, and exposes no raw IPC', async () => {
    const results = await page.evaluate(async () => {
      const api = window.assistant as unknown as Record<string, unknown>
      return {
        keys: Object.keys(api).sort(),
        wrongType: await window.assistant.invoke('engine:load', { modelPath: 5 }),
        unknown: await window.assistant.invoke('shell:exec' as never, { cmd: 'rm -rf /' }),
        oversized: await window.assistant.stream('chat:generate', crypto.randomUUID(), { messages: [{ role: 'user', text: 'x'.repeat(100_001) }] }, () => undefined),
      }
    })
    expect(results.keys).toEqual(['cancel', 'invoke', 'on', 'stream'])
    expect(results.wrongType).toMatchObject({ ok: false, error: { code: 'invalid-payload', message: expect.stringContaining('modelPath') } })
    expect(results.unknown).toEqual({ ok: false, error: { code: 'unknown-channel', message: 'unknown channel shell:exec' } })
    expect(results.oversized).toMatchObject({ ok: false, error: { code: 'invalid-payload', message: expect.stringContaining('messages.0.text') } })
    // Nothing else happened: the vision model is still the one loaded.
    expect(h.engine.state()).toMatchObject({ state: 'ready', info: { mmprojPath: fx.mmproj } })
  })
})
