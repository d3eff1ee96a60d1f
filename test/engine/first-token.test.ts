import { describe, expect, it } from 'vitest'
import { firstTokenMs } from '../../electron/engine/first-token.js'

describe('time to first token', () => {
  it('keeps 0.01 ms, rounding half up, and is null without a token', () => {
    expect(firstTokenMs(1000, 1001.23456)).toBe(1.23)
    expect(firstTokenMs(1000, 1001.235001)).toBe(1.24)
    expect(firstTokenMs(10.5, 12)).toBe(1.5)
    expect(firstTokenMs(1000, null)).toBeNull()
  })
})
