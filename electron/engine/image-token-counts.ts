// Each image's prompt tokens, by its content: the projector gives the same image the same
// tokens, so a follow-up whose images were all counted before adds them up. Counting them takes
// the whole conversation rendered again (/apply-template) and tokenized: two more requests to
// llama-server on every follow-up, in the server's time while it decodes the answer, and the
// engine's: with eight images on bench:followup's fixture, the engine's CPU for a follow-up went
// from 9.5 to 4.2 ms (3.4 with none).

/** Image counts kept per loaded model: a number per distinct image. */
const DEFAULT_KEPT = 10_000

export class ImageTokenCounts {
  // Insertion order is the order learnt: past the bound the oldest goes, and is counted again
  // the next time it is sent.
  private readonly counts = new Map<string, number>()

  constructor(private readonly kept = DEFAULT_KEPT) {}

  /** The prompt's image tokens, where every one of its images (content keys) was counted before; else null. */
  sum(images: readonly string[]): number | null {
    let sum = 0
    for (const ref of images) {
      const count = this.counts.get(ref)
      if (count === undefined) return null
      sum += count
    }
    return sum
  }

  /** Learns an image's tokens from a prompt's image tokens, when it is the only one of its images not counted before. */
  learn(images: readonly string[], total: number): void {
    const unknown = new Set(images.filter((ref) => !this.counts.has(ref)))
    if (unknown.size !== 1) return
    const ref = [...unknown][0]!
    const times = images.filter((r) => r === ref).length
    const rest = images.reduce((sum, r) => sum + (r === ref ? 0 : this.counts.get(r)!), 0)
    const each = (total - rest) / times
    if (!Number.isInteger(each) || each <= 0) return
    if (this.counts.size >= this.kept) this.counts.delete(this.counts.keys().next().value!)
    this.counts.set(ref, each)
  }
}
