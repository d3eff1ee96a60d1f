// Earlier images go to the engine process by reference: a follow-up sends each image the engine
// has prepared as its content key, not its bytes, and the answer is the one the bytes give; a
// new model, a new process or an image the engine no longer keeps gets the bytes again.
import { describe, expect, it } from 'vitest'
import type { ChatMessage, GenerateChunk } from '../../electron/ipc/contract.js'
import { EngineClient, type EngineProcess } from '../../electron/engine/client.js'
import { createEngine } from '../../electron/engine/engine.js'
import type { FromEngine, ToEngine } from '../../electron/engine/protocol.js'
import { nodeEngineSpawner } from '../../electron/engine/spawn-node.js'
import { refOf } from '../../electron/images/prepared-cache.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { collect, greedy } from '../support/engine.js'
import { rejection } from '../support/errors.js'
import { solidPng } from '../support/images.js'

/** Per generate request sent: each image as [has bytes, ref]. */
type Sent = [boolean, string][][]

function recording(sent: Sent): () => EngineProcess {
  const spawn = nodeEngineSpawner({ env: { ENGINE_THREADS: '1' } })
  return () => {
    const child = spawn()
    return {
      get pid() {
        return child.pid
      },
      send(message: ToEngine) {
        if (message.type === 'generate')
          sent.push(
            message.request.messages.flatMap((m) => (m.images ?? []).map((i): [boolean, string] => [i.bytes !== undefined, i.ref ?? ''])),
          )
        child.send(message)
      },
      onMessage: (listener) => child.onMessage(listener),
      onExit: (listener) => child.onExit(listener),
      kill: () => child.kill(),
    }
  }
}

describe('images by reference', () => {
  it('a follow-up sends earlier images as their key, with the same answer as their bytes give', async () => {
    const fx = await ensureFixtures()
    const [red, green] = await Promise.all([solidPng(96, 64, '#cc2222'), solidPng(96, 64, '#22cc22')])
    const sent: Sent = []
    const engine = new EngineClient({ spawn: recording(sent) })
    const fresh = new EngineClient({ spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: '1' } }) })
    try {
      const load = { modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false } as const
      await engine.load(load)
      await fresh.load(load)
      const first: ChatMessage[] = [{ role: 'user', text: 'What is this?', images: [{ bytes: red }] }]
      const answer = await collect(engine.generate({ messages: first, sampling: greedy(6) }))
      const followUp: ChatMessage[] = [
        ...first,
        { role: 'assistant', text: answer.text },
        { role: 'user', text: 'And this one?', images: [{ bytes: green }] },
      ]
      const viaRef = await collect(engine.generate({ messages: followUp, sampling: greedy(6) }))
      expect(sent).toEqual([
        [[true, refOf(red)]],
        [
          [false, refOf(red)],
          [true, refOf(green)],
        ],
      ])
      // The process that never saw them gets both as bytes, and says the same.
      expect((await collect(fresh.generate({ messages: followUp, sampling: greedy(6) }))).text).toBe(viaRef.text)

      // A new load may prepare images differently: everything goes whole again.
      await engine.load(load)
      await collect(engine.generate({ messages: followUp, sampling: greedy(2) }))
      expect(sent.at(-1)).toEqual([
        [true, refOf(red)],
        [true, refOf(green)],
      ])
    } finally {
      await engine.dispose()
      await fresh.dispose()
    }
  })

  it('the engine refuses a key it does not keep, saying so', async () => {
    const fx = await ensureFixtures()
    const engine = createEngine({ threads: 1, visionBinding: 'llama.node' })
    try {
      await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
      const error = await rejection(
        collect(engine.generate({ messages: [{ role: 'user', text: 'Hi', images: [{ ref: 'f'.repeat(64) }] }], sampling: greedy(2) })),
      )
      expect(error).toMatchObject({ code: 'image-not-held' })
    } finally {
      await engine.unload()
    }
  })

  it('when the engine no longer keeps one, the request goes again with every image whole', async () => {
    const sent: Sent = []
    let listener: ((m: FromEngine) => void) | null = null
    // A stand-in engine process: it has dropped what it prepared, so a request by reference fails.
    const process: EngineProcess = {
      pid: 1,
      send(message) {
        if (message.type !== 'generate') return listener?.({ id: message.id, type: 'result', value: null })
        const images = message.request.messages.flatMap((m) => m.images ?? [])
        sent.push(images.map((i) => [i.bytes !== undefined, i.ref ?? '']))
        if (images.some((i) => i.bytes === undefined))
          return listener?.({ id: message.id, type: 'error', error: { code: 'image-not-held', message: 'not kept' } })
        const done: GenerateChunk = {
          kind: 'done',
          stats: {
            tokensIn: 3,
            tokensOut: 0,
            imageTokens: 1,
            timeToFirstTokenMs: null,
            tokensPerSecond: null,
            totalMs: 1,
            stopReason: 'eos',
          },
        }
        listener?.({ id: message.id, type: 'chunks', chunks: [done] })
        listener?.({ id: message.id, type: 'result', value: null })
      },
      onMessage(l) {
        listener = l
        setTimeout(() => l({ type: 'ready', pid: 1 }))
      },
      onExit: () => undefined,
      kill: () => undefined,
    }
    const engine = new EngineClient({ spawn: () => process })
    const png = await solidPng(32, 32, '#123456')
    const messages: ChatMessage[] = [{ role: 'user', text: 'x', images: [{ bytes: png }] }]
    await collect(engine.generate({ messages, sampling: greedy(2) }))
    const out = await collect(engine.generate({ messages, sampling: greedy(2) }))
    expect(out.stats?.stopReason).toBe('eos')
    expect(sent).toEqual([[[true, refOf(png)]], [[false, refOf(png)]], [[true, refOf(png)]]])
  })
})
