// The main-process side of the text layer's process: one read at a time (onnxruntime runs
// one thread there, so reads in parallel would only slow each other), a stop that takes
// effect between the recogniser's stages, and a process that is replaced when it dies or
// stops answering. Started on the first read, not with the app; started again with the new
// recogniser when the language changes (reload), once the read in progress has finished.
import type { OcrResult } from './types.js'
import type { FromOcrHost, OcrProcess, SpawnOcr } from './protocol.js'
import type { TextReader } from './text-layer.js'

/** How long a cancelled read may take to notice before its process is replaced. */
const CANCEL_GRACE_MS = 2000
/** How long a cancelled read may wait for its process to load: twice the host's own load limit. */
const LOAD_GRACE_MS = 30_000

interface Job {
  id: number
  bytes: Uint8Array
  signal: AbortSignal | undefined
  resolve: (result: OcrResult) => void
  reject: (error: Error) => void
}

export class OcrAbortError extends Error {
  override name = 'AbortError'
  constructor() {
    super('The text layer stopped reading.')
  }
}

export interface ProcessReaderOptions {
  /** The process loaded its recogniser: which language pack, and why not the one asked for. */
  onReady?(status: { pack: string; problem: string | null }): void
  /** The process ended before it had loaded its recogniser (a damaged file crashing it): the
   *  pack it was handed did not load; `why` is a phrase, e.g. "its process stopped (code 3)". */
  onLoadFailed?(why: string): void
}

export function createProcessReader(spawn: SpawnOcr, options: ProcessReaderOptions = {}): TextReader {
  let host: OcrProcess | null = null
  let nextId = 1
  const queue: Job[] = []
  let current: { job: Job; process: OcrProcess; grace: NodeJS.Timeout | null; onAbort: () => void } | null = null
  let closed = false
  /** Processes that said their recogniser is loaded. */
  const loaded = new WeakSet<OcrProcess>()

  function start(): OcrProcess {
    const p = spawn()
    p.onMessage((message: FromOcrHost) => {
      if (message.kind === 'ready') {
        loaded.add(p)
        // A stop that came while it loaded: the usual grace, from now (see pump).
        if (current?.process === p && current.grace) {
          clearTimeout(current.grace)
          current.grace = setTimeout(() => p.kill(), CANCEL_GRACE_MS)
        }
        // A process already replaced (reload) speaks for a recogniser no longer wanted.
        if (host === p) options.onReady?.({ pack: message.pack, problem: message.problem })
        return
      }
      if (!current || message.id !== current.job.id) return
      const { job } = current
      if (message.kind === 'result') finish(() => job.resolve(message.result))
      else finish(() => job.reject(message.aborted ? new OcrAbortError() : new Error(message.message)))
    })
    p.onExit((code) => {
      // Ended while loading (on its own, or stuck past LOAD_GRACE_MS; one replaced or closed is
      // no longer the host): its pack would crash every process it is handed to, and no 'ready'
      // ever told the language service so.
      if (host === p && !closed && !loaded.has(p)) options.onLoadFailed?.(`its process stopped while loading it (code ${code})`)
      if (host === p) host = null
      // A replaced process may still be finishing the read in progress: its end ends that read.
      if (current && current.process === p) {
        const { job } = current
        finish(() =>
          job.reject(job.signal?.aborted ? new OcrAbortError() : new Error(`The text layer stopped: its process exited (code ${code}).`)),
        )
      }
    })
    return p
  }

  function finish(settle: () => void): void {
    if (!current) return
    const { job, process: p, grace, onAbort } = current
    if (grace) clearTimeout(grace)
    job.signal?.removeEventListener('abort', onAbort)
    current = null
    // Replaced while it read (reload): it goes now that its read is done (its exit finds no read left to end).
    if (p !== host) p.kill()
    settle()
    pump()
  }

  function pump(): void {
    if (current || closed) return
    const job = queue.shift()
    if (!job) return
    if (job.signal?.aborted) {
      job.reject(new OcrAbortError())
      pump()
      return
    }
    host ??= start()
    const p = host
    const onAbort = (): void => {
      p.send({ kind: 'cancel', id: job.id })
      // A read stuck inside one stage cannot see the signal: its process goes, a new one reads next.
      // One still loading its recogniser sees the stop once loaded (its host bounds the load):
      // ending it now would only make the next read load it all again. Still loading much later,
      // it is stuck where its own limit cannot act, and ends as a load failure.
      if (current) current.grace = setTimeout(() => p.kill(), loaded.has(p) ? CANCEL_GRACE_MS : LOAD_GRACE_MS)
    }
    current = { job, process: p, grace: null, onAbort }
    job.signal?.addEventListener('abort', onAbort, { once: true })
    p.send({ kind: 'read', id: job.id, bytes: job.bytes })
  }

  return {
    read(bytes, signal) {
      if (closed) return Promise.reject(new Error('The text layer is closed.'))
      return new Promise<OcrResult>((resolve, reject) => {
        const job: Job = { id: nextId++, bytes, signal, resolve, reject }
        // A queued read that is stopped leaves the queue at once.
        signal?.addEventListener(
          'abort',
          () => {
            const at = queue.indexOf(job)
            if (at >= 0) {
              queue.splice(at, 1)
              reject(new OcrAbortError())
            }
          },
          { once: true },
        )
        queue.push(job)
        pump()
      })
    },
    reload() {
      // The next read starts a process with the recogniser wanted now; one reading finishes first.
      const p = host
      host = null
      if (p && current?.process !== p) p.kill()
    },
    async close() {
      closed = true
      for (const job of queue.splice(0)) job.reject(new Error('The text layer is closed.'))
      const p = host
      host = null
      if (current) {
        const { job } = current
        finish(() => job.reject(new Error('The text layer is closed.')))
      }
      p?.kill()
    },
  }
}
