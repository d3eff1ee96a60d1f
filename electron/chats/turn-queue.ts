// A conversation's turns are taken one at a time. A second question, edit or regenerate
// while an answer is being written in it (quick-ask still answering while the chat window
// asks a follow-up) interleaved the two: its question stored before the first answer, and
// asked without it. It now waits for that answer to be saved, then goes on from it; stopped
// while it waits, it ends having changed nothing.
import type { ChatChunk } from '../ipc/contract.js'

/** Runs `turn` once every turn of the conversation asked before it has ended; stopped while it waits, it never runs. */
export type InTurn = (chatId: string, signal: AbortSignal, turn: () => AsyncGenerator<ChatChunk>) => AsyncGenerator<ChatChunk>

export function createTurnQueue(): InTurn {
  const queues = new Map<string, Promise<void>>()
  return async function* inTurn(chatId, signal, turn) {
    const before = queues.get(chatId) ?? Promise.resolve()
    let end = (): void => undefined
    const mine = new Promise<void>((resolve) => (end = resolve))
    const queue = before.then(() => mine)
    queues.set(chatId, queue)
    try {
      await Promise.race([before, abortedOf(signal)])
      if (!signal.aborted) yield* turn()
    } finally {
      end()
      if (queues.get(chatId) === queue) queues.delete(chatId)
    }
  }
}

function abortedOf(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))
}
