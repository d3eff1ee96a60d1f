// The engine's media folder (the pictures the vision server reads, electron/engine/server-media.ts)
// goes with the engine: on SIGTERM, as Electron ends a utility process when the app quits, and a
// folder a killed engine left is swept as the next engine process starts, before any model loads.
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EngineClient } from '../../electron/engine/client.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { ask, collect, greedy, scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'
import { until } from '../support/until.js'

const binary = await findServerBinary()
if (!binary.found) console.warn(`[media quit] skipping: ${binary.reason}`)

describe.skipIf(!binary.found)('the media folder goes with the engine', () => {
  let engine: EngineClient
  let tmp: string
  const folders = async (): Promise<string[]> => (await readdir(tmp)).filter((name) => name.startsWith('lva-media-'))

  beforeAll(async () => {
    tmp = await scratchDir()
    // No process has this pid (above Linux's pid_max): a crashed engine's folder.
    await mkdir(join(tmp, 'lva-media-4194305-orphan'))
    engine = startEngine(undefined, false, { ENGINE_VISION_BINDING: 'llama-server', TMPDIR: tmp })
  })
  afterAll(async () => engine?.dispose())

  it("a dead engine's folder is swept as the next engine starts, before any model", async () => {
    await engine.library(null, [])
    expect(await until(async () => (await folders()).length === 0, 10_000)).toBe(true)
  })

  it('SIGTERM removes the folder and the pictures in it', async () => {
    const fx = await ensureFixtures()
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    const out = await collect(engine.generate({ messages: ask('what is this?', [await solidPng(32, 32)]), sampling: greedy(2) }))
    expect(out.tokens).toBe(2)
    const pid = engine.pid!
    const [folder] = (await folders()).filter((name) => name.startsWith(`lva-media-${pid}-`))
    expect(folder).toBeDefined()
    expect((await readdir(join(tmp, folder!))).length).toBeGreaterThan(0)
    process.kill(pid, 'SIGTERM')
    expect(await until(async () => !(await folders()).includes(folder!), 10_000)).toBe(true)
  })
})
