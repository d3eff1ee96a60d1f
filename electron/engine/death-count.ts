// How often a process has died lately: one that keeps dying is left stopped, with the reason,
// instead of being started again for ever (each start of a large model costs seconds of disk
// and CPU, and a crash loop would hold them without end).

export class DeathCount {
  private times: number[] = []

  constructor(
    /** Deaths within the window that stop the restarts. */
    readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one death; true when it is the limit-th within the window (the count starts over then). */
  record(): boolean {
    const at = this.now()
    this.times = [...this.times.filter((t) => at - t < this.windowMs), at]
    if (this.times.length < this.limit) return false
    this.times = []
    return true
  }
}
