// Image token counts learnt from prompts, one new image at a time, added up once all are known,
// and bounded: a count dropped is learnt again, never guessed.
import { describe, expect, it } from 'vitest'
import { ImageTokenCounts } from '../../electron/engine/image-token-counts.js'

describe('image token counts', () => {
  it('learns an image from a prompt where it is the only one not counted, and adds up known ones', () => {
    const counts = new ImageTokenCounts()
    expect(counts.sum(['a'])).toBeNull()
    counts.learn(['a'], 36)
    expect(counts.sum(['a'])).toBe(36)
    // Two unknown images in one prompt: neither can be told apart, so neither is learnt.
    counts.learn(['b', 'c'], 100)
    expect(counts.sum(['b'])).toBeNull()
    counts.learn(['a', 'b'], 36 + 64)
    expect(counts.sum(['a', 'b', 'a'])).toBe(36 + 64 + 36)
    // The same new image twice in one prompt: its count is half of what is not already known.
    counts.learn(['a', 'c', 'c'], 36 + 2 * 49)
    expect(counts.sum(['c'])).toBe(49)
    // A total that does not divide evenly, or leaves nothing, teaches nothing.
    counts.learn(['d', 'd'], 7)
    counts.learn(['a', 'e'], 36)
    expect(counts.sum(['d'])).toBeNull()
    expect(counts.sum(['e'])).toBeNull()
  })

  it('keeps a bounded number of counts, the oldest learnt out first, and learns a dropped one again', () => {
    const counts = new ImageTokenCounts(2)
    counts.learn(['a'], 10)
    counts.learn(['b'], 20)
    counts.learn(['c'], 30)
    expect(counts.sum(['a'])).toBeNull()
    expect(counts.sum(['b', 'c'])).toBe(50)
    counts.learn(['b', 'c', 'a'], 60)
    expect(counts.sum(['a'])).toBe(10)
    expect(counts.sum(['b'])).toBeNull()
  })
})
