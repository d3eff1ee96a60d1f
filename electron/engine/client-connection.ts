// The engine process under EngineClient and the requests over it: the process started on
// first use, each request an id whose answer or stream of chunks is routed back, and every
// call in flight failed when the process ends or the engine is stopped. What an ended
// process means (a crash, a load stopped) is EngineClient's to decide.
import type { GenerateChunk, GenerateRequest } from '../ipc/contract.js'
import { AppError, fromWireError } from '../ipc/errors.js'
import { ChunkQueue } from './chunk-queue.js'
import { HeldImages } from './client-images.js'
import type { FromEngine, ToEngine } from './protocol.js'
import type { Lane } from './types.js'

export interface EngineProcess {
  send(message: ToEngine): void
  onMessage(listener: (message: FromEngine) => void): void
  onExit(listener: (code: number | null, signal: string | null) => void): void
  kill(): void
  readonly pid: number | undefined
}

export type SpawnEngine = () => EngineProcess

/** Requests that answer once (generate and cancel are streamed). */
type Call = 'load' | 'unload' | 'count' | 'library' | 'forget'
export type EngineCall = { [T in Call]: Omit<Extract<ToEngine, { type: T }>, 'id'> }[Call]

/** What the engine process says about itself rather than about a request. */
export type EngineNotice = Extract<FromEngine, { type: 'log' | 'info' | 'lost' }>

export interface ConnectionEvents {
  notice(message: EngineNotice): void
  /** The current process ended; the calls in flight still wait (failAll ends them). */
  exited(child: EngineProcess, code: number | null, signal: string | null): void
}

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
  onChunks?(chunks: GenerateChunk[]): void
}

export class EngineConnection {
  private current: EngineProcess | null = null
  private ready: Promise<void> | null = null
  private nextId = 1
  private pending = new Map<number, Pending>()
  private stoppedForGood = false
  /**
   * The images (by content key) the engine process has prepared for the loaded model: a
   * follow-up sends these by reference instead of moving every earlier screenshot into the
   * engine again (8 screenshots of 3 MB: 24 MB to copy and hash each turn). Forgotten with the
   * process and on every load; the engine says when one is no longer kept, and it is sent again.
   */
  readonly held = new HeldImages()

  constructor(
    private readonly spawn: SpawnEngine,
    private readonly events: ConnectionEvents,
  ) {}

  /** The engine process, while one runs. */
  get process(): EngineProcess | null {
    return this.current
  }

  /** Whether the engine was stopped for good (app quit). */
  get stopped(): boolean {
    return this.stoppedForGood
  }

  start(): Promise<void> {
    if (this.stoppedForGood) return Promise.reject(shutDown())
    if (this.ready) return this.ready
    // A new process holds no prepared image (its disk cache may; it says when it does not).
    this.held.clear()
    const child = this.spawn()
    this.current = child
    this.ready = new Promise<void>((resolve, reject) => {
      child.onMessage((message) => {
        if (message.type === 'ready') return resolve()
        if (message.type === 'log' || message.type === 'info' || message.type === 'lost') return this.events.notice(message)
        const pending = this.pending.get(message.id)
        if (!pending) return
        if (message.type === 'chunks') pending.onChunks?.(message.chunks)
        else {
          this.pending.delete(message.id)
          if (message.type === 'result') pending.resolve(message.value)
          else pending.reject(fromWireError(message.error))
        }
      })
      child.onExit((code, signal) => {
        reject(new AppError('engine-crashed', `The engine process could not start (exit ${code ?? signal}).`))
        if (this.current !== child) return
        this.current = null
        this.ready = null
        this.events.exited(child, code, signal)
      })
    })
    return this.ready
  }

  async call(message: EngineCall): Promise<unknown> {
    await this.start()
    const process = this.current
    if (!process) throw shutDown()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      process.send({ ...message, id } as ToEngine)
    })
  }

  /** One try at an answer, earlier images by reference unless whole (see held). */
  async *generate(request: GenerateRequest, signal: AbortSignal | undefined, lane: Lane, whole: boolean): AsyncGenerator<GenerateChunk> {
    await this.start()
    const id = this.nextId++
    const chunks = new ChunkQueue<GenerateChunk>()
    let tokensOut = 0
    const started = performance.now()
    const { wire, refs } = this.held.toWire(request, whole)
    const process = this.current
    if (!process) throw shutDown()
    let prepared = false

    this.pending.set(id, { resolve: () => chunks.end(), reject: (error) => chunks.end(error), onChunks: (c) => chunks.push(...c) })
    const cancel = (): void => this.current?.send({ id, type: 'cancel' })
    signal?.addEventListener('abort', cancel, { once: true })
    process.send({ id, type: 'generate', request: wire, lane })
    if (signal?.aborted) cancel()

    let ended = false
    try {
      for await (const chunk of chunks) {
        // Any event means the engine prepared every image: it holds them now, if it is still the same process.
        if (!prepared && this.current === process) {
          prepared = true
          for (const ref of refs) this.held.hold(ref)
        }
        if (chunk.kind === 'tokens') tokensOut += chunk.count
        yield chunk
      }
      ended = true
    } catch (error) {
      ended = true
      if (error instanceof AppError && error.code === 'engine-crashed' && tokensOut > 0) {
        // Keep what was said: end the answer as cut off instead of throwing it away.
        yield {
          kind: 'done',
          stats: {
            tokensIn: 0,
            tokensOut,
            imageTokens: 0,
            timeToFirstTokenMs: null,
            tokensPerSecond: null,
            totalMs: Math.round(performance.now() - started),
            stopReason: 'engine-crashed',
          },
        }
        return
      }
      throw error
    } finally {
      // A reader that stops reading (a break, or a throw in its loop, as a save of a conversation
      // deleted mid-answer did) ends the answer too: unread, it went on to its last token,
      // keeping the engine from the next question.
      if (!ended && this.current === process) cancel()
      signal?.removeEventListener('abort', cancel)
      this.pending.delete(id)
    }
  }

  /** Every call in flight ends with this error. */
  failAll(error: Error): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id)
      pending.reject(error)
    }
  }

  /** Stops the engine for good (app quit). */
  stop(): void {
    this.stoppedForGood = true
    // The process's exit is no longer watched (its exit handler ignores a process that is not current):
    // calls in flight end here, or they waited for ever.
    this.failAll(shutDown())
    this.current?.kill()
    this.current = null
    this.ready = null
  }
}

/** What a call gets once the engine is stopped for good (dispose). */
export const shutDown = (): AppError => new AppError('engine-crashed', 'The engine has been shut down.')
