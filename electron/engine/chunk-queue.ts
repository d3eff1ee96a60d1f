// Turns values pushed from callbacks (native token callbacks, process messages) into an
// async iterable, ending cleanly or with an error.
export class ChunkQueue<T> implements AsyncIterable<T> {
  private items: T[] = []
  private wake: (() => void) | null = null
  private ended = false
  private failure: unknown = null

  push(...items: T[]): void {
    this.items.push(...items)
    this.wake?.()
  }

  /** No more items; the iteration throws `error` after the queued items, if given. */
  end(error: unknown = null): void {
    this.failure = error
    this.ended = true
    this.wake?.()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      const item = this.items.shift()
      if (item !== undefined) {
        yield item
        continue
      }
      if (this.ended) break
      await new Promise<void>((resolve) => (this.wake = resolve))
      this.wake = null
    }
    if (this.failure) throw this.failure
  }
}
