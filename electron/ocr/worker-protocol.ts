// Messages between the main process and the OCR worker thread.
import type { OcrResult } from './types.js'

export interface OcrWorkerData {
  /** onnxruntime's intra-op threads: one, so the engine keeps the other cores. */
  threads: number
}

export type ToOcrWorker = { kind: 'read'; id: number; bytes: Uint8Array } | { kind: 'cancel'; id: number }

export type FromOcrWorker =
  { kind: 'result'; id: number; result: OcrResult } | { kind: 'error'; id: number; message: string; aborted: boolean }
