// The "renderer" of the full-stack benchmark: a worker thread that receives stream
// events by structured clone over a MessagePort, as a renderer receives IPC, and
// consumes them through the real preload bridge.
import { parentPort, workerData } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import { createBridge } from '../electron/preload/bridge.js'
import type { GenerateRequest, Sampling, StreamEvent } from '../electron/ipc/contract.js'

const port = (workerData as { port: MessagePort }).port
let nextCall = 1
const calls = new Map<number, (value: unknown) => void>()
const listeners = new Map<string, (payload: unknown) => void>()
port.on('message', (m: { reply?: number; value?: unknown; channel?: string; payload?: unknown }) => {
  if (m.reply !== undefined) {
    calls.get(m.reply)?.(m.value)
    calls.delete(m.reply)
  } else listeners.get(m.channel!)?.(m.payload)
})
const bridge = createBridge({
  invoke: (channel, payload) =>
    new Promise((resolve) => {
      const id = nextCall++
      calls.set(id, resolve)
      port.postMessage({ call: id, channel, payload })
    }),
  on: (channel, listener) => {
    listeners.set(channel, listener)
    return () => listeners.delete(channel)
  },
})

interface Job {
  /** chat:generate (the engine's own stream) unless a conversation's chats:send is named. */
  channel?: 'chat:generate' | 'chats:send'
  request: GenerateRequest | { chatId: string; text: string; sampling: Sampling }
  cancelAfterTokens?: number
}

parentPort!.on('message', (job: Job) => {
  const started = performance.now()
  let firstAt: number | null = null
  let cancelledAt: number | null = null
  let tokens = 0
  const id = crypto.randomUUID()
  void bridge.stream(job.channel ?? 'chat:generate', id, job.request, (event: StreamEvent) => {
    const now = performance.now()
    if (event.type === 'chunk') {
      const chunk = event.chunk as { kind: string; count?: number; stats?: unknown; message?: { stats?: unknown } }
      if (chunk.kind === 'tokens') {
        firstAt ??= now
        tokens += chunk.count ?? 0
        if (job.cancelAfterTokens && tokens >= job.cancelAfterTokens && cancelledAt === null) {
          cancelledAt = now
          void bridge.cancel(id)
        }
      } else if (chunk.kind === 'done')
        parentPort!.postMessage({
          kind: 'done',
          // A conversation's final chunk carries the saved answer, and its stats.
          stats: chunk.stats ?? chunk.message?.stats,
          tokens,
          totalMs: now - started,
          firstMs: firstAt === null ? null : firstAt - started,
          cancelToDoneMs: cancelledAt === null ? null : now - cancelledAt,
        })
    } else if (event.type === 'error') parentPort!.postMessage({ kind: 'error', error: event.error })
  })
})
