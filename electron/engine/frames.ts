// Tokens travel to the window at most once a frame, as the engine process sends its own
// (host.ts): a fast server streams thousands of tokens a second, one network read each, and a
// chunk per token through the chat service, main's router and IPC costs more than it shows.
import type { GenerateChunk } from '../ipc/contract.js'
import { ChunkQueue } from './chunk-queue.js'

/** One frame at 60 Hz: batching below what a person can see. */
export const FRAME_MS = 16

/** The same stream with the tokens of each frame merged: the first at once, the rest at most every intervalMs. */
export async function* framed(source: AsyncIterable<GenerateChunk>, intervalMs = FRAME_MS): AsyncGenerator<GenerateChunk> {
  const out = new ChunkQueue<GenerateChunk>()
  let pending: { text: string; count: number } | null = null
  let timer: NodeJS.Timeout | null = null
  let lastFlush = -Infinity
  const flush = (): void => {
    if (timer) clearTimeout(timer)
    timer = null
    if (pending) out.push({ kind: 'tokens', ...pending })
    pending = null
    lastFlush = performance.now()
  }
  const iterator = source[Symbol.asyncIterator]()
  const pump = (async () => {
    try {
      for (;;) {
        const next = await iterator.next()
        if (next.done) break
        const chunk = next.value
        if (chunk.kind !== 'tokens') {
          flush()
          out.push(chunk)
          continue
        }
        pending = pending
          ? { text: pending.text + chunk.text, count: pending.count + chunk.count }
          : { text: chunk.text, count: chunk.count }
        const wait = intervalMs - (performance.now() - lastFlush)
        if (wait <= 0) flush()
        else timer ??= setTimeout(flush, wait)
      }
      flush()
      out.end()
    } catch (error) {
      // Tokens that arrived before a failure are the partial answer: they go first.
      flush()
      out.end(error)
    }
  })()
  try {
    yield* out
  } finally {
    if (timer) clearTimeout(timer)
    // A consumer that stops early stops the source too.
    await iterator.return?.()
    await pump
  }
}
