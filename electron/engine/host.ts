// Entry of the engine process: an Electron utility process in the app, a forked Node
// process in tests. A native crash or out-of-memory here takes down this process only.
import { toWireError } from '../ipc/errors.js'
import { createEngine } from './engine.js'
import { keepPreparedImagesIn } from '../images/prepare.js'
import { removeOrphanMediaFolders, removeOwnMediaFoldersSync } from './server-media.js'
import type { FromEngine, ToEngine } from './protocol.js'
import type { GenerateChunk } from '../ipc/contract.js'

interface ParentPort {
  on(event: 'message', listener: (message: { data: unknown }) => void): void
  postMessage(message: unknown): void
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
const send: (message: FromEngine) => void = parentPort
  ? (m) => parentPort.postMessage(m)
  : (m) => {
      process.send?.(m)
    }
const onMessage = (listener: (m: ToEngine) => void): void => {
  if (parentPort) parentPort.on('message', (e) => listener(e.data as ToEngine))
  else process.on('message', (m) => listener(m as ToEngine))
}

const threads = process.env.ENGINE_THREADS ? Number(process.env.ENGINE_THREADS) : undefined
// Prepared images outlive this process there: a restarted app does not resize a conversation's screenshots again.
if (process.env.ENGINE_IMAGE_CACHE) keepPreparedImagesIn(process.env.ENGINE_IMAGE_CACHE)
const engine = createEngine({
  threads,
  log: (line) => send({ type: 'log', line }),
  onInfo: (info) => send({ type: 'info', info }),
  onLost: (message) => send({ type: 'lost', message }),
})
const generations = new Map<number, AbortController>()
/** One frame at 60 Hz: batching below what a person can see. */
const FLUSH_INTERVAL_MS = 16

async function run(message: ToEngine): Promise<void> {
  switch (message.type) {
    case 'load':
      return send({ id: message.id, type: 'result', value: await engine.load(message.request) })
    case 'unload':
      await engine.unload()
      return send({ id: message.id, type: 'result', value: null })
    case 'count':
      return send({ id: message.id, type: 'result', value: await engine.countTokens(message.text) })
    case 'forget':
      await engine.forgetImages(message.imageIds)
      return send({ id: message.id, type: 'result', value: null })
    case 'library':
      return send({ id: message.id, type: 'result', value: await engine.library(message.root, message.linked, message.options) })
    case 'cancel':
      generations.get(message.id)?.abort()
      return
    case 'generate': {
      const controller = new AbortController()
      generations.set(message.id, controller)
      // Throttled to one message per frame: the first tokens go out at once, later ones
      // travel together. A message per token (thousands a second) would cost the native
      // decode loop, which node-llama-cpp drives from this thread, more than decoding.
      let batch: GenerateChunk[] = []
      let timer: NodeJS.Timeout | null = null
      let lastFlush = 0
      const flush = (): void => {
        if (timer) clearTimeout(timer)
        timer = null
        if (batch.length === 0) return
        lastFlush = performance.now()
        send({ id: message.id, type: 'chunks', chunks: batch })
        batch = []
      }
      const schedule = (): void => {
        if (timer) return
        const wait = FLUSH_INTERVAL_MS - (performance.now() - lastFlush)
        if (wait <= 0) flush()
        else timer = setTimeout(flush, wait)
      }
      try {
        for await (const chunk of engine.generate(message.request, controller.signal, message.lane)) {
          batch.push(chunk)
          if (chunk.kind === 'done') flush()
          else schedule()
        }
        flush()
        send({ id: message.id, type: 'result', value: null })
      } finally {
        flush()
        generations.delete(message.id)
      }
    }
  }
}

onMessage((message) => {
  run(message).catch((error: unknown) => {
    if ('id' in message) send({ id: message.id, type: 'error', error: toWireError(error) })
  })
})

// Under Node, exit with the parent; Electron ends utility processes itself.
process.on('disconnect', () => process.exit(0))
// Electron ends a utility process with SIGTERM on quit (on POSIX; Windows ends it outright, and
// the next start's sweep takes its folder). By default that ends it without a word: its media
// folder, the pictures of every conversation asked about, stayed in the temporary folder.
process.on('SIGTERM', () => process.exit(0))
process.on('exit', () => removeOwnMediaFoldersSync())
void removeOrphanMediaFolders()

send({ type: 'ready', pid: process.pid })
