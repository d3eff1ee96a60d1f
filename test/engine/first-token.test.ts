import { describe, expect, it } from 'vitest'
import { firstTokenMs, tokensPerSecond } from '../../electron/engine/first-token.js'

describe('time to first token', () => {
  it('keeps 0.01 ms, rounding half up, and is null without a token', () => {
    expect(firstTokenMs(1000, 1001.23456)).toBe(1.23)
    expect(firstTokenMs(1000, 1001.235001)).toBe(1.24)
    expect(firstTokenMs(10.5, 12)).toBe(1.5)
    expect(firstTokenMs(1000, null)).toBeNull()
  })

  it('tokens per second count the tokens after the first over their span, to 0.1', () => {
    expect(tokensPerSecond(11, 400)).toBe(25)
    expect(tokensPerSecond(4, 7)).toBe(428.6)
  })

  it('tokens per second: no span to time takes the reported rate, else null', () => {
    for (const [tokens, span] of [
      [1, 50],
      [5, 0],
      [5, null],
    ] as const) {
      expect(tokensPerSecond(tokens, span)).toBeNull()
      expect(tokensPerSecond(tokens, span, 812.37)).toBe(812.4)
    }
    // A span to time wins over what the server says.
    expect(tokensPerSecond(11, 400, 812.37)).toBe(25)
  })
})
