// Main's handle on the engine process: requests and streams over messages, and
// recovery when the process dies (native crash, out of memory, killed): pending calls
// fail with a clear error, a running answer ends marked as cut off, and a fresh
// process reloads the last model so the next request works.
import type { EngineInfo, EngineState, GenerateChunk, LoadRequest, GenerateRequest, LibraryScan } from '../ipc/contract.js'
import { AppError, fromWireError } from '../ipc/errors.js'
import { ChunkQueue } from './chunk-queue.js'
import type { FromEngine, ToEngine } from './protocol.js'
import type { EngineRequest, Lane, LibraryOptions } from './types.js'
import { refOf } from '../images/prepared-cache.js'
import { DeathCount } from './death-count.js'

export interface EngineProcess {
  send(message: ToEngine): void
  onMessage(listener: (message: FromEngine) => void): void
  onExit(listener: (code: number | null, signal: string | null) => void): void
  kill(): void
  readonly pid: number | undefined
}

export type SpawnEngine = () => EngineProcess

/** Requests that answer once (generate and cancel are streamed). */
type Call = 'load' | 'unload' | 'count' | 'library'
type EngineCall = { [T in Call]: Omit<Extract<ToEngine, { type: T }>, 'id'> }[Call]

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
  onChunks?(chunks: GenerateChunk[]): void
}

export interface EngineClientOptions {
  spawn: SpawnEngine
  onState?(state: EngineState): void
  log?(line: string): void
}

export class EngineClient {
  private process: EngineProcess | null = null
  private ready: Promise<void> | null = null
  private nextId = 1
  private pending = new Map<number, Pending>()
  /** The model the engine holds, or is bringing back after a crash; null when it holds none. */
  private lastLoad: LoadRequest | null = null
  private current: EngineState = { state: 'idle' }
  /** Where the engine stands without a load in flight: what a refused file leaves shown. */
  private settled: EngineState = { state: 'idle' }
  /**
   * Loads, unloads and crash reloads run one after another. Overlapping, a failed load's
   * restore of the previous model was queued behind a newer load and replaced it, and the
   * client believed the newer model was loaded.
   */
  private loads: Promise<unknown> = Promise.resolve()
  /** Loads and unloads asked for and not yet begun: while one waits, it decides what is loaded. */
  private waiting = 0
  /** Whether the current engine process holds lastLoad (a fresh one holds nothing until reloaded). */
  private holding = false
  /** Tags each crash reload: only the newest one acts and sets the state. */
  private reloadAttempt = 0
  /** A model that takes the engine process down each time it is brought back is not brought back for ever. */
  private readonly deaths = new DeathCount(3, 60_000)
  private stopped = false
  /**
   * The load under way in the engine process, and the process it runs in: what Stop loading
   * ends. A native load has no way to be interrupted (and a hung one never returns), so
   * stopping it ends its process; a process ended that way is not counted as a crash.
   */
  private loading: { process: EngineProcess; request: LoadRequest } | null = null
  private readonly stoppedOnPurpose = new WeakSet<EngineProcess>()
  /**
   * The images (by content key) the engine process has prepared for the loaded model: a
   * follow-up sends these by reference instead of moving every earlier screenshot into the
   * engine again (8 screenshots of 3 MB: 24 MB to copy and hash each turn). Forgotten with the
   * process and on every load; the engine says when one is no longer kept, and it is sent again.
   */
  private held = new Set<string>()

  constructor(private readonly options: EngineClientOptions) {}

  state(): EngineState {
    return this.current
  }

  get pid(): number | undefined {
    return this.process?.pid
  }

  load(request: LoadRequest): Promise<EngineInfo> {
    this.setState({ state: 'loading', modelPath: request.modelPath })
    return this.inTurn(() => this.loadNow(request))
  }

  unload(): Promise<EngineState> {
    return this.inTurn(async () => {
      this.held.clear()
      this.lastLoad = null
      this.holding = false
      if (this.process) await this.call({ type: 'unload' })
      this.settle({ state: 'idle' })
      return this.current
    })
  }

  /**
   * Ends the load under way (a model far too slow to load, or a load that never returns: a
   * network drive gone, a driver stuck) by ending the engine process that runs it. The model
   * loaded before it, if any, is brought back in a fresh process, as after a failed load; a
   * model being brought back is not. The load's caller gets a load-cancelled error.
   * Nothing happens when no load is under way.
   */
  cancelLoad(): EngineState {
    const loading = this.loading
    if (!loading) return this.current
    this.loading = null
    // A reload of the model that was loaded (after a crash or a failed load) is that model's load: stopped, it is not tried again.
    if (this.lastLoad === loading.request) this.lastLoad = null
    this.stoppedOnPurpose.add(loading.process)
    loading.process.kill()
    return this.current
  }

  /** Asks the engine process to load a model, as the load under way (cancelLoad). */
  private async loadCall(request: LoadRequest): Promise<EngineInfo> {
    await this.start()
    const process = this.process
    if (!process) throw shutDown()
    const loading = { process, request }
    this.loading = loading
    try {
      return (await this.call({ type: 'load', request })) as EngineInfo
    } finally {
      if (this.loading === loading) this.loading = null
    }
  }

  /** A load or unload the user asked for, after those before it have finished. */
  private inTurn<T>(task: () => Promise<T>): Promise<T> {
    this.waiting++
    return this.serial(() => {
      this.waiting--
      return task()
    })
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.loads.then(task, task)
    this.loads = run.catch(() => undefined)
    return run
  }

  /** Records where the engine stands, and shows it unless a load or unload waits its turn (it shows loading). */
  private settle(state: EngineState): void {
    this.settled = state
    if (this.waiting === 0) this.setState(state)
  }

  private async loadNow(request: LoadRequest): Promise<EngineInfo> {
    this.held.clear()
    try {
      const info = await this.loadCall(request)
      this.lastLoad = request
      this.holding = true
      this.settle({ state: 'ready', info })
      return info
    } catch (error) {
      // A refused file leaves the previous model loaded: the engine checks files before unloading.
      if (error instanceof AppError && (error.code === 'bad-model-file' || error.code === 'mmproj-mismatch')) {
        if (this.waiting === 0) this.setState(this.settled)
        throw error
      }
      // The process died, or was ended to stop this load: handleExit has said so and brings lastLoad back.
      if (processEnded(error)) throw error
      // Any other failure happened after the previous model was unloaded: bring it back,
      // unless a later load or unload is waiting, which decides what is loaded instead.
      const previous = this.lastLoad
      this.holding = false
      if (previous && this.waiting === 0) {
        try {
          const info = await this.loadCall(previous)
          this.holding = true
          this.settle({ state: 'ready', info })
        } catch (restoreError) {
          // Died while restoring: handleExit brings it back in the fresh process (or, stopped, says nothing is loaded).
          if (!processEnded(restoreError)) {
            this.lastLoad = null
            this.settle({ state: 'idle' })
          }
        }
      } else {
        this.lastLoad = null
        this.settle({ state: 'idle' })
      }
      throw error
    }
  }

  async countTokens(text: string): Promise<number> {
    return (await this.call({ type: 'count', text })) as number
  }

  async library(root: string | null, linked: string[], options: LibraryOptions = {}): Promise<LibraryScan> {
    return (await this.call({ type: 'library', root, linked, options })) as LibraryScan
  }

  /**
   * Streams an answer. If the engine process dies before the first token (a native crash,
   * or the engine restarting itself to recover), the request runs once more in the fresh
   * process, which has reloaded the model; an answer cut off later keeps what it said.
   */
  async *generate(request: GenerateRequest, signal?: AbortSignal, lane: Lane = 'ui'): AsyncGenerator<GenerateChunk> {
    let produced = false
    let crashRetried = false
    let whole = false
    for (;;) {
      await this.modelBack()
      // After a crash whose reload failed, say that rather than a bare "no model is loaded".
      const now = this.state()
      if (now.state === 'error') throw new AppError('no-model', now.message)
      try {
        for await (const chunk of this.generateOnce(request, signal, lane, whole)) {
          produced = true
          yield chunk
        }
        return
      } catch (error) {
        if (produced || signal?.aborted || !(error instanceof AppError)) throw error
        if (error.code === 'image-not-held' && !whole) {
          this.held.clear()
          whole = true
          continue
        }
        if (error.code !== 'engine-crashed' || crashRetried || this.stopped || !this.lastLoad) throw error
        crashRetried = true
      }
    }
  }

  /**
   * Waits while the model is being brought back after a crash: a question sent meanwhile went
   * to the fresh process before the model was in it and was refused with "no model is loaded"
   * (as was the retry of an answer the crash cut before its first token). Follows reloads that
   * crash again, and stops when the model is held, given up on, or nothing more is queued.
   */
  private async modelBack(): Promise<void> {
    while (this.lastLoad && !this.holding && !this.stopped) {
      const queued = this.loads
      await queued
      if (queued === this.loads) return
    }
  }

  /** The request as the engine process gets it: each image with its content key, and its bytes unless held (or whole). */
  private toWire(request: GenerateRequest, whole: boolean): { wire: EngineRequest; refs: string[] } {
    const refs: string[] = []
    const messages = request.messages.map((m) => {
      if (!m.images?.length) return m
      const images = m.images.map((image) => {
        const ref = refOf(image.bytes)
        refs.push(ref)
        return !whole && this.held.has(ref) ? { ref, ...(image.name ? { name: image.name } : {}) } : { ...image, ref }
      })
      return { ...m, images }
    })
    return { wire: { ...request, messages }, refs }
  }

  private async *generateOnce(
    request: GenerateRequest,
    signal: AbortSignal | undefined,
    lane: Lane,
    whole: boolean,
  ): AsyncGenerator<GenerateChunk> {
    await this.start()
    const id = this.nextId++
    const chunks = new ChunkQueue<GenerateChunk>()
    let tokensOut = 0
    const started = performance.now()
    const { wire, refs } = this.toWire(request, whole)
    const process = this.process
    if (!process) throw shutDown()
    let prepared = false

    this.pending.set(id, { resolve: () => chunks.end(), reject: (error) => chunks.end(error), onChunks: (c) => chunks.push(...c) })
    const cancel = (): void => this.process?.send({ id, type: 'cancel' })
    signal?.addEventListener('abort', cancel, { once: true })
    process.send({ id, type: 'generate', request: wire, lane })
    if (signal?.aborted) cancel()

    let ended = false
    try {
      for await (const chunk of chunks) {
        // Any event means the engine prepared every image: it holds them now, if it is still the same process.
        if (!prepared && this.process === process) {
          prepared = true
          for (const ref of refs) this.hold(ref)
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
      if (!ended && this.process === process) cancel()
      signal?.removeEventListener('abort', cancel)
      this.pending.delete(id)
    }
  }

  /** Stops the engine for good (app quit). */
  async dispose(): Promise<void> {
    this.stopped = true
    // The process's exit is no longer watched (handleExit ignores a process that is not current):
    // calls in flight end here, or they waited for ever.
    const error = shutDown()
    for (const [id, pending] of this.pending) {
      this.pending.delete(id)
      pending.reject(error)
    }
    this.process?.kill()
    this.process = null
    this.ready = null
  }

  /** Kills the engine process as a crash would; for tests and a stuck native call. */
  killForTesting(): void {
    this.process?.kill()
  }

  private setState(state: EngineState): void {
    this.current = state
    this.options.onState?.(state)
  }

  private async call(message: EngineCall): Promise<unknown> {
    await this.start()
    const process = this.process
    if (!process) throw shutDown()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      process.send({ ...message, id } as ToEngine)
    })
  }

  /** Bounded, oldest first: a key the engine has let go of costs one refusal, then the bytes go again. */
  private hold(ref: string): void {
    this.held.delete(ref)
    this.held.add(ref)
    if (this.held.size > 1024) this.held.delete(this.held.values().next().value!)
  }

  private start(): Promise<void> {
    if (this.stopped) return Promise.reject(shutDown())
    if (this.ready) return this.ready
    // A new process holds no prepared image (its disk cache may; it says when it does not).
    this.held.clear()
    const child = this.options.spawn()
    this.process = child
    this.ready = new Promise<void>((resolve, reject) => {
      child.onMessage((message) => {
        if (message.type === 'ready') return resolve()
        if (message.type === 'log') return this.options.log?.(message.line)
        if (message.type === 'info') {
          if (this.current.state === 'ready') this.setState({ state: 'ready', info: message.info })
          return
        }
        if (message.type === 'lost') {
          // As after a failed reload: no model, and the reason, rather than a model shown ready that fails every question.
          this.lastLoad = null
          this.holding = false
          this.settle({ state: 'error', message: message.message })
          return
        }
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
        this.handleExit(child, code, signal)
      })
    })
    return this.ready
  }

  private handleExit(child: EngineProcess, code: number | null, signal: string | null): void {
    if (this.process !== child) return
    this.process = null
    this.ready = null
    this.holding = false
    const how = signal ? `was killed (${signal})` : `exited with code ${code}`
    const onPurpose = this.stoppedOnPurpose.has(child)
    const error = onPurpose
      ? new AppError('load-cancelled', 'Loading the model was stopped.')
      : new AppError('engine-crashed', `The engine process ${how}. It has been restarted; try again.`)
    for (const [id, pending] of this.pending) {
      this.pending.delete(id)
      pending.reject(error)
    }
    if (this.stopped) return
    if (onPurpose) {
      // Not a crash: the model loaded before comes back, or nothing is loaded, as the user chose.
      const previous = this.lastLoad
      this.settle(previous ? { state: 'loading', modelPath: previous.modelPath } : { state: 'idle' })
      if (previous) this.reloadInTurn()
      return
    }
    if (this.lastLoad && this.deaths.record()) {
      // Each fresh process died too, most likely bringing this model back: stop, and say so.
      this.lastLoad = null
      this.settle({
        state: 'error',
        message: `The engine process stopped ${this.deaths.limit} times within a minute, so the model was not loaded again. Load it again to retry, or choose another model.`,
      })
      return
    }
    const reload = this.lastLoad
    this.settle({ state: 'crashed', message: error.message, restarting: reload !== null })
    if (reload) this.reloadInTurn()
  }

  /**
   * Brings the last model back in a fresh process so the next request just works. In turn
   * with loads: a load already waiting goes after it (and a failure there restores it).
   */
  private reloadInTurn(): void {
    const attempt = ++this.reloadAttempt
    void this.serial(async () => {
      // A newer crash has its own attempt; a load or unload since then has decided, or holds the model already.
      const request = this.lastLoad
      if (attempt !== this.reloadAttempt || this.stopped || !request || this.holding) return
      try {
        const info = await this.loadCall(request)
        if (attempt !== this.reloadAttempt) return
        this.holding = true
        this.settle({ state: 'ready', info })
      } catch (reloadError) {
        // This process died as well (or was ended to stop this load): its exit started the next attempt, or gave up, and says what happened.
        if (attempt !== this.reloadAttempt || processEnded(reloadError)) return
        this.lastLoad = null
        this.settle({
          state: 'error',
          message: `The engine restarted but the model could not be reloaded: ${reloadError instanceof Error ? reloadError.message : String(reloadError)}`,
        })
      }
    })
  }
}

/** The engine process ended under a call (a crash, or a load stopped): its exit has said so and decides what comes next. */
function processEnded(error: unknown): boolean {
  return error instanceof AppError && (error.code === 'engine-crashed' || error.code === 'load-cancelled')
}

/** What a call gets once the engine is stopped for good (dispose). */
const shutDown = (): AppError => new AppError('engine-crashed', 'The engine has been shut down.')
