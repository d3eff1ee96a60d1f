import { describe, expect, it } from 'vitest'
import { splitThinking } from '../../electron/engine/thinking.js'

describe('a reasoning model’s thought, told apart from its answer', () => {
  it('takes <think>…</think> before the answer, and an open one while it is still being thought', () => {
    expect(splitThinking('<think>\nLegs: four.\n</think>\n\nA dog has **four** legs.')).toEqual({
      thought: 'Legs: four.',
      open: false,
      answer: 'A dog has **four** legs.',
    })
    expect(splitThinking('  <think>Counting the')).toEqual({ thought: 'Counting the', open: true, answer: '' })
    // Qwen3 with thinking turned off writes an empty thought.
    expect(splitThinking('<think>\n\n</think>\n\nFour.')).toEqual({ thought: '', open: false, answer: 'Four.' })
  })

  it('takes a closing tag alone on its line for the end of a thought the template opened', () => {
    expect(splitThinking('The user asks about legs.\nDogs have four.\n</think>\n\nFour legs.')).toEqual({
      thought: 'The user asks about legs.\nDogs have four.',
      open: false,
      answer: 'Four legs.',
    })
  })

  it('leaves an answer that only mentions the tags as it is', () => {
    for (const text of [
      'Close the block with </think> when done.',
      'Models wrap thoughts:\n```\n<think>\n</think>\n```',
      'In code:\n```xml\nbefore\n</think>\n```',
      'Plain answer, no tags.',
      'Say <think> first, then\n</think>',
    ]) {
      expect(splitThinking(text)).toEqual({ thought: null, open: false, answer: text })
    }
  })
})
