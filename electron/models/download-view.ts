// A download as the window sees it: its files and bytes; while it runs, its speed, time left
// and retry; once done, where its model and projector are in the library.
import { join } from 'node:path'
import type { DownloadJob, DownloadRetry } from '../ipc/contract.js'
import { checksumOf, type StoredJob } from './download-list.js'

/** What a download's run knows and the list does not save: bytes so far, speed, time left, retry. */
export interface JobProgress {
  downloaded: number[]
  bytesPerSecond: number | null
  etaSeconds: number | null
  retry: DownloadRetry | null
}

export function viewJob(root: string, job: StoredJob, live: JobProgress | undefined): DownloadJob {
  const downloaded = job.files.map((f, i) => (f.done ? f.size : Math.min(f.size, live?.downloaded[i] ?? 0)))
  const totalBytes = job.files.reduce((n, f) => n + f.size, 0)
  const target = (role: 'model' | 'mmproj'): string | null => {
    const f = job.files.find((x) => x.role === role)
    return job.state === 'done' && f ? join(root, job.folder, f.fileName) : null
  }
  return {
    id: job.id,
    title: job.title,
    catalogId: job.catalogId,
    ocrPack: job.ocrPack,
    folder: job.folder,
    files: job.files.map((f, i) => ({
      fileName: f.fileName,
      role: f.role,
      totalBytes: f.size,
      downloadedBytes: downloaded[i]!,
      done: f.done,
      checksum: checksumOf(f),
    })),
    state: job.state,
    totalBytes,
    downloadedBytes: downloaded.reduce((a, b) => a + b, 0),
    bytesPerSecond: job.state === 'downloading' ? (live?.bytesPerSecond ?? null) : null,
    etaSeconds: job.state === 'downloading' ? (live?.etaSeconds ?? null) : null,
    retry: job.state === 'downloading' ? (live?.retry ?? null) : null,
    error: job.error,
    modelPath: target('model'),
    mmprojPath: target('mmproj'),
  }
}
