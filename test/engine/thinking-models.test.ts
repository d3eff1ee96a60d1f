// A reasoning model's thought on each local text path: streamed as <think>…</think> before the
// answer (never silence until the thought is over), its tokens counted, and given back to the
// model the way its template lays out an earlier turn's thought. The fixture thinks at once
// and never stops (generate.ts: thinking), with Qwen3's own template.
import { beforeAll, describe, expect, it } from 'vitest'
import type { LlamaChatResponseChunk } from 'node-llama-cpp'
import { createEngine } from '../../electron/engine/engine.js'
import { serverBinary } from '../../electron/engine/server-binary.js'
import { splitThinking } from '../../electron/engine/thinking.js'
import { responseOf, ThoughtText } from '../../electron/engine/thought-segments.js'
import type { ChatMessage } from '../../electron/ipc/contract.js'
import { ensureFixtures, ensureShapedTextModel, TEXT, type FixturePaths } from '../fixtures/generate.js'
import { ask, collect, greedy } from '../support/engine.js'

const binary = await serverBinary()
let thinker: string
let opened: string
let fx: FixturePaths
beforeAll(async () => {
  thinker = await ensureShapedTextModel('thinker', TEXT, 1234, { thinking: 'model' })
  opened = await ensureShapedTextModel('thought-opened', TEXT, 1234, { thinking: 'template' })
  fx = await ensureFixtures()
})

const segment = (text: string, edge: { start?: boolean; end?: boolean } = {}): LlamaChatResponseChunk => ({
  type: 'segment',
  segmentType: 'thought',
  text,
  tokens: [],
  ...(edge.start ? { segmentStartTime: new Date() } : {}),
  ...(edge.end ? { segmentEndTime: new Date() } : {}),
})
const answer = (text: string): LlamaChatResponseChunk => ({ type: undefined, segmentType: undefined, text, tokens: [] })
const noGuard = (text: string): string => text

describe("node-llama-cpp's thought segments in the text", () => {
  it('wrap a thought in its tags, closed where the answer begins or the segment ends', () => {
    const t = new ThoughtText()
    const text = [segment('Legs', { start: true }), segment(': four.'), answer('Four'), answer(' legs.')].map((c) => t.of(c)).join('')
    expect(text).toBe('<think>\nLegs: four.\n</think>\n\nFour legs.')
    expect(splitThinking(text)).toEqual({ thought: 'Legs: four.', open: false, answer: 'Four legs.' })
    const ended = new ThoughtText()
    expect([segment('Hm', { start: true, end: true }), answer('Yes.')].map((c) => ended.of(c)).join('')).toBe(
      '<think>\nHm\n</think>\n\nYes.',
    )
  })

  it('go on inside the thought a continued answer was cut in, and leave answers without one as they are', () => {
    const continued = new ThoughtText(true)
    expect([segment(' more'), answer('Done.')].map((c) => continued.of(c)).join('')).toBe(' more\n</think>\n\nDone.')
    const plain = new ThoughtText()
    expect([answer('Just'), answer(' text.')].map((c) => plain.of(c)).join('')).toBe('Just text.')
  })

  it('give an answer back with its thought as a segment, where the chat wrapper keeps it', () => {
    const thought = { type: 'segment', segmentType: 'thought', text: 'Legs: four.', ended: true }
    expect(responseOf('<think>\nLegs: four.\n</think>\n\nFour.', noGuard, 'last')).toEqual([thought, 'Four.'])
    expect(responseOf('<think>Counting', noGuard, 'last')).toEqual([{ ...thought, text: 'Counting', ended: false }])
    expect(responseOf('Four.', noGuard, 'last')).toEqual(['Four.'])
    // An earlier turn's: kept or left out as the wrapper keeps them; as text where it knows none.
    expect(responseOf('<think>Legs: four.</think>Four.', noGuard, 'all', false)).toEqual([thought, 'Four.'])
    expect(responseOf('<think>Legs: four.</think>Four.', noGuard, 'last', false)).toEqual(['Four.'])
    expect(responseOf('<think>Hm</think>Four.', noGuard, 'none')).toEqual(['<think>Hm</think>Four.'])
  })
})

describe.each([
  ['node-llama-cpp', true],
  ['llama-server', binary.found],
] as const)("a reasoning model's thought through %s", (textBinding, available) => {
  it.skipIf(!available)('streams from the first token, inside <think>, every token counted', async () => {
    const engine = createEngine({ threads: 1, textBinding })
    try {
      expect(await engine.load({ modelPath: thinker, gpu: false })).toMatchObject({ binding: textBinding })
      const first = await collect(engine.generate({ messages: ask('How many legs has a dog?'), sampling: greedy(12) }))
      expect(first.tokens).toBe(12)
      expect(first.stats?.tokensOut).toBe(12)
      // Before: node-llama-cpp's onTextChunk left the thought out, and this answer was empty.
      expect(first.text.startsWith('<think>')).toBe(true)
      expect(first.text.length).toBeGreaterThan('<think>\n'.length)
      expect(splitThinking(first.text).open).toBe(true)

      // An earlier answer's thought goes back apart from it, and Qwen3's template leaves it
      // out of the prompt: the follow-up's prompt is as long as without it. Before, the thought
      // went back as guarded text the template could not find, and the prompt grew by it.
      const conversation = (answer: string): ChatMessage[] => [
        ...ask('How many legs has a dog?'),
        { role: 'assistant', text: answer },
        ...ask('And a cat?'),
      ]
      const withThought = await collect(
        engine.generate({ messages: conversation('<think>\nDogs: four legs, as most mammals.\n</think>\n\nFour.'), sampling: greedy(4) }),
      )
      const without = await collect(engine.generate({ messages: conversation('Four.'), sampling: greedy(4) }))
      expect(withThought.tokens).toBe(4)
      expect(withThought.text.startsWith('<think>')).toBe(true)
      expect(withThought.stats?.tokensIn).toBe(without.stats?.tokensIn)
    } finally {
      await engine.unload()
    }
  })
})

// A template that opens the thought in its generation prompt leaves the model to write only the
// thought's end; every engine's answer begins with the opening all the same, so the window folds
// the thought while it streams and the local API returns it apart as it comes.
describe.each([
  ['node-llama-cpp', 'text', true],
  ['llama-server', 'text', binary.found],
  ['llama.node', 'vision', true],
  ['llama-server', 'vision', binary.found],
] as const)('a thought the template opens, through %s (%s model)', (binding, kind, available) => {
  it.skipIf(!available)('comes with its opening', async () => {
    const engine = createEngine({ threads: 1, ...(kind === 'text' ? { textBinding: binding } : { visionBinding: binding }) } as Parameters<
      typeof createEngine
    >[0])
    try {
      const info = await engine.load({ modelPath: opened, ...(kind === 'vision' ? { mmprojPath: fx.mmproj } : {}), gpu: false })
      expect(info).toMatchObject({ binding, vision: kind === 'vision' })
      const answer = await collect(engine.generate({ messages: ask('How many legs has a dog?'), sampling: greedy(6) }))
      expect(answer.tokens).toBe(6)
      // The model wrote no tag: the opening is the prompt's, and then its own text.
      expect(answer.text).toMatch(/^<think>\n(?!<think>)./s)
      expect(splitThinking(answer.text)).toMatchObject({ open: true, answer: '' })
    } finally {
      await engine.unload()
    }
  })
})
