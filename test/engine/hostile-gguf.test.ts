// Damaged and hostile model files against the real engine process: a few hundred header
// mutations of the tiny fixtures, made deterministically from a seed, each loaded the way
// the app loads a model (or a projector) and listed the way the Models page lists its
// folder. None may crash the engine, hang it, or end in an error that does not say which
// file is wrong and why.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EngineState, LoadRequest } from '../../electron/ipc/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { checkGgufHeader } from '../../electron/engine/gguf-check.js'
import { scanLibrary } from '../../electron/models/library.js'
import { inspectModelFile } from '../../electron/engine/model-files.js'
import type { ModelFileInfo } from '../../electron/ipc/contract.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { ggufLayout } from '../fixtures/gguf-layout.js'
import { mutations, withU32, withU64, type Mutation } from '../fixtures/gguf-mutations.js'
import { scratchDir, startEngine } from '../support/engine.js'

const SEED = 0x6775_6666
/** Mutations of each field kind per fixture; with a cut at every header boundary, about 700 in all. */
const PER_KIND = 12
/** Longer than any refusal or tiny-model load takes; the audit's hangs ran until killed at 30 s. */
const CALL_LIMIT_MS = 10_000
const CLEAR_CODES = ['bad-model-file', 'mmproj-mismatch']

let fx: FixturePaths
let dir: string
let engine: EngineClient
const states: EngineState['state'][] = []

beforeAll(async () => {
  fx = await ensureFixtures()
  dir = await scratchDir()
  engine = startEngine((s) => states.push(s.state))
})
afterAll(async () => engine?.dispose())

type Outcome<T> = { kind: 'done'; value: T } | { kind: 'failed'; error: unknown } | { kind: 'timed out' }

async function within<T>(work: Promise<T>, ms: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timed out' }), ms)
  })
  const settled = work.then(
    (value): Outcome<T> => ({ kind: 'done', value }),
    (error: unknown): Outcome<T> => ({ kind: 'failed', error }),
  )
  try {
    return await Promise.race([settled, timeout])
  } finally {
    clearTimeout(timer)
  }
}

interface Case extends Mutation {
  role: 'model' | 'mmproj'
}

/**
 * Mutations that parse as GGUF yet crashed the engine (clip.cpp asserts a key's type and
 * aborts; it dereferences a projector tensor a shortened count dropped) or failed the load
 * with a bare "Failed to load model", before the header check knew the key types and the
 * data after the last tensor.
 */
function formerOffenders(model: Buffer, mmproj: Buffer): Case[] {
  const m = ggufLayout(model)
  const p = ggufLayout(mmproj)
  const typeAt = (layout: typeof m, key: string): number => layout.kvs.find((kv) => kv.key === key)!.typeAt
  const valueAt = (layout: typeof m, key: string): number => layout.kvs.find((kv) => kv.key === key)!.valueAt
  return [
    {
      role: 'mmproj',
      kind: 'kv type',
      description: "type of 'clip.vision.image_size' = int32 (SIGABRT)",
      bytes: withU32(mmproj, typeAt(p, 'clip.vision.image_size'), 5),
    },
    {
      role: 'mmproj',
      kind: 'kv type',
      description: "type of 'clip.use_gelu' = uint8 (SIGABRT)",
      bytes: withU32(mmproj, typeAt(p, 'clip.use_gelu'), 0),
    },
    {
      role: 'mmproj',
      kind: 'kv type',
      description: "type of 'clip.vision.attention.layer_norm_epsilon' = uint32 (SIGABRT)",
      bytes: withU32(mmproj, typeAt(p, 'clip.vision.attention.layer_norm_epsilon'), 4),
    },
    { role: 'mmproj', kind: 'counts', description: 'tensor count = 39 (SIGSEGV)', bytes: withU64(mmproj, p.tensorCountAt, 39n) },
    {
      role: 'model',
      kind: 'kv type',
      description: "type of 'llama.block_count' = int32 (Failed to load model)",
      bytes: withU32(model, typeAt(m, 'llama.block_count'), 5),
    },
    { role: 'model', kind: 'counts', description: 'tensor count = 20 (Failed to load model)', bytes: withU64(model, m.tensorCountAt, 20n) },
    // Values llama.cpp asserts on while loading; the library's fit estimate simulates a load in
    // the engine process, so one such file in the models folder aborted it on every listing.
    ...(
      [
        ['llama.block_count', 0],
        ['llama.block_count', 0xffffffff],
        ['llama.attention.head_count', 0],
        ['llama.attention.head_count_kv', 0],
      ] as const
    ).map(([key, value]): Case => ({
      role: 'model',
      kind: 'kv value',
      description: `'${key}' = ${value} (SIGABRT)`,
      bytes: withU32(model, valueAt(m, key), value),
    })),
  ]
}

interface Tally {
  mutations: number
  refusedByCheck: number
  loaded: number
  crashes: string[]
  hangs: string[]
  unclear: string[]
}

describe('hostile GGUF headers', () => {
  it('never crash or hang the engine, and every refusal names the file and the reason', async () => {
    const started = performance.now()
    const model = await readFile(fx.textModel)
    const mmproj = await readFile(fx.mmproj)
    const cases: Case[] = [
      ...formerOffenders(model, mmproj),
      ...mutations(model, SEED, PER_KIND).map((m) => ({ ...m, role: 'model' as const })),
      ...mutations(mmproj, SEED + 1, PER_KIND).map((m) => ({ ...m, role: 'mmproj' as const })),
    ]
    const tally: Tally = { mutations: cases.length, refusedByCheck: 0, loaded: 0, crashes: [], hangs: [], unclear: [] }
    // Start the engine (and node-llama-cpp in it) once, outside the per-call limit.
    await engine.load({ modelPath: fx.textModel, gpu: false })

    for (const [i, mutation] of cases.entries()) {
      const folder = join(dir, `case-${i}`)
      await mkdir(folder)
      const name = `${mutation.role === 'mmproj' ? 'mmproj-' : ''}case-${i}.gguf`
      const path = join(folder, name)
      await writeFile(path, mutation.bytes)
      const what = `${name} (${mutation.kind}: ${mutation.description})`
      if (
        await checkGgufHeader(path).then(
          () => false,
          () => true,
        )
      )
        tally.refusedByCheck++

      const pid = engine.pid
      states.length = 0
      const request: LoadRequest =
        mutation.role === 'model' ? { modelPath: path, gpu: false } : { modelPath: fx.textModel, mmprojPath: path, gpu: false }
      const load = await within(engine.load(request), CALL_LIMIT_MS)
      const listing = load.kind === 'timed out' ? null : await within(engine.library(folder, []), CALL_LIMIT_MS)

      if (load.kind === 'timed out' || listing?.kind === 'timed out') {
        tally.hangs.push(`${what}: ${load.kind === 'timed out' ? 'load' : 'listing'} took over ${CALL_LIMIT_MS} ms`)
        // A hung engine answers nothing more: end it (the client starts a new one) and go on.
        engine.killForTesting()
        await engine.load({ modelPath: fx.textModel, gpu: false }).catch(() => undefined)
        continue
      }
      if (engine.pid !== pid || states.includes('crashed')) {
        tally.crashes.push(what)
        await engine.load({ modelPath: fx.textModel, gpu: false }).catch(() => undefined)
        continue
      }
      if (load.kind === 'done') tally.loaded++
      else if (!(load.error instanceof AppError) || !CLEAR_CODES.includes(load.error.code) || !load.error.message.includes(name)) {
        tally.unclear.push(
          `${what}: load ${load.error instanceof AppError ? load.error.code : 'threw'}: ${load.error instanceof Error ? load.error.message : String(load.error)}`,
        )
      }
      if (listing?.kind === 'failed') tally.unclear.push(`${what}: listing failed: ${String(listing.error)}`)
      else if (listing?.kind === 'done') {
        const view = listing.value
        const listed = view.models.some((m) => m.model.path === path) || view.orphanProjectors.some((p) => p.path === path)
        const problem = view.problems.find((p) => p.path === path)
        if (!listed && !problem) tally.unclear.push(`${what}: neither listed nor reported`)
        if (problem && !problem.reason.includes(name)) tally.unclear.push(`${what}: listed with an unclear reason: ${problem.reason}`)
      }
    }

    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    console.log(
      `hostile GGUF: ${tally.mutations} mutations, ${tally.refusedByCheck} refused by the header check, ${tally.loaded} loaded fine, ` +
        `${tally.crashes.length} crashes, ${tally.hangs.length} hangs, ${tally.unclear.length} unclear, ${seconds} s`,
    )
    expect(tally.crashes).toEqual([])
    expect(tally.hangs).toEqual([])
    expect(tally.unclear).toEqual([])
    // Most damage is caught in TypeScript before either binding sees the file.
    expect(tally.refusedByCheck).toBeGreaterThan(tally.mutations * 0.9)
    // The engine that saw all of it still loads and lists the intact fixtures.
    expect(await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })).toMatchObject({ vision: true })
  }, 240_000)
})

describe('values a converter never writes', () => {
  it('a training context of 0 is no training context: the default size applies, not a 0-token context', async () => {
    const model = await readFile(fx.textModel)
    const path = join(dir, 'no-context.gguf')
    await writeFile(path, withU32(model, ggufLayout(model).kvs.find((kv) => kv.key === 'llama.context_length')!.valueAt, 0))
    expect((await inspectModelFile(path, null)).trainContextSize).toBeNull()
  })
})

describe('the library scan bounds each file', () => {
  it('reports a file whose inspection takes too long as a problem and lists the rest', async () => {
    const root = await scratchDir()
    await writeFile(join(root, 'slow.gguf'), 'x')
    await writeFile(join(root, 'fine.gguf'), 'x')
    const fine = { path: join(root, 'fine.gguf'), kind: 'llm' } as ModelFileInfo
    // The slow file never answers, as a header read stuck on a damaged file or a stalled disk would.
    const inspect = (path: string): Promise<ModelFileInfo> =>
      basename(path) === 'slow.gguf' ? new Promise<ModelFileInfo>(() => undefined) : Promise.resolve(fine)
    const startedAt = performance.now()
    const library = await scanLibrary(root, inspect, [], 50)
    expect(performance.now() - startedAt).toBeLessThan(2_000)
    expect(library.problems).toEqual([
      { path: join(root, 'slow.gguf'), reason: 'slow.gguf took too long to read (over 0.05 s); it may be damaged.' },
    ])
    expect(library.models.map((m) => m.model.path)).toEqual([fine.path])
  })
})
