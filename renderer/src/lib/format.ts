// The words and numbers the windows show for paths, model sizes and downloads.
import { formatBytes, type DownloadJob } from '@contract'
import type { DeepReadonly } from './readonly'

/** The last part of a path, on either platform's separator. */
export function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path
}

/** A model's name as the windows show it: its file name without the .gguf. */
export function modelName(path: string): string {
  return fileName(path).replace(/\.gguf$/i, '')
}

/** A server's model id as the windows show it: llama-server names its model by file path, so a path
 *  becomes its file name; other ids ("Qwen/Qwen2.5-VL-7B-Instruct", "llava:7b") stay as the server says. */
export function remoteModelName(id: string): string {
  return /\.gguf$/i.test(id) || /^([a-zA-Z]:)?[\\/]/.test(id) ? modelName(id) : id
}

/** A parameter count in words a model card uses: "1.7B", "256M", "135K". */
export function parameterCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)}M`
  return `${Math.round(n / 1e3)}K`
}

/** "3 min left": the time a download bar shows. */
export function eta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return ''
  if (seconds < 60) return `${Math.ceil(seconds)} s left`
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} min left`
  return `${(seconds / 3600).toFixed(1)} h left`
}

/** Where a download stands, in words: its speed and time left while it runs. */
export function downloadStateText(job: DeepReadonly<DownloadJob>): string {
  switch (job.state) {
    case 'queued':
      return 'Waiting'
    case 'downloading':
      if (job.retry)
        return `${job.retry.stalled ? 'Stalled' : 'Interrupted'} (${job.retry.reason}), retrying (${job.retry.attempt} of ${job.retry.of})`
      return [job.bytesPerSecond ? `${formatBytes(Math.round(job.bytesPerSecond))}/s` : '', eta(job.etaSeconds)].filter(Boolean).join(' · ')
    case 'verifying':
      return 'Checking…'
    case 'paused':
      return 'Paused'
    case 'failed':
      return 'Failed'
    case 'done':
      return 'Downloaded'
  }
}

/** Why a badge says "Unverified", in a sentence naming the files. */
export function unverifiedText(names: readonly string[]): string {
  return `No checksum is published for ${names.join(' and ')}, so ${names.length > 1 ? 'their' : 'its'} bytes cannot be checked against the original. Use it only if you trust where it came from.`
}
