// Main's handle on the engine process: requests and streams over messages, and
// recovery when the process dies (native crash, out of memory, killed): pending calls
// fail with a clear error, a running answer ends marked as cut off, and a fresh
// process reloads the last model so the next request works. The process and the messages
// over it are in client-connection.ts; the images sent by reference, in client-images.ts.
import type { EngineInfo, EngineState, GenerateChunk, LoadRequest, GenerateRequest, LibraryScan } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { EngineConnection, shutDown, type EngineNotice, type EngineProcess, type SpawnEngine } from './client-connection.js'
import type { Lane, LibraryOptions } from './types.js'
import { DeathCount } from './death-count.js'

export type { EngineProcess, SpawnEngine } from './client-connection.js'

export interface EngineClientOptions {
  spawn: SpawnEngine
  onState?(state: EngineState): void
  log?(line: string): void
}

export class EngineClient {
  private readonly connection: EngineConnection
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
  /**
   * The load under way in the engine process, and the process it runs in: what Stop loading
   * ends. A native load has no way to be interrupted (and a hung one never returns), so
   * stopping it ends its process; a process ended that way is not counted as a crash.
   */
  private loading: { process: EngineProcess; request: LoadRequest } | null = null
  private readonly stoppedOnPurpose = new WeakSet<EngineProcess>()

  constructor(private readonly options: EngineClientOptions) {
    this.connection = new EngineConnection(options.spawn, {
      notice: (message) => this.notice(message),
      exited: (child, code, signal) => this.handleExit(child, code, signal),
    })
  }

  state(): EngineState {
    return this.current
  }

  get pid(): number | undefined {
    return this.connection.process?.pid
  }

  load(request: LoadRequest): Promise<EngineInfo> {
    this.setState({ state: 'loading', modelPath: request.modelPath })
    return this.inTurn(() => this.loadNow(request))
  }

  unload(): Promise<EngineState> {
    return this.inTurn(async () => {
      this.connection.held.clear()
      this.lastLoad = null
      this.holding = false
      if (this.connection.process) await this.connection.call({ type: 'unload' })
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
    await this.connection.start()
    const process = this.connection.process
    if (!process) throw shutDown()
    const loading = { process, request }
    this.loading = loading
    try {
      return (await this.connection.call({ type: 'load', request })) as EngineInfo
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
    this.connection.held.clear()
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
    return (await this.connection.call({ type: 'count', text })) as number
  }

  /**
   * The engine's copies of these pictures go (a deleted conversation's): the files its vision
   * server reads them from. By content key, or the chat store's image ids (the keys' first 32
   * digits). Without an engine process there are none: a process that ended left its folder to
   * the next one, which removes it as it starts a vision server.
   */
  async forgetImages(imageIds: string[]): Promise<void> {
    if (!imageIds.length || !this.connection.process) return
    await this.connection.call({ type: 'forget', imageIds })
  }

  async library(root: string | null, linked: string[], options: LibraryOptions = {}): Promise<LibraryScan> {
    return (await this.connection.call({ type: 'library', root, linked, options })) as LibraryScan
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
        for await (const chunk of this.connection.generate(request, signal, lane, whole)) {
          produced = true
          yield chunk
        }
        return
      } catch (error) {
        if (produced || signal?.aborted || !(error instanceof AppError)) throw error
        if (error.code === 'image-not-held' && !whole) {
          this.connection.held.clear()
          whole = true
          continue
        }
        if (error.code !== 'engine-crashed' || crashRetried || this.connection.stopped || !this.lastLoad) throw error
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
    while (this.lastLoad && !this.holding && !this.connection.stopped) {
      const queued = this.loads
      await queued
      if (queued === this.loads) return
    }
  }

  /** Stops the engine for good (app quit). */
  async dispose(): Promise<void> {
    this.connection.stop()
  }

  /** Kills the engine process as a crash would; for tests and a stuck native call. */
  killForTesting(): void {
    this.connection.process?.kill()
  }

  private setState(state: EngineState): void {
    this.current = state
    this.options.onState?.(state)
  }

  /** What the engine process says about itself rather than about a request. */
  private notice(message: EngineNotice): void {
    if (message.type === 'log') return this.options.log?.(message.line)
    if (message.type === 'info') {
      if (this.current.state === 'ready') this.setState({ state: 'ready', info: message.info })
      return
    }
    // As after a failed reload: no model, and the reason, rather than a model shown ready that fails every question.
    this.lastLoad = null
    this.holding = false
    this.settle({ state: 'error', message: message.message })
  }

  /** The current engine process ended (the connection has let go of it): why, and what comes next. */
  private handleExit(child: EngineProcess, code: number | null, signal: string | null): void {
    this.holding = false
    const how = signal ? `was killed (${signal})` : `exited with code ${code}`
    const onPurpose = this.stoppedOnPurpose.has(child)
    const error = onPurpose
      ? new AppError('load-cancelled', 'Loading the model was stopped.')
      : new AppError('engine-crashed', `The engine process ${how}. It has been restarted; try again.`)
    this.connection.failAll(error)
    if (this.connection.stopped) return
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
      if (attempt !== this.reloadAttempt || this.connection.stopped || !request || this.holding) return
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
