// Runs the text layer's process as a plain Node child process (tests, scripts, benchmarks).
// The app uses Electron's utilityProcess instead (electron/main/ocr-process.ts).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { recogniserEnv, type FromOcrHost, type OcrRecogniser, type SpawnOcr } from './protocol.js'

const HOST_SOURCE = fileURLToPath(new URL('./host.ts', import.meta.url))

export interface NodeOcrOptions {
  host?: string
  threads?: number
  /** The language pack to read with, asked at each start; the built-in one when absent or null. */
  recogniser?: () => OcrRecogniser | null
}

export function nodeOcrSpawner(options: NodeOcrOptions = {}): SpawnOcr {
  return () => {
    const host = options.host ?? HOST_SOURCE
    const child = fork(host, [], {
      execArgv: host.endsWith('.ts') ? ['--import', 'tsx'] : [],
      // 'advanced' keeps Uint8Array image bytes intact, as Electron's structured clone does.
      serialization: 'advanced',
      env: { ...process.env, OCR_THREADS: String(options.threads ?? 1), ...recogniserEnv(options.recogniser?.() ?? null) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    return {
      send: (message) => void child.send(message),
      onMessage: (listener) => void child.on('message', (m) => listener(m as FromOcrHost)),
      onExit: (listener) => void child.on('exit', (code) => listener(code)),
      kill: () => void child.kill('SIGKILL'),
    }
  }
}
