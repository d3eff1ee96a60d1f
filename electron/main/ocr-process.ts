// The text layer in an Electron utility process: a native failure while reading a screen
// (onnxruntime, sharp) ends that process, never the app.
import { utilityProcess } from 'electron'
import type { FromOcrHost, SpawnOcr } from '../ocr/protocol.js'

export function utilityOcrSpawner(entry: string): SpawnOcr {
  return () => {
    const child = utilityProcess.fork(entry, [], { serviceName: 'Text layer', stdio: 'inherit', env: { ...process.env, OCR_THREADS: '1' } })
    return {
      send: (message) => child.postMessage(message),
      onMessage: (listener) => void child.on('message', (m: unknown) => listener(m as FromOcrHost)),
      onExit: (listener) => void child.on('exit', (code) => listener(code)),
      kill: () => void child.kill(),
    }
  }
}
