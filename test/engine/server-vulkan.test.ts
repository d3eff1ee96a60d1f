// A vision model on a GPU through llama-server's Vulkan build (electron/engine/engine.ts,
// server-devices.ts): chosen where llama.node would run its Vulkan build and the Vulkan
// llama-server lists a GPU, with its layers offloaded and the GPU named in the engine info;
// follow-ups reuse earlier images there as on the CPU; a GPU that cannot load the model costs
// layers, then the GPU, and the engine info says so.
//
// The GPU here is Mesa's software Vulkan driver (lavapipe), which llama.cpp lists only when told
// to (GGML_VK_VISIBLE_DEVICES: it is a CPU-type device, and the app never sets that), with fused
// operations off (GGML_VK_DISABLE_FUSION): Mesa 22.3's lavapipe crashes in the image encode
// that follows a text answer otherwise, as it reads descriptor bindings a shader does not use
// (filling every binding avoids it, measured); GPU drivers do not.
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatMessage } from '../../electron/ipc/contract.js'
import { EngineClient } from '../../electron/engine/client.js'
import { chooseVisionVariant, probeGpu } from '../../electron/engine/gpu-probe.js'
import { nodeEngineSpawner } from '../../electron/engine/spawn-node.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { serverArgs } from '../../electron/engine/server-args.js'
import { offloadedLayers } from '../../electron/engine/server-backend.js'
import { parseDeviceList } from '../../electron/engine/server-devices.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { collect, greedy } from '../support/engine.js'
import { solidPng } from '../support/images.js'
import { serversUnder } from '../support/servers.js'

const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'

const cpu = await findServerBinary()
const vulkan = await findServerBinary(process.env, 'vulkan')
// The engine's own decision: a Vulkan loader here, no CUDA build to prefer.
const onVulkan = chooseVisionVariant(await probeGpu(process.platform, process.arch), process.platform, process.arch, { cpuOnly: false })
const vulkanLoader = onVulkan.backend === 'vulkan'
if (!cpu.found) console.warn(`Vulkan llama-server tests skipped: ${cpu.reason}`)
else if (!vulkanLoader)
  console.warn(`Vulkan llama-server tests skipped: the engine would not use Vulkan here (${onVulkan.reason ?? onVulkan.backend})`)
else if (!vulkan.found) console.warn(`Vulkan llama-server on lavapipe skipped: ${vulkan.reason}`)
else if (!existsSync(LAVAPIPE)) console.warn(`Vulkan llama-server on lavapipe skipped: no ${LAVAPIPE} (Debian's mesa-vulkan-drivers)`)

/** A Vulkan build that lists a GPU and then fails to start with any model, as a driver that cannot allocate the model's buffers does. */
async function fakeVulkanServer(dir: string): Promise<string> {
  const fake = join(dir, 'llama-server')
  await writeFile(
    fake,
    [
      '#!/bin/sh',
      'if [ "$1" = "--list-devices" ]; then',
      "  printf 'Available devices:\\n  Vulkan0: Fake GPU (1024 MiB, 1000 MiB free)\\n'",
      '  exit 0',
      'fi',
      'echo "ggml_vulkan: Device memory allocation of size 4096 failed." >&2',
      'exit 1',
    ].join('\n'),
  )
  await chmod(fake, 0o755)
  return fake
}

describe('llama-server GPU options', () => {
  it('reads the devices a build lists, and none from "(none)"', () => {
    const out = [
      'ggml_vulkan: Found 2 Vulkan devices:',
      'Available devices:',
      '  Vulkan0: AMD Radeon RX 7600 (RADV NAVI33) (8176 MiB, 7900 MiB free)',
      '  Vulkan1: Intel(R) UHD Graphics 770 (ADL-S GT1) (15902 MiB, 15902 MiB free)',
      '',
    ].join('\n')
    expect(parseDeviceList(out)).toEqual([
      { id: 'Vulkan0', name: 'AMD Radeon RX 7600 (RADV NAVI33)', totalMiB: 8176, freeMiB: 7900 },
      { id: 'Vulkan1', name: 'Intel(R) UHD Graphics 770 (ADL-S GT1)', totalMiB: 15902, freeMiB: 15902 },
    ])
    expect(parseDeviceList('Available devices:\n  (none)\n')).toEqual([])
    expect(parseDeviceList('error: unknown argument: --list-devices\n')).toEqual([])
  })

  it('offloads the layers asked for, and keeps the projector on the CPU with none', () => {
    const gpu = serverArgs({ model: '/m.gguf', mmproj: '/p.gguf', contextSize: 2048, threads: 2, imageMaxTokens: null, gpuLayers: 29 })
    expect(gpu[gpu.indexOf('-ngl') + 1]).toBe('29')
    expect(gpu).not.toContain('--no-mmproj-offload')
    const cpuArgs = serverArgs({ model: '/m.gguf', mmproj: '/p.gguf', contextSize: 2048, threads: 2, imageMaxTokens: null })
    expect(cpuArgs[cpuArgs.indexOf('-ngl') + 1]).toBe('0')
    expect(cpuArgs).toContain('--no-mmproj-offload')
    const text = serverArgs({ model: '/m.gguf', mmproj: null, contextSize: 2048, threads: 2, imageMaxTokens: null })
    expect(text).not.toContain('--no-mmproj-offload')
  })

  it('takes the layers on the GPU from the load log', () => {
    expect(offloadedLayers('load_tensors: offloading 28 repeating layers to GPU\nload_tensors: offloaded 29/29 layers to GPU\n')).toBe(29)
    expect(offloadedLayers('load_tensors: CPU_Mapped model buffer size = 10.0 MiB\n')).toBeNull()
  })

  it('a LLAMA_SERVER_VULKAN_BIN that is not there is said, not passed over', async () => {
    expect(await findServerBinary({ LLAMA_SERVER_VULKAN_BIN: '/nonexistent/llama-server' }, 'vulkan')).toMatchObject({
      found: false,
      reason: expect.stringContaining('LLAMA_SERVER_VULKAN_BIN=/nonexistent/llama-server'),
    })
  })
})

describe.skipIf(!cpu.found || !vulkanLoader)('a GPU that cannot load the model', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lva-fake-vulkan-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('costs half the layers, then the GPU: the CPU build serves the model, and the engine info says why', async () => {
    const fake = await fakeVulkanServer(dir)
    const fx = await ensureFixtures()
    const engine = new EngineClient({
      spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: '1', ENGINE_VISION_BINDING: 'auto', LLAMA_SERVER_VULKAN_BIN: fake } }),
    })
    try {
      const info = await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj })
      expect(info).toMatchObject({ binding: 'llama-server', backend: 'cpu', gpuLayers: 0, gpuName: null })
      // The fit estimate's layers (sized by the 1000 MiB the fake lists), then half of them, then the CPU.
      const said =
        /^Loading with (\d+) GPU layers on Fake GPU failed \(.+?\)\. Loading with (\d+) GPU layers on Fake GPU failed \(.+?\)\. Loaded with no GPU layers, on the CPU instead\.$/.exec(
          info.fallback ?? '',
        )
      expect(said, info.fallback ?? 'no fallback').not.toBeNull()
      expect(Number(said![1])).toBeGreaterThan(0)
      expect(Number(said![2])).toBe(Math.floor(Number(said![1]) / 2))
      // It answers, from the CPU build.
      const out = await collect(engine.generate({ messages: [{ role: 'user', text: 'Hello?' }], sampling: greedy(4) }))
      expect(out.stats?.tokensOut).toBeGreaterThan(0)
    } finally {
      await engine.dispose()
    }
  }, 120_000)
})

describe.skipIf(!cpu.found || !vulkanLoader || !vulkan.found || !existsSync(LAVAPIPE))(
  'vision on a Vulkan GPU through llama-server (lavapipe)',
  () => {
    let fx: FixturePaths
    let engine: EngineClient
    beforeAll(async () => {
      fx = await ensureFixtures()
      engine = new EngineClient({
        spawn: nodeEngineSpawner({
          env: {
            ENGINE_THREADS: '1',
            ENGINE_VISION_BINDING: 'auto',
            ENGINE_TEXT_BINDING: 'auto',
            VK_ICD_FILENAMES: LAVAPIPE,
            GGML_VK_VISIBLE_DEVICES: '0',
            GGML_VK_DISABLE_FUSION: '1',
          },
        }),
      })
    })
    afterAll(async () => {
      await engine?.dispose()
    })

    it('loads on the GPU the build lists, every layer offloaded, and says so', async () => {
      const info = await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj })
      expect(info).toMatchObject({
        binding: 'llama-server',
        backend: 'vulkan',
        gpuName: expect.stringMatching(/llvmpipe/),
        fallback: null,
      })
      // Every layer, as the server's load log says ("offloaded 3/3 layers to GPU").
      expect(info.gpuLayers).toBe(info.totalLayers)
      expect(info.bindingReason).toBeUndefined()
      expect(info.memory.vramBytes).toBeGreaterThan(0)
    }, 120_000)

    it('answers about an image, and the follow-up reuses the image turn instead of encoding it again', async () => {
      const picture = await solidPng(160, 120, '#aa3333')
      const history: ChatMessage[] = [{ role: 'user', text: 'What colour is this?', images: [{ bytes: picture }] }]
      const first = await collect(engine.generate({ messages: history, sampling: greedy(6) }))
      expect(first.stats?.imageTokens).toBeGreaterThan(0)
      history.push({ role: 'assistant', text: first.text })
      const ask = [...history, { role: 'user' as const, text: 'And its shape?' }]
      const followUp = await collect(engine.generate({ messages: ask, sampling: greedy(6) }))
      // Everything up to the end of the image turn comes from the cache.
      expect(followUp.stats!.cachedTokens).toBeGreaterThanOrEqual(first.stats!.tokensIn)
      expect(followUp.stats!.tokensIn - followUp.stats!.cachedTokens!).toBeLessThan(first.stats!.tokensIn)
      // Greedy on the GPU is deterministic: the same follow-up again gives the same answer.
      const again = await collect(engine.generate({ messages: ask, sampling: greedy(6) }))
      expect(again.text).toBe(followUp.text)
      expect(again.stats?.tokensOut).toBe(followUp.stats?.tokensOut)
    }, 180_000)

    it('a text model decodes on the same GPU through llama-server, where node-llama-cpp would use its Vulkan build', async () => {
      // The engine's node-llama-cpp lists lavapipe too (it reads GGML_VK_VISIBLE_DEVICES as well).
      const info = await engine.load({ modelPath: fx.textModel })
      expect(info).toMatchObject({ binding: 'llama-server', backend: 'vulkan', gpuName: expect.stringMatching(/llvmpipe/), fallback: null })
      expect(info.gpuLayers).toBe(info.totalLayers)
      const out = await collect(engine.generate({ messages: [{ role: 'user', text: 'Count to ten.' }], sampling: greedy(12) }))
      expect(out.stats?.tokensOut).toBe(12)
      expect(out.stats?.tokensPerSecond).toBeGreaterThan(0)
      const again = await collect(engine.generate({ messages: [{ role: 'user', text: 'Count to ten.' }], sampling: greedy(12) }))
      expect(again.text).toBe(out.text)
    }, 120_000)

    it('a text model whose GPU load fails ends on the CPU build, and says why', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lva-fake-vulkan-'))
      const failing = new EngineClient({
        spawn: nodeEngineSpawner({
          env: {
            ENGINE_THREADS: '1',
            ENGINE_TEXT_BINDING: 'auto',
            VK_ICD_FILENAMES: LAVAPIPE,
            GGML_VK_VISIBLE_DEVICES: '0',
            LLAMA_SERVER_VULKAN_BIN: await fakeVulkanServer(dir),
          },
        }),
      })
      try {
        const info = await failing.load({ modelPath: fx.textModel })
        expect(info).toMatchObject({ binding: 'llama-server', backend: 'cpu', gpuLayers: 0 })
        expect(info.fallback).toMatch(/^Loading with \d+ GPU layers on Fake GPU failed .* Loaded with no GPU layers, on the CPU instead\.$/)
      } finally {
        await failing.dispose()
        await rm(dir, { recursive: true, force: true })
      }
    }, 120_000)

    it('a GPU server that dies is started on the GPU again; dying twice, it gives way to the CPU build, and says so', async () => {
      const logs: string[] = []
      const dying = new EngineClient({
        spawn: nodeEngineSpawner({
          env: {
            ENGINE_THREADS: '1',
            ENGINE_VISION_BINDING: 'auto',
            VK_ICD_FILENAMES: LAVAPIPE,
            GGML_VK_VISIBLE_DEVICES: '0',
            GGML_VK_DISABLE_FUSION: '1',
          },
        }),
        log: (line) => logs.push(line),
      })
      /** Kills the engine's llama-server and waits for the one started in its place. */
      const killServer = async (): Promise<void> => {
        const [pid] = await serversUnder(dying.pid!)
        process.kill(pid!, 'SIGKILL')
        await expect.poll(async () => (await serversUnder(dying.pid!)).filter((p) => p !== pid), { timeout: 60_000 }).toHaveLength(1)
      }
      try {
        await dying.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj })
        await killServer()
        // Once: a driver reset passes, so the GPU again.
        await collect(dying.generate({ messages: [{ role: 'user', text: 'Still there?' }], sampling: greedy(4) }))
        expect(dying.state()).toMatchObject({ state: 'ready', info: { backend: 'vulkan', fallback: null } })
        await killServer()
        const out = await collect(dying.generate({ messages: [{ role: 'user', text: 'And now?' }], sampling: greedy(4) }))
        expect(out.stats?.tokensOut).toBe(4)
        expect(dying.state()).toMatchObject({
          state: 'ready',
          info: {
            binding: 'llama-server',
            backend: 'cpu',
            gpuLayers: 0,
            fallback: expect.stringMatching(/^llama-server on llvmpipe.* was killed \(SIGKILL\) twice; the model runs on the CPU\.$/),
          },
        })
        expect(logs.some((l) => /starting it again on the CPU/.test(l))).toBe(true)
      } finally {
        await dying.dispose()
      }
    }, 180_000)

    it('a request for no GPU layers runs the CPU build', async () => {
      const info = await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpuLayers: 0 })
      expect(info).toMatchObject({ binding: 'llama-server', backend: 'cpu', gpuLayers: 0, gpuName: null })
    }, 120_000)
  },
)
