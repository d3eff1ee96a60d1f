// Messages between the main process and the text layer's process.
import type { OcrResult } from './types.js'

export type ToOcrHost = { kind: 'read'; id: number; bytes: Uint8Array } | { kind: 'cancel'; id: number }

export type FromOcrHost =
  { kind: 'result'; id: number; result: OcrResult } | { kind: 'error'; id: number; message: string; aborted: boolean }

/** The text layer's process as main sees it: a Node fork in tests and scripts, a utility process in the app. */
export interface OcrProcess {
  send(message: ToOcrHost): void
  onMessage(listener: (message: FromOcrHost) => void): void
  onExit(listener: (code: number | null) => void): void
  kill(): void
}

export type SpawnOcr = () => OcrProcess
