// The status bar in real Chromium: a loaded model's device and binding, and why the engine
// passed over the GPU or llama-server, as the engine info says it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { EngineInfo } from '../../electron/ipc/contract.js'
import { browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

const info: EngineInfo = {
  modelPath: '/models/tiny.gguf',
  mmprojPath: null,
  binding: 'node-llama-cpp',
  bindingReason:
    "Answers come from node-llama-cpp on the GPU, slower than llama.cpp's own server: llama-server's Vulkan build lists no GPU.",
  backend: 'cpu',
  gpuName: null,
  gpuLayers: 0,
  totalLayers: 3,
  contextSize: 4096,
  vision: false,
  fallback: "Running on CPU: llama.cpp's vulkan build lists no GPU here.",
  loadMs: 1,
  memory: { vramBytes: 0, ramBytes: 1024 * 1024 },
}

describe.skipIf(skip !== null)('the status bar in Chromium', () => {
  let h: Harness
  let page: Page

  beforeAll(async () => {
    h = await startHarness()
    page = await h.openApp()
  })
  afterAll(async () => h?.close())

  it('says which binding serves the model, and why the GPU and llama-server were passed over', async () => {
    const bar = page.getByTestId('status-bar')
    // Sent until the window listens (it starts listening once it has read the engine's state).
    await expect
      .poll(() => {
        h.push('engine:state', { state: 'ready', info })
        return bar.textContent()
      })
      .toContain('tiny.gguf')
    expect(await bar.textContent()).toContain('CPU, node-llama-cpp')
    expect(await bar.getByTestId('engine-fallback').textContent()).toBe(info.fallback)
    expect(await bar.getByTestId('engine-binding-reason').textContent()).toBe(info.bindingReason)

    // Nothing passed over: nothing said.
    h.push('engine:state', { state: 'ready', info: { ...info, binding: 'llama-server', bindingReason: undefined, fallback: null } })
    await expect.poll(() => bar.textContent()).toContain('CPU, llama-server')
    expect(await bar.getByTestId('engine-fallback').count()).toBe(0)
    expect(await bar.getByTestId('engine-binding-reason').count()).toBe(0)
  })

  it('names the remote engine that answers the conversation, the model loaded here after it', async () => {
    const { id } = await h.remoteEngines.add({ name: 'Box', baseUrl: 'http://127.0.0.1:9/v1', model: 'vis', allowUnencrypted: false })
    await h.remoteEngines.setDefault({ id, model: 'vis' })
    await page.reload()
    const bar = page.getByTestId('status-bar')
    await expect.poll(() => bar.textContent()).toContain('Answers from Box · vis')
    expect(await bar.getByTestId('status-remote').textContent()).toBe('Answers from Box · vis')
    // Nothing loaded here says nothing: the answers do not depend on it.
    expect(await bar.textContent()).not.toContain('No model loaded')

    await expect
      .poll(() => {
        h.push('engine:state', { state: 'ready', info })
        return bar.textContent()
      })
      .toContain('tiny.gguf')
    const text = (await bar.textContent())!
    expect(text.indexOf('Answers from Box')).toBeLessThan(text.indexOf('tiny.gguf'))
    // The local model's details stay, marked as not the one answering.
    const local = bar.getByTestId('status-local')
    expect(await local.textContent()).toMatch(/^Loaded here, not answering: tiny\.gguf/)
    expect(await local.textContent()).toContain('CPU, node-llama-cpp')

    await h.remoteEngines.setDefault(null)
    await h.remoteEngines.remove(id)
  })
})
