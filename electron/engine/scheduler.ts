// One generation at a time on the engine, shared by the chat window and the local API.
// The window's requests go first whenever the engine frees up, so API traffic can never
// starve the person at the keyboard; API requests wait in arrival order, up to a limit.
import type { GenerateChunk, GenerateRequest } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { Lane } from './types.js'

export type { Lane }

export interface Generator {
  generate(request: GenerateRequest, signal?: AbortSignal, lane?: Lane): AsyncIterable<GenerateChunk>
}

interface Waiter {
  lane: Lane
  start: () => void
}

export class GenerationScheduler {
  private busy = false
  private waiting: Waiter[] = []

  constructor(
    private readonly engine: Generator,
    /**
     * API requests allowed to wait at once; more are refused (HTTP 429). It bounds memory, not
     * clients: a client that cancels and asks again at once holds two places until the server
     * sees its first socket close, so the bound sits well above the clients one machine serves.
     */
    readonly maxApiQueue = 64,
  ) {}

  queued(lane?: Lane): number {
    return lane ? this.waiting.filter((w) => w.lane === lane).length : this.waiting.length
  }

  /**
   * `stillWanted` runs when the request's turn comes, before the engine gets it, and throws to
   * refuse it: what held when it was queued may not hold after the wait (another model loaded).
   */
  async *generate(
    lane: Lane,
    request: GenerateRequest,
    signal: AbortSignal = new AbortController().signal,
    stillWanted?: () => void,
  ): AsyncGenerator<GenerateChunk> {
    await this.acquire(lane, signal)
    try {
      stillWanted?.()
      yield* this.engine.generate(request, signal, lane)
    } finally {
      this.release()
    }
  }

  private acquire(lane: Lane, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new AppError('busy', 'The request was cancelled before it started.'))
    if (!this.busy && this.waiting.length === 0) {
      this.busy = true
      return Promise.resolve()
    }
    if (lane === 'api' && this.queued('api') >= this.maxApiQueue) {
      return Promise.reject(new AppError('busy', `The model is busy: ${this.maxApiQueue} requests are already waiting. Try again shortly.`))
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { lane, start: resolve }
      // The window's requests wait ahead of every API request, behind earlier window requests.
      if (lane === 'ui') {
        const firstApi = this.waiting.findIndex((w) => w.lane === 'api')
        this.waiting.splice(firstApi < 0 ? this.waiting.length : firstApi, 0, waiter)
      } else this.waiting.push(waiter)
      signal.addEventListener(
        'abort',
        () => {
          const at = this.waiting.indexOf(waiter)
          if (at < 0) return
          this.waiting.splice(at, 1)
          reject(new AppError('busy', 'The request was cancelled while it waited.'))
        },
        { once: true },
      )
    })
  }

  private release(): void {
    const next = this.waiting.shift()
    if (next) next.start()
    else this.busy = false
  }
}
