// The text layer in an Electron utility process: a native failure while reading a screen
// (onnxruntime, sharp) ends that process, never the app.
import { utilityProcess } from 'electron'
import { recogniserEnv, type FromOcrHost, type OcrRecogniser, type SpawnOcr } from '../ocr/protocol.js'
import { physicalCores } from '../engine/gpu.js'

/** recogniser: the language pack to read with, asked at each start (null: the built-in one). */
export function utilityOcrSpawner(entry: string, recogniser: () => OcrRecogniser | null = () => null): SpawnOcr {
  return () => {
    const child = utilityProcess.fork(entry, [], {
      serviceName: 'Text layer',
      stdio: 'inherit',
      env: { ...process.env, OCR_THREADS: String(ocrThreads()), ...recogniserEnv(recogniser()) },
    })
    return {
      send: (message) => child.postMessage(message),
      onMessage: (listener) => void child.on('message', (m: unknown) => listener(m as FromOcrHost)),
      onExit: (listener) => void child.on('exit', (code) => listener(code)),
      kill: () => void child.kill(),
    }
  }
}

/**
 * Half the physical cores (one on a 2-core machine): a screenshot is mostly read while the
 * user types the question and the engine is idle, but the engine may be encoding the same
 * image meanwhile, so the text layer never takes every core.
 */
function ocrThreads(cores = physicalCores()): number {
  return Math.max(1, Math.floor(cores / 2))
}
