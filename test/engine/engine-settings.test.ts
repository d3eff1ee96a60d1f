import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_ENGINE_SETTINGS, openEngineSettings } from '../../electron/engine/engine-settings.js'
import type { EngineInfo, EngineSettings, LoadRequest } from '../../electron/ipc/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import { createRouter, type Sender } from '../../electron/ipc/router.js'
import { createServices, type ServiceDeps } from '../../electron/services/services.js'
import { scratchDir } from '../support/engine.js'
import { rejection } from '../support/errors.js'

const laptop = { logicalCores: 16, physicalCores: 8 }

describe('engine settings store', () => {
  it('starts with the defaults and shows what auto means on this computer', async () => {
    const store = await openEngineSettings({ path: join(await scratchDir(), 'engine.json'), cpu: laptop })
    expect(store.view()).toEqual({
      settings: { cpuOnly: false, threads: 'auto', imageDetail: 'balanced', screenText: 'auto' },
      cpu: { logicalCores: 16, physicalCores: 8, autoThreads: 8 },
    })
    const small = await openEngineSettings({ path: join(await scratchDir(), 'engine.json'), cpu: { logicalCores: 8, physicalCores: 4 } })
    expect(small.view().cpu.autoThreads).toBe(3)
  })

  it('keeps a change across a restart', async () => {
    const path = join(await scratchDir(), 'engine.json')
    const store = await openEngineSettings({ path, cpu: laptop })
    const changed = { cpuOnly: true, threads: 6, imageDetail: 'high', screenText: 'never' } as const
    expect((await store.set(changed)).settings).toEqual(changed)
    expect((await openEngineSettings({ path, cpu: laptop })).view().settings).toEqual(changed)
  })

  it('says when a change is saved, with what was there before', async () => {
    const changes: [boolean, boolean][] = []
    const store = await openEngineSettings({
      path: join(await scratchDir(), 'engine.json'),
      cpu: laptop,
      onChanged: (previous, next) => changes.push([previous.cpuOnly, next.cpuOnly]),
    })
    await store.set({ ...DEFAULT_ENGINE_SETTINGS, cpuOnly: true })
    await store.set({ ...DEFAULT_ENGINE_SETTINGS, cpuOnly: true, threads: 2 })
    await store.set({ ...DEFAULT_ENGINE_SETTINGS, threads: 99 }).catch(() => undefined)
    expect(changes).toEqual([
      [false, true],
      [true, true],
    ])
  })

  it('refuses more threads than the computer has, and keeps the saved settings', async () => {
    const path = join(await scratchDir(), 'engine.json')
    const store = await openEngineSettings({ path, cpu: laptop })
    await store.set({ ...DEFAULT_ENGINE_SETTINGS, threads: 4 })
    const error = await store.set({ ...DEFAULT_ENGINE_SETTINGS, threads: 17 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect(error).toMatchObject({
      code: 'invalid-payload',
      message: 'Threads must be between 1 and 16, the number of logical CPUs on this computer.',
    })
    expect(store.view().settings.threads).toBe(4)
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ threads: 4 })
  })

  it('reads what it can of a damaged or older file, field by field', async () => {
    const dir = await scratchDir()
    await writeFile(join(dir, 'garbage.json'), '{ not json')
    expect((await openEngineSettings({ path: join(dir, 'garbage.json'), cpu: laptop })).view().settings).toEqual(DEFAULT_ENGINE_SETTINGS)
    await writeFile(join(dir, 'partial.json'), JSON.stringify({ cpuOnly: true, imageDetail: 'ultra' }))
    expect((await openEngineSettings({ path: join(dir, 'partial.json'), cpu: laptop })).view().settings).toEqual({
      cpuOnly: true,
      threads: 'auto',
      imageDetail: 'balanced',
      screenText: 'auto',
    })
    // Copied from a bigger computer: no more threads than this one has.
    await writeFile(join(dir, 'bigger.json'), JSON.stringify({ cpuOnly: false, threads: 32, imageDetail: 'low' }))
    expect((await openEngineSettings({ path: join(dir, 'bigger.json'), cpu: laptop })).view().settings.threads).toBe(16)
    // What could not be read is kept aside, as the next change rewrites the file; an older
    // file, only missing what came later, is not.
    expect(await readFile(join(dir, 'garbage.json.unreadable'), 'utf8')).toBe('{ not json')
    expect(await readFile(join(dir, 'partial.json.unreadable'), 'utf8')).toContain('ultra')
    expect((await readdir(dir)).sort()).toEqual([
      'bigger.json',
      'garbage.json',
      'garbage.json.unreadable',
      'partial.json',
      'partial.json.unreadable',
    ])
  })

  it('says in words when a change cannot be saved, and keeps the settings in use', async () => {
    const dir = await scratchDir()
    // A folder where the file goes: the atomic write's rename fails, as on a read-only or full disk.
    await mkdir(join(dir, 'engine.json'))
    const changes: EngineSettings[] = []
    const store = await openEngineSettings({ path: join(dir, 'engine.json'), cpu: laptop, onChanged: (_, next) => changes.push(next) })
    const error = await rejection(store.set({ ...DEFAULT_ENGINE_SETTINGS, cpuOnly: true }))
    expect(error.code).toBe('storage')
    expect(error.message).toMatch(/^The engine settings could not be saved \(EISDIR: .*\); nothing was changed\.$/)
    expect(store.view().settings).toEqual(DEFAULT_ENGINE_SETTINGS)
    expect(changes).toEqual([])
  })

  it('keeps aside a file a newer version wrote, before the next change drops what it does not know', async () => {
    const dir = await scratchDir()
    const path = join(dir, 'engine.json')
    const newer = JSON.stringify({ cpuOnly: true, threads: 'auto', imageDetail: 'high', screenText: 'auto', gpuDevice: 1 })
    await writeFile(path, newer)
    const store = await openEngineSettings({ path, cpu: laptop })
    expect(store.view().settings).toEqual({ cpuOnly: true, threads: 'auto', imageDetail: 'high', screenText: 'auto' })
    await store.set({ ...store.view().settings, imageDetail: 'low' })
    expect(await readFile(`${path}.unreadable`, 'utf8')).toBe(newer)
  })

  it('applies to a load request: the window names the files, the settings give the rest', async () => {
    const store = await openEngineSettings({ path: join(await scratchDir(), 'engine.json'), cpu: laptop })
    expect(store.apply({ modelPath: '/m.gguf' })).toEqual({ modelPath: '/m.gguf', imageDetail: 'balanced' })
    await store.set({ cpuOnly: true, threads: 5, imageDetail: 'low', screenText: 'auto' })
    expect(store.apply({ modelPath: '/m.gguf', mmprojPath: '/p.gguf' })).toEqual({
      modelPath: '/m.gguf',
      mmprojPath: '/p.gguf',
      gpu: false,
      threads: 5,
      imageDetail: 'low',
    })
  })
})

describe('engine settings over IPC', () => {
  const TRUSTED = 'file:///app/out/renderer/index.html'
  const sender: Sender = { id: 1, url: TRUSTED, isMainFrame: true, send: () => undefined }

  async function setup() {
    const loads: LoadRequest[] = []
    const engine = {
      state: () => ({ state: 'idle' as const }),
      load: async (request: LoadRequest) => {
        loads.push(request)
        return { modelPath: request.modelPath, mmprojPath: null } as EngineInfo
      },
    }
    const engineSettings = await openEngineSettings({ path: join(await scratchDir(), 'engine.json'), cpu: laptop })
    // Only what engine:load and the settings channels touch (and the hooks registered as the
    // services start: the text layer's on captures, the engine's on images no conversation
    // holds); the rest is never called here.
    const deps = {
      engine,
      engineSettings,
      recentModels: { add: async () => undefined },
      capture: { onCapture: () => undefined },
      chats: { onImagesGone: () => undefined },
      textLayer: null,
      remoteEngines: null,
    } as unknown as ServiceDeps
    const router = createRouter({ ...createServices(deps), isTrustedSender: (url) => url === TRUSTED })
    return { router, loads }
  }

  it('reads and changes the settings, and the next load gets them', async () => {
    const { router, loads } = await setup()
    expect(await router.invoke(sender, 'engineSettings:get', undefined)).toMatchObject({
      ok: true,
      value: { settings: DEFAULT_ENGINE_SETTINGS, cpu: { autoThreads: 8 } },
    })
    await router.invoke(sender, 'engine:load', { modelPath: '/m.gguf' })
    expect(loads.at(-1)).toEqual({ modelPath: '/m.gguf', imageDetail: 'balanced' })

    const set = await router.invoke(sender, 'engineSettings:set', { cpuOnly: true, threads: 3, imageDetail: 'high', screenText: 'never' })
    expect(set).toMatchObject({ ok: true, value: { settings: { cpuOnly: true, threads: 3, imageDetail: 'high', screenText: 'never' } } })
    await router.invoke(sender, 'engine:load', { modelPath: '/m.gguf', mmprojPath: '/p.gguf' })
    expect(loads.at(-1)).toEqual({ modelPath: '/m.gguf', mmprojPath: '/p.gguf', gpu: false, threads: 3, imageDetail: 'high' })
  })

  it('refuses malformed settings before they reach the store', async () => {
    const { router } = await setup()
    for (const payload of [
      { cpuOnly: 'yes', threads: 'auto', imageDetail: 'low' },
      { cpuOnly: false, threads: 0, imageDetail: 'low' },
      { cpuOnly: false, threads: 2.5, imageDetail: 'low' },
      { cpuOnly: false, threads: 'auto', imageDetail: 'max' },
      { cpuOnly: false, threads: 'auto' },
      { cpuOnly: false, threads: 'auto', imageDetail: 'low', screenText: 'auto', gpuLayers: 99 },
      { cpuOnly: false, threads: 'auto', imageDetail: 'low', screenText: 'sometimes' },
    ]) {
      const result = await router.invoke(sender, 'engineSettings:set', payload)
      expect(result.ok || result.error.code, JSON.stringify(payload)).toBe('invalid-payload')
    }
    const tooMany = await router.invoke(sender, 'engineSettings:set', {
      cpuOnly: false,
      threads: 64,
      imageDetail: 'low',
      screenText: 'auto',
    })
    expect(tooMany).toEqual({
      ok: false,
      error: { code: 'invalid-payload', message: 'Threads must be between 1 and 16, the number of logical CPUs on this computer.' },
    })
    expect((await router.invoke(sender, 'engine:load', { modelPath: '/m.gguf', threads: 0 })).ok).toBe(false)
  })

  it('a load from the window names files only: threads, context, layers and devices past the settings are refused', async () => {
    const { router, loads } = await setup()
    for (const extra of [{ threads: 1024 }, { contextSize: 1_048_576 }, { gpuLayers: 1000 }, { gpu: 'auto' }, { imageDetail: 'high' }]) {
      const result = await router.invoke(sender, 'engine:load', { modelPath: '/m.gguf', ...extra })
      expect(result.ok || result.error.code, JSON.stringify(extra)).toBe('invalid-payload')
    }
    expect(loads).toEqual([])
  })
})
