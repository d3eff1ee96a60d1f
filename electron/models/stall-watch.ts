// A download attempt's guard against a server that goes quiet or slows to a trickle: either
// is a stall, and the attempt's connection is dropped so the downloader can try again.
import { formatBytes } from '../ipc/contract.js'

export interface StallLimits {
  stallTimeoutMs: number
  minBytesPerSecond: number
  rateWindowMs: number
}

const duration = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`)

/** Watches one attempt; on a stall it says why and calls onStall, which drops the connection. */
export class StallWatch {
  stall: string | null = null
  private bytes = 0
  private lastByteAt = performance.now()
  private readonly samples = [{ at: this.lastByteAt, bytes: 0 }]
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly limits: StallLimits,
    onStall: () => void,
  ) {
    const every = Math.max(10, Math.min(1000, limits.stallTimeoutMs / 4, limits.rateWindowMs / 4))
    this.timer = setInterval(() => {
      this.stall = this.check(performance.now())
      if (!this.stall) return
      this.stop()
      onStall()
    }, every)
  }

  received(bytes: number): void {
    this.bytes += bytes
    this.lastByteAt = performance.now()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private check(now: number): string | null {
    const { stallTimeoutMs, minBytesPerSecond, rateWindowMs } = this.limits
    if (now - this.lastByteAt >= stallTimeoutMs) return `no data for ${duration(stallTimeoutMs)}`
    this.samples.push({ at: now, bytes: this.bytes })
    // Keep the newest sample at least a window old: the rate since it is the window's average.
    while (this.samples.length > 1 && this.samples[1]!.at <= now - rateWindowMs) this.samples.shift()
    const from = this.samples[0]!
    const elapsed = now - from.at
    if (elapsed >= rateWindowMs && ((this.bytes - from.bytes) * 1000) / elapsed < minBytesPerSecond) {
      return `under ${formatBytes(minBytesPerSecond)}/s for ${duration(rateWindowMs)}`
    }
    return null
  }
}
