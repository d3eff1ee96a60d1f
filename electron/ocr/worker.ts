// The text layer's worker thread: the recogniser's models load here once, and each read
// runs here, so a screen being read never holds up the main process (IPC, windows, the API).
import { parentPort, workerData } from 'node:worker_threads'
import { ScreenReader } from './reader.js'
import type { FromOcrWorker, OcrWorkerData, ToOcrWorker } from './worker-protocol.js'

const port = parentPort
if (!port) throw new Error('the OCR worker runs as a worker thread')

const { threads } = workerData as OcrWorkerData
const reader = ScreenReader.open({ threads })
const running = new Map<number, AbortController>()
const send = (message: FromOcrWorker): void => port.postMessage(message)

port.on('message', (message: ToOcrWorker) => {
  if (message.kind === 'cancel') {
    running.get(message.id)?.abort()
    return
  }
  const controller = new AbortController()
  running.set(message.id, controller)
  void (async () => {
    try {
      const result = await (await reader).read(message.bytes, { signal: controller.signal })
      send({ kind: 'result', id: message.id, result })
    } catch (error) {
      send({
        kind: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
        aborted: controller.signal.aborted,
      })
    } finally {
      running.delete(message.id)
    }
  })()
})
