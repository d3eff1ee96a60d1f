// The main-process side of the OCR worker: one read at a time (onnxruntime runs one thread
// here, so reads in parallel would only slow each other), a stop that takes effect between
// the recogniser's stages, and a worker that is replaced when it dies or stops answering.
import { Worker } from 'node:worker_threads'
import type { OcrResult } from './types.js'
import type { FromOcrWorker, OcrWorkerData, ToOcrWorker } from './worker-protocol.js'
import type { TextReader } from './text-layer.js'

/** The worker electron-vite builds beside main's bundle. */
export const OCR_WORKER_BUILT = new URL('./ocr-worker.js', import.meta.url)
const OCR_WORKER_SOURCE = new URL('./worker.ts', import.meta.url)

/** How long a cancelled read may take to notice before its worker is replaced. */
const CANCEL_GRACE_MS = 2000

export interface WorkerReaderOptions {
  /** The built worker (the app); absent: the TypeScript source through tsx (tests, scripts). */
  workerUrl?: URL
  threads?: number
}

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

export function createWorkerReader(options: WorkerReaderOptions = {}): TextReader {
  const data: OcrWorkerData = { threads: options.threads ?? 1 }
  let worker: Worker | null = null
  let nextId = 1
  const queue: Job[] = []
  let current: { job: Job; grace: NodeJS.Timeout | null; onAbort: () => void } | null = null
  let closed = false

  function spawn(): Worker {
    const w = options.workerUrl
      ? new Worker(options.workerUrl, { workerData: data })
      : // tsx's loader hooks do not reach a worker's entry file, so the source worker starts from a
        // small script that registers them first.
        new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(OCR_WORKER_SOURCE.href)}) })`,
          { eval: true, workerData: data },
        )
    w.on('message', (message: FromOcrWorker) => {
      if (!current || message.id !== current.job.id) return
      const { job } = current
      if (message.kind === 'result') finish(() => job.resolve(message.result))
      else finish(() => job.reject(message.aborted ? new OcrAbortError() : new Error(message.message)))
    })
    const gone = (reason: string): void => {
      if (worker !== w) return
      worker = null
      if (current) {
        const { job } = current
        finish(() => job.reject(job.signal?.aborted ? new OcrAbortError() : new Error(`The text layer stopped: ${reason}`)))
      }
    }
    w.on('error', (error) => gone(error.message))
    w.on('exit', (code) => gone(`its worker exited (code ${code})`))
    // An idle worker must not keep a script (the CLI, a benchmark) alive.
    w.unref()
    return w
  }

  function finish(settle: () => void): void {
    if (!current) return
    if (current.grace) clearTimeout(current.grace)
    current.job.signal?.removeEventListener('abort', current.onAbort)
    current = null
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
    worker ??= spawn()
    const w = worker
    const onAbort = (): void => {
      w.postMessage({ kind: 'cancel', id: job.id } satisfies ToOcrWorker)
      // A read stuck inside one stage cannot see the signal: its worker goes, a new one reads next.
      if (current) current.grace = setTimeout(() => void w.terminate(), CANCEL_GRACE_MS)
    }
    current = { job, grace: null, onAbort }
    job.signal?.addEventListener('abort', onAbort, { once: true })
    w.ref()
    w.postMessage({ kind: 'read', id: job.id, bytes: job.bytes } satisfies ToOcrWorker)
  }

  return {
    read(bytes, signal) {
      if (closed) return Promise.reject(new Error('The text layer is closed.'))
      return new Promise<OcrResult>((resolve, reject) => {
        const job: Job = {
          id: nextId++,
          bytes,
          signal,
          resolve: (r) => {
            worker?.unref()
            resolve(r)
          },
          reject: (e) => {
            worker?.unref()
            reject(e)
          },
        }
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
    async close() {
      closed = true
      for (const job of queue.splice(0)) job.reject(new Error('The text layer is closed.'))
      const w = worker
      worker = null
      if (current) {
        const { job } = current
        finish(() => job.reject(new Error('The text layer is closed.')))
      }
      await w?.terminate()
    },
  }
}
