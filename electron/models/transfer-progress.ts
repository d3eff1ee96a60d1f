// A transfer's progress as the window sees it: the bytes so far, the speed since the attempt
// began and the time left, sent at most every so often (always at an attempt's start and end).
import type { DownloadRetry } from '../ipc/contract.js'

export interface Progress {
  fileName: string
  downloadedBytes: number
  totalBytes: number | null
  bytesPerSecond: number
  etaSeconds: number | null
  /** Set from a failed attempt until the next one receives data. */
  retry: DownloadRetry | null
}

/** Reports an attempt that began at `start` bytes; `force` sends whatever the time since the last report. */
export function speedReport(
  start: number,
  totalBytes: number | null,
  intervalMs: number,
  send: (progress: Omit<Progress, 'fileName' | 'retry'>) => void,
): (received: number, force?: boolean) => void {
  const startedAt = performance.now()
  let lastReport = 0
  return (received, force = false) => {
    const now = performance.now()
    if (!force && now - lastReport < intervalMs) return
    lastReport = now
    const bytesPerSecond = (received - start) / Math.max(0.001, (now - startedAt) / 1000)
    send({
      downloadedBytes: received,
      totalBytes,
      bytesPerSecond,
      etaSeconds: totalBytes !== null && bytesPerSecond > 0 ? (totalBytes - received) / bytesPerSecond : null,
    })
  }
}
