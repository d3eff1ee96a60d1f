import { copyFile, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { getLlama, type Llama } from 'node-llama-cpp'
import { beforeAll, describe, expect, it } from 'vitest'
import type { EngineState, Hardware } from '../../electron/ipc/contract.js'
import { rejection } from '../support/errors.js'
import { createEngine } from '../../electron/engine/engine.js'
import { estimateFit, readHardware } from '../../electron/engine/fit.js'
import { inspectModelFile } from '../../electron/engine/model-files.js'
import { catalogJsonSchema, CATALOG, parseCatalog } from '../../electron/models/catalog.js'
import { createModelService, type ModelServiceDeps } from '../../electron/models/model-service.js'
import { RecentModels } from '../../electron/models/recent.js'
import { UnverifiedFiles } from '../../electron/models/unverified.js'
import { writeSplitModel } from '../fixtures/gguf-split.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { scratchDir } from '../support/engine.js'
import { readFileSync } from 'node:fs'

let fx: FixturePaths
let llama: Llama
const engine = createEngine()
// The build the app would use here; on a machine without a GPU it is the CPU build.
const gpuLlama = await getLlama({ gpu: 'auto', build: 'never' })
// A GPU build with a device to size for: a Vulkan build also loads where the Vulkan loader has no GPU behind it.
const gpuDevices = gpuLlama.gpu === false ? [] : await gpuLlama.getGpuDeviceNames()
if (gpuDevices.length === 0)
  console.warn(
    `fit estimate: GPU offload sizing skipped: ${gpuLlama.gpu === false ? 'no GPU build of llama.cpp works on this machine' : `llama.cpp's ${gpuLlama.gpu} build lists no GPU here`}`,
  )
beforeAll(async () => {
  fx = await ensureFixtures()
  llama = await getLlama({ gpu: false, build: 'never' })
})

function service(root: string, extra: Partial<ModelServiceDeps> & { picked?: string[] | null; loaded?: EngineState } = {}) {
  const revealed: string[] = []
  let unloads = 0
  let changes = 0
  let state: EngineState = extra.loaded ?? { state: 'idle' }
  const models = createModelService({
    root,
    engine: {
      library: (r, linked) => engine.library(r, linked),
      state: () => state,
      unload: async () => {
        unloads++
        state = { state: 'idle' }
      },
    },
    pickModelFiles: async () => extra.picked ?? null,
    revealFile: (p) => void revealed.push(p),
    onChanged: () => void changes++,
    ...extra,
  })
  return { models, revealed, unloads: () => unloads, changes: () => changes }
}

describe('model library service', () => {
  it('lists models with metadata, their projector, and a fit estimate for this machine', async () => {
    const root = await scratchDir()
    await mkdir(join(root, 'tiny-vlm'))
    await copyFile(fx.textModel, join(root, 'tiny-vlm', 'tiny-vlm-F32.gguf'))
    await copyFile(fx.mmproj, join(root, 'tiny-vlm', 'mmproj-tiny-vlm-F32.gguf'))
    const view = await service(root).models.library()
    expect(view.root).toBe(root)
    expect(view.models).toHaveLength(1)
    const [entry] = view.models
    expect(entry!.model).toMatchObject({ kind: 'llm', architecture: 'llama', quantisation: 'F32', trainContextSize: 4096 })
    // Parameters counted from the tensors: 4 bytes each in an F32 file.
    expect(entry!.model.parameters * 4).toBe(entry!.model.weightBytes)
    expect(entry!.mmproj).toMatchObject({ kind: 'mmproj', quantisation: 'F32', embeddingSize: 64 })
    expect(entry!.linked).toBe(false)
    expect(entry!.fit).toMatchObject({ verdict: 'fits', contextSize: 4096 })
    expect(entry!.fit!.ramBytes).toBeGreaterThan(entry!.model.weightBytes + entry!.mmproj!.weightBytes)
    expect(view.hardware!.ram.totalBytes).toBeGreaterThan(0)
  })

  it('imports by copy into a folder of its own, pairing model and projector; a half copy is never visible', async () => {
    const root = await scratchDir()
    const { models, changes } = service(root, { picked: [fx.textModel, fx.mmproj] })
    const view = (await models.import('copy'))!
    expect(view.models.map((m) => [m.model.path, m.mmproj?.path])).toEqual([
      [join(root, 'tiny-llama-f32', 'tiny-llama-f32.gguf'), join(root, 'tiny-llama-f32', 'mmproj-tiny-f32.gguf')],
    ])
    expect((await readdir(join(root, 'tiny-llama-f32'))).sort()).toEqual(['mmproj-tiny-f32.gguf', 'tiny-llama-f32.gguf'])
    expect(changes()).toBe(1)
    // The same files again: refused, not overwritten.
    expect((await rejection(models.import('copy'))).message).toMatch(/already in your library/)
  })

  it('refuses to import anything when one of the files is not a usable model, and copies nothing', async () => {
    const root = await scratchDir()
    const junk = join(await scratchDir(), 'junk.gguf')
    await writeFile(junk, 'not a model at all')
    const error = await rejection(service(root, { picked: [fx.textModel, junk] }).models.import('copy'))
    expect(error.code).toBe('bad-model-file')
    expect(error.message).toMatch(/junk\.gguf is not a GGUF model file/)
    expect(await readdir(root).catch(() => [])).toEqual([])
    const projectorOnly = await rejection(service(root, { picked: [fx.mmproj] }).models.import('link'))
    expect(projectorOnly.message).toMatch(/vision projectors \(mmproj\) only/)
  })

  it('checks the disk space before copying', async () => {
    const root = await scratchDir()
    const error = await rejection(service(root, { picked: [fx.textModel], freeSpace: async () => 1000 }).models.import('copy'))
    expect(error.code).toBe('storage')
    expect(error.message).toMatch(/Import it as a link instead/)
    expect(await readdir(root)).toEqual([])
  })

  it('imports by link without copying, and deleting a link forgets it but keeps the user’s file', async () => {
    const root = await scratchDir()
    const outside = await scratchDir()
    const model = join(outside, 'mine-Q8_0.gguf')
    await copyFile(fx.textModel, model)
    const { models } = service(root, { picked: [model] })
    const view = (await models.import('link'))!
    expect(view.models.map((m) => [m.model.path, m.linked])).toEqual([[model, true]])
    const after = await models.delete(model)
    expect(after.models).toEqual([])
    expect((await stat(model)).size).toBeGreaterThan(0)
  })

  it('forgets a linked model whose file is gone (its disk unplugged) when it is deleted', async () => {
    const root = await scratchDir()
    const outside = await scratchDir()
    const model = join(outside, 'usb-Q8_0.gguf')
    await copyFile(fx.textModel, model)
    const { models } = service(root, { picked: [model] })
    await models.import('link')
    await rm(model)
    const gone = await models.library()
    expect(gone.problems.map((p) => p.path)).toEqual([model])
    const after = await models.delete(model)
    expect(after.problems).toEqual([])
    expect(JSON.parse(await readFile(join(root, 'linked.json'), 'utf8'))).toEqual([])
  })

  it("does not delete a model reached through a folder linked from elsewhere: that file is the user's", async () => {
    const root = await scratchDir()
    const elsewhere = await scratchDir()
    const model = join(elsewhere, 'big-Q4_K_M.gguf')
    await copyFile(fx.textModel, model)
    await symlink(elsewhere, join(root, 'external'))
    const { models } = service(root)
    const listed = join(root, 'external', 'big-Q4_K_M.gguf')
    expect((await models.library()).models.map((m) => m.model.path)).toEqual([listed])
    await expect(models.delete(listed)).rejects.toMatchObject({
      code: 'busy',
      message: `big-Q4_K_M.gguf is in a folder linked into the models folder from ${elsewhere}; delete it there, or remove the link.`,
    })
    expect((await stat(model)).size).toBeGreaterThan(0)
  })

  it("lists a split model once, with all its parts' size; copies and deletes every part", async () => {
    const root = await scratchDir()
    const outside = await scratchDir()
    const parts = await writeSplitModel(fx.textModel, outside, 'big-Q4_K_M')
    const total = (await Promise.all(parts.map((p) => stat(p)))).reduce((sum, s) => sum + s.size, 0)
    // Picking any part imports the model: here the second.
    const { models } = service(root, { picked: [parts[1]!] })
    const view = (await models.import('copy'))!
    const folder = join(root, 'big-Q4_K_M')
    expect(view.models.map((m) => [m.model.path, m.model.fileBytes])).toEqual([[join(folder, 'big-Q4_K_M-00001-of-00003.gguf'), total]])
    expect(view.problems).toEqual([])
    expect((await readdir(folder)).sort()).toEqual(parts.map((p) => p.split('/').pop()))
    const after = await models.delete(join(folder, 'big-Q4_K_M-00001-of-00003.gguf'))
    expect(after.models).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  it('offers a recent model only while its files are there, and again when they come back', async () => {
    const dir = await scratchDir()
    const model = join(dir, 'm.gguf')
    const other = join(dir, 'other.gguf')
    await Promise.all([copyFile(fx.textModel, model), copyFile(fx.textModel, other)])
    const recent = new RecentModels(join(dir, 'recent-models.json'))
    await recent.add(model, null)
    await recent.add(other, fx.mmproj)
    expect((await recent.list()).map((m) => m.modelPath)).toEqual([other, model])
    await rm(model)
    expect((await recent.list()).map((m) => m.modelPath)).toEqual([other])
    // Another model used meanwhile keeps the missing one on file: a disk plugged in again brings it back.
    await recent.add(other, null)
    await copyFile(fx.textModel, model)
    expect((await recent.list()).map((m) => [m.modelPath, m.mmprojPath])).toEqual([
      [other, null],
      [other, fx.mmproj],
      [model, null],
    ])
  })

  it('deletes a model with its projector and its emptied folder, unloading it first when loaded', async () => {
    const root = await scratchDir()
    const dir = join(root, 'tiny-vlm')
    await mkdir(dir)
    await copyFile(fx.textModel, join(dir, 'tiny-vlm-F32.gguf'))
    await copyFile(fx.mmproj, join(dir, 'mmproj-tiny-vlm-F32.gguf'))
    const info = { modelPath: join(dir, 'tiny-vlm-F32.gguf'), mmprojPath: join(dir, 'mmproj-tiny-vlm-F32.gguf') } as const
    const s = service(root, {
      loaded: {
        state: 'ready',
        info: {
          ...info,
          binding: 'llama.node',
          backend: 'cpu',
          gpuName: null,
          gpuLayers: 0,
          totalLayers: 3,
          contextSize: 4096,
          vision: true,
          fallback: null,
          loadMs: 1,
          memory: { vramBytes: 0, ramBytes: 1 },
        },
      },
    })
    const view = await s.models.delete(info.modelPath)
    expect(s.unloads()).toBe(1)
    expect(view.models).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  it('lists the files recorded as unverified while they are there, and forgets the record with the model', async () => {
    const root = await scratchDir()
    const dir = join(root, 'tiny-vlm')
    await mkdir(dir)
    const model = join(dir, 'tiny-vlm-F32.gguf')
    const mmproj = join(dir, 'mmproj-tiny-vlm-F32.gguf')
    await copyFile(fx.textModel, model)
    await copyFile(fx.mmproj, mmproj)
    const record = new UnverifiedFiles(root)
    // A file deleted by hand leaves its record, which names nothing listed.
    await record.update([mmproj, join(root, 'gone', 'gone.gguf')], [])
    const { models } = service(root)
    expect((await models.library()).unverified).toEqual([mmproj])

    const view = await models.delete(model)
    expect(view.unverified).toEqual([])
    expect(await record.list()).toEqual([join(root, 'gone', 'gone.gguf')])
  })

  it('acts only on paths in the library: delete and reveal refuse anything else', async () => {
    const root = await scratchDir()
    const bystander = join(await scratchDir(), 'precious.gguf')
    await copyFile(fx.textModel, bystander)
    const s = service(root)
    expect((await rejection(s.models.delete(bystander))).code).toBe('not-found')
    expect((await rejection(s.models.delete(join(root, '..', 'x.gguf')))).code).toBe('not-found')
    expect((await rejection(s.models.reveal('/etc/passwd'))).code).toBe('not-found')
    expect((await stat(bystander)).size).toBeGreaterThan(0)
    await s.models.reveal(root)
    expect(s.revealed).toEqual([root])
  })
})

describe('the library with CPU only set', () => {
  it('estimates every model for the CPU, where otherwise layers go to the GPU', async () => {
    const root = await scratchDir()
    await mkdir(join(root, 'tiny-vlm'))
    await copyFile(fx.textModel, join(root, 'tiny-vlm', 'tiny-vlm-F32.gguf'))
    await copyFile(fx.mmproj, join(root, 'tiny-vlm', 'mmproj-tiny-vlm-F32.gguf'))
    // The CPU build, as a Vulkan build with an 8 GiB GPU would describe itself.
    const onGpu = createEngine({
      getLlama: async () =>
        new Proxy(llama, {
          get(target, key, receiver) {
            if (key === 'gpu') return 'vulkan'
            if (key === 'getGpuDeviceNames') return async () => ['Test GPU']
            if (key === 'getVramState') return async () => ({ total: 8 * 1024 ** 3, free: 8 * 1024 ** 3, unifiedSize: 0 })
            const value: unknown = Reflect.get(target, key, receiver)
            return typeof value === 'function' ? value.bind(target) : value
          },
        }),
    })
    let cpuOnly = false
    const view = () =>
      service(root, {
        engine: {
          library: (r, linked, options) => onGpu.library(r, linked, options),
          state: () => ({ state: 'idle' }),
          unload: async () => undefined,
        },
        cpuOnly: () => cpuOnly,
      }).models.library()

    const auto = await view()
    expect(auto.hardware).toMatchObject({ backend: 'vulkan', gpuName: 'Test GPU' })
    expect(auto.models[0]!.fit!.gpuLayers).toBeGreaterThan(0)

    cpuOnly = true
    const cpu = await view()
    expect(cpu.hardware).toMatchObject({ backend: 'cpu', gpuName: null, vram: { totalBytes: 0, freeBytes: 0 } })
    const fit = cpu.models[0]!.fit!
    expect(fit).toMatchObject({ gpuLayers: 0, vramBytes: 0 })
    expect(fit.ramBytes).toBeGreaterThan(cpu.models[0]!.model.weightBytes + cpu.models[0]!.mmproj!.weightBytes)
    expect(fit.summary).toMatch(/^Fits: on the CPU, about /)
  })
})

describe('fit estimate', () => {
  const gib = 1024 ** 3
  const machine = (vramFree: number, ramFree: number, backend: Hardware['backend'] = 'cuda'): Hardware => ({
    backend,
    gpuName: backend === 'cpu' ? null : 'Test GPU',
    vram: { totalBytes: backend === 'cpu' ? 0 : 8 * gib, freeBytes: vramFree },
    ram: { totalBytes: 16 * gib, freeBytes: ramFree },
    unifiedMemory: false,
  })

  it('estimates for the CPU: model, context and the projector with its encoder’s working memory', async () => {
    const model = await inspectModelFile(fx.textModel, llama)
    const mmproj = await inspectModelFile(fx.mmproj, llama)
    const cpu = await estimateFit(llama, model, null, { hardware: machine(0, 12 * gib, 'cpu') })
    expect(cpu).toMatchObject({ verdict: 'fits', gpuLayers: 0, vramBytes: 0, contextSize: 4096 })
    expect(cpu.ramBytes).toBeGreaterThan(model.weightBytes)
    expect(cpu.summary).toMatch(/^Fits: on the CPU, about .* of memory \(12 GiB free\), with a 4,096-token context\.$/)
    // A text model keeps two sequences (the window's and the API's): the second one's KV cache is counted.
    const oneSequence = await estimateFit(llama, model, null, { hardware: machine(0, 12 * gib, 'cpu'), sequences: 1 })
    expect(cpu.ramBytes).toBeGreaterThan(oneSequence.ramBytes)
    // The vision binding runs one sequence, plus the projector.
    const vision = await estimateFit(llama, model, mmproj, { hardware: machine(0, 12 * gib, 'cpu') })
    expect(vision.ramBytes - oneSequence.ramBytes).toBeGreaterThanOrEqual(mmproj.weightBytes)
    // A smaller context takes less memory.
    const short = await estimateFit(llama, model, null, { hardware: machine(0, 12 * gib, 'cpu'), contextSize: 512 })
    expect(short.contextSize).toBe(512)
    expect(short.ramBytes).toBeLessThan(cpu.ramBytes)
    // A CPU-only build cannot size GPU offloading, so it does not pretend to.
    const claimed = await estimateFit(llama, model, mmproj, { hardware: machine(8 * gib, 12 * gib) })
    expect(claimed).toMatchObject({ gpuLayers: 0, vramBytes: 0 })
  })

  it.skipIf(gpuDevices.length === 0)(
    'puts every layer and the projector on a GPU with room, and fewer layers on one without (needs a GPU build of llama.cpp)',
    async () => {
      const model = await inspectModelFile(fx.textModel, gpuLlama)
      const mmproj = await inspectModelFile(fx.mmproj, gpuLlama)
      const backend = gpuLlama.gpu as Hardware['backend']
      const roomy = await estimateFit(gpuLlama, model, mmproj, { hardware: machine(8 * gib, 12 * gib, backend) })
      expect(roomy).toMatchObject({ verdict: 'fits', gpuLayers: roomy.totalLayers })
      expect(roomy.vramBytes).toBeGreaterThan(mmproj.weightBytes)
      const cramped = await estimateFit(gpuLlama, model, mmproj, {
        hardware: machine(Math.round(model.weightBytes * 0.5), 12 * gib, backend),
      })
      expect(cramped.gpuLayers).toBeLessThan(roomy.gpuLayers)
    },
  )

  it('takes a GPU build that lists no device for a CPU', async () => {
    // node-llama-cpp loads its Vulkan build wherever the Vulkan loader is, GPU or not (a VM with
    // Mesa's software driver): no VRAM to size for, and nothing said to run on a GPU.
    const ram = { total: 16 * gib, free: 12 * gib }
    const noDevice = {
      gpu: 'vulkan',
      getGpuDeviceNames: async () => [],
      getVramState: async () => ({ total: 0, used: 0, free: 0, unifiedSize: 0 }),
      getRamState: async () => ram,
    }
    expect(await readHardware(noDevice as unknown as Llama)).toMatchObject({
      backend: 'cpu',
      gpuName: null,
      vram: { totalBytes: 0, freeBytes: 0 },
    })
    const withDevice = {
      ...noDevice,
      getGpuDeviceNames: async () => ['AMD Radeon RX 7600 (RADV NAVI33)'],
      getVramState: async () => ({ total: 8 * gib, used: 0, free: 7 * gib, unifiedSize: 0 }),
    }
    expect(await readHardware(withDevice as unknown as Llama)).toMatchObject({
      backend: 'vulkan',
      gpuName: 'AMD Radeon RX 7600 (RADV NAVI33)',
      vram: { totalBytes: 8 * gib, freeBytes: 7 * gib },
    })
  })

  it('calls a model too big for the memory, or tight when it barely fits', async () => {
    const model = await inspectModelFile(fx.textModel, llama)
    const need = (await estimateFit(llama, model, null, { hardware: machine(0, 12 * gib, 'cpu') })).ramBytes
    const tight = await estimateFit(llama, model, null, {
      hardware: { ...machine(0, need, 'cpu'), ram: { totalBytes: 16 * gib, freeBytes: need } },
    })
    expect(tight.verdict).toBe('tight')
    expect(tight.summary).toMatch(/^Tight: /)
    const tooBig = await estimateFit(llama, model, null, {
      hardware: { ...machine(0, 1000, 'cpu'), ram: { totalBytes: Math.round(need / 2), freeBytes: 1000 } },
    })
    expect(tooBig.verdict).toBe('too-big')
    expect(tooBig.summary).toMatch(/^Too big for this machine/)
  })
})

describe('catalog', () => {
  it('is valid, names a recommended entry, and its JSON Schema file is current', () => {
    expect(CATALOG.entries.length).toBeGreaterThanOrEqual(4)
    expect(CATALOG.entries.map((e) => e.id)).toContain(CATALOG.recommended)
    for (const entry of CATALOG.entries) expect(entry.mmproj.file).toMatch(/mmproj/i)
    const onDisk = readFileSync(new URL('../../models/catalog.schema.json', import.meta.url), 'utf8')
    expect(onDisk, 'models/catalog.schema.json is stale: run npm run catalog:schema').toBe(catalogJsonSchema())
  })

  it('refuses a catalog with duplicate ids or a missing recommended entry', () => {
    const entry = CATALOG.entries[0]!
    expect(() => parseCatalog({ version: 1, recommended: entry.id, entries: [entry, entry] })).toThrow(/unique/)
    expect(() => parseCatalog({ version: 1, recommended: 'nope', entries: [entry] })).toThrow(/recommended entry nope/)
    expect(() => parseCatalog({ version: 1, recommended: entry.id, entries: [{ ...entry, repo: '../etc' }] })).toThrow()
  })
})
