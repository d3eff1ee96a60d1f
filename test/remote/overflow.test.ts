// A prompt longer than a server's context: the numbers read from each server's own words, so
// that the conversation can leave out enough at once and the engine remembers the context.
import { describe, expect, it } from 'vitest'
import { contextOverflow, overflowNumbers, serverOverflowNumbers } from '../../electron/engine/context-limit.js'
import { serverError } from '../../electron/remote/http.js'

describe('a server’s refusal of a prompt too long for its context', () => {
  it('reads llama-server’s words (tools/server/server-context.cpp)', () => {
    expect(serverOverflowNumbers('request (600 tokens) exceeds the available context size (512 tokens), try increasing it')).toEqual({
      needed: 600,
      imageTokens: 0,
      contextSize: 512,
    })
    // With context shift on.
    expect(serverOverflowNumbers('input (5000 tokens) is larger than the max context size (4096 tokens). skipping')).toEqual({
      needed: 5000,
      imageTokens: 0,
      contextSize: 4096,
    })
  })

  it('reads vLLM’s words in each version’s wording, and OpenAI’s older one, taking the prompt’s tokens', () => {
    const read = (message: string): [number, number] | null => {
      const n = serverOverflowNumbers(message)
      return n && [n.needed, n.contextSize]
    }
    // 0.11 on (vllm/renderers/params.py).
    expect(
      read(
        "This model's maximum context length is 4096 tokens. However, you requested 1024 output tokens and your prompt contains at least 3500 input tokens, for a total of at least 4524 tokens. Please reduce the length of the input prompt or the number of requested output tokens. (parameter=input_tokens, value=3500)",
      ),
    ).toEqual([3500, 4096])
    expect(
      read(
        "This model's maximum context length is 4096 tokens. However, you requested 0 output tokens and your prompt contains 5000 input tokens, for a total of 5000 tokens.",
      ),
    ).toEqual([5000, 4096])
    expect(
      read(
        "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.",
      ),
    ).toEqual([5000, 4096])
    // Before 0.10.
    expect(
      read(
        "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.",
      ),
    ).toEqual([4000, 4096])
    expect(
      read(
        "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens in the messages, Please reduce the length of the messages.",
      ),
    ).toEqual([5000, 4096])
    expect(
      read(
        "'max_tokens' or 'max_completion_tokens' is too large: 1000. This model's maximum context length is 4096 tokens and your request has 3500 input tokens (1000 > 4096 - 3500).",
      ),
    ).toEqual([3500, 4096])
    expect(read("This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.")).toEqual([
      9000, 8192,
    ])
    // No numbers, no guess.
    expect(read("This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.")).toBeNull()
    expect(read('Too long.')).toBeNull()
  })

  it('overflowNumbers reads the engine’s sentence and a server’s words alike', () => {
    expect(overflowNumbers(contextOverflow(600, 0, 512).message)).toEqual({ needed: 600, imageTokens: 0, contextSize: 512 })
    expect(overflowNumbers('request (600 tokens) exceeds the available context size (512 tokens), try increasing it')).toEqual({
      needed: 600,
      imageTokens: 0,
      contextSize: 512,
    })
    expect(overflowNumbers('The conversation is longer than the model on the server can take (400).')).toBeNull()
  })

  it('takes llama-server’s n_prompt_tokens and n_ctx beside its message', () => {
    const body = JSON.stringify({
      error: {
        code: 400,
        message: 'the request exceeds the available context size, try increasing it',
        type: 'exceed_context_size_error',
        n_prompt_tokens: 777,
        n_ctx: 512,
      },
    })
    expect(serverError(body).overflow).toEqual({ needed: 777, imageTokens: 0, contextSize: 512 })
  })
})
