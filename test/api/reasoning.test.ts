// A reasoning model's thought through the local API: apart from the answer (reasoning_content)
// by default, in the text as written with reasoning_format 'none'; split alike whether the
// answer is streamed in any pieces or returned whole. The model is the thinking fixture (it
// opens a thought at once and stays in it) on the real engine.
import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReasoningStream, splitAnswer, withThought, type ReasoningParts } from '../../electron/api/reasoning.js'
import { LIMITS } from '../../electron/ipc/contract.js'
import { ensureShapedTextModel, TEXT } from '../fixtures/generate.js'
import { startLocalApi, type LocalApi } from '../support/api.js'

/** The stream's parts for text cut at these places, joined. */
function streamed(text: string, cuts: number[]): ReasoningParts {
  const split = new ReasoningStream()
  const out = { reasoning: '', content: '' }
  const add = (p: ReasoningParts): void => {
    out.reasoning += p.reasoning
    out.content += p.content
  }
  let from = 0
  for (const cut of [...cuts, text.length]) {
    add(split.push(text.slice(from, cut)))
    from = cut
  }
  add(split.end())
  return out
}

describe('a streamed answer split as it comes', () => {
  const samples = [
    '<think>\nLegs: four.\n</think>\n\nA dog has **four** legs.',
    '  <think>Counting the',
    '<think>\n\n</think>\n\nFour.',
    '<think>a < b, and </thin is not a tag\n</think>Yes.',
    'Plain answer, no tags.',
    'Say <think> first, then </think>',
    '<thinking about it>, no.',
    '',
  ]

  it('gives what the whole answer gives, cut anywhere: one piece, every two characters, every place', () => {
    for (const text of samples) {
      const whole = splitAnswer(text)
      const want = { reasoning: whole.reasoning ?? '', content: whole.content }
      expect(streamed(text, [])).toEqual(want)
      expect(
        streamed(
          text,
          Array.from({ length: text.length >> 1 }, (_, i) => 2 * i + 1),
        ),
      ).toEqual(want)
      for (let cut = 1; cut < text.length; cut++) expect(streamed(text, [cut]), `${JSON.stringify(text)} cut at ${cut}`).toEqual(want)
    }
  })

  it('sends the thought as it comes, holding back only a possible tag and the whitespace before it', () => {
    const split = new ReasoningStream()
    expect(split.push('<thi')).toEqual({ reasoning: '', content: '' })
    expect(split.push('nk>\nOne')).toEqual({ reasoning: 'One', content: '' })
    expect(split.push(' two\n</th')).toEqual({ reasoning: ' two', content: '' })
    expect(split.push('ink>\n\nFour')).toEqual({ reasoning: '', content: 'Four' })
    expect(split.push(' legs.')).toEqual({ reasoning: '', content: ' legs.' })
  })

  it('leaves a thought the template opened in the content while streaming (the whole answer finds it)', () => {
    const text = 'The user asks about legs.\n</think>\n\nFour legs.'
    expect(streamed(text, [5])).toEqual({ reasoning: '', content: text })
    expect(splitAnswer(text)).toEqual({ reasoning: 'The user asks about legs.', content: 'Four legs.' })
  })
})

describe('through the local API, on a reasoning model', () => {
  let api: LocalApi
  let client: OpenAI
  let model: string
  beforeAll(async () => {
    const path = await ensureShapedTextModel('thinker', TEXT, 1234, { thinking: 'model' })
    api = await startLocalApi('test-token-reasoning-0123')
    client = api.client
    await api.engine.load({ modelPath: path })
    model = (await client.models.list()).data[0]!.id
  })
  afterAll(async () => api?.close())

  const ask = { messages: [{ role: 'user' as const, content: 'How many legs has a dog?' }], max_tokens: 10, temperature: 0, seed: 1 }

  it('returns the thought as reasoning_content, whole and streamed alike, and in the text when asked', async () => {
    const whole = await client.chat.completions.create({ model, ...ask })
    const message = whole.choices[0]!.message as (typeof whole.choices)[0]['message'] & { reasoning_content?: string }
    // The fixture never ends its thought, and thinks only newlines (the tags inside it are
    // control tokens, which print as nothing): all of it reasoning, trimmed to nothing, and no
    // answer. Before, the whole of it was the content, <think> and all.
    expect(message.content).toBe('')
    expect(message.reasoning_content).toBe('')
    expect(whole.usage?.completion_tokens).toBe(10)

    const parts = { reasoning: '', content: '' }
    for await (const event of await client.chat.completions.create({ model, ...ask, stream: true })) {
      const delta = event.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined
      parts.reasoning += delta?.reasoning_content ?? ''
      parts.content += delta?.content ?? ''
    }
    expect(parts).toEqual({ reasoning: '', content: '' })

    const asWritten = await client.chat.completions.create({ model, ...ask, reasoning_format: 'none' } as typeof ask & { model: string })
    expect(asWritten.choices[0]!.message.content?.startsWith('<think>')).toBe(true)
    expect(asWritten.choices[0]!.message).not.toHaveProperty('reasoning_content')
    expect(splitAnswer(asWritten.choices[0]!.message.content!).reasoning).toBe(message.reasoning_content)
  })

  it("takes a thought sent back: an earlier turn's left out of the prompt, the current turn's kept, as the template does", async () => {
    const conversation = (thought?: string): OpenAI.Chat.ChatCompletionMessageParam[] => [
      { role: 'user', content: 'How many legs has a dog?' },
      { role: 'assistant', content: 'Four.', ...(thought ? { reasoning_content: thought } : {}) } as OpenAI.Chat.ChatCompletionMessageParam,
      { role: 'user', content: 'And a cat?' },
    ]
    const usage = async (thought?: string): Promise<number | undefined> =>
      (await client.chat.completions.create({ model, messages: conversation(thought), max_tokens: 2, temperature: 0 })).usage?.prompt_tokens
    const without = await usage()
    expect(await usage('Dogs are mammals; mammals that walk have four legs.')).toBe(without)

    // The current turn's thought, before a tool call whose result the model goes on from, is kept.
    const call = (thought?: string): OpenAI.Chat.ChatCompletionMessageParam[] => [
      { role: 'user', content: 'How many legs has a dog?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'count_legs', arguments: '{"animal":"dog"}' } }],
        ...(thought ? { reasoning_content: thought } : {}),
      } as OpenAI.Chat.ChatCompletionMessageParam,
      { role: 'tool', tool_call_id: 'call_1', content: '4' },
    ]
    const afterCall = async (thought?: string): Promise<number> =>
      (await client.chat.completions.create({ model, messages: call(thought), max_tokens: 2, temperature: 0 })).usage!.prompt_tokens
    expect(await afterCall('I should count them with the tool.')).toBeGreaterThan((await afterCall()) + 5)
    // The same thought in the text, as reasoning_format 'none' returns it, is read the same way.
    expect(splitAnswer(withThought('Dogs: four.', 'Four.'))).toEqual({ reasoning: 'Dogs: four.', content: 'Four.' })
  })

  it('refuses a thought that is not text, or with the text longer than a message may be, naming the field', async () => {
    const half = 'x'.repeat(LIMITS.textChars / 2 + 1)
    const error = await client.chat.completions
      .create({
        model,
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: half, reasoning_content: half } as OpenAI.Chat.ChatCompletionMessageParam,
          { role: 'user', content: 'Go on' },
        ],
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400, param: 'messages.1.reasoning_content', code: 'string_above_max_length' })
    const notText = await client.chat.completions
      .create({
        model,
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.', reasoning_content: 5 } as unknown as OpenAI.Chat.ChatCompletionMessageParam,
          { role: 'user', content: 'Go on' },
        ],
      })
      .catch((e: unknown) => e)
    expect(notText).toMatchObject({ status: 400, param: 'messages.1.reasoning_content' })
  })

  it('refuses a reasoning_format it does not know, naming the field', async () => {
    const error = await client.chat.completions
      .create({ model, ...ask, reasoning_format: 'hidden' } as typeof ask & { model: string })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400, param: 'reasoning_format' })
  })
})
