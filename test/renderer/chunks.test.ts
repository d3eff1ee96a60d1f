// The chat window and quick-ask read a conversation's stream through one function.
import { describe, expect, it } from 'vitest'
import type { StoredMessage } from '../../electron/ipc/contract.js'
import { applyChunk } from '../../renderer/src/lib/chunks.js'

const message = (id: string, role: StoredMessage['role'], text = ''): StoredMessage => ({
  id,
  role,
  text,
  images: [],
  createdAt: '',
  status: role === 'user' ? 'complete' : 'streaming',
  stats: null,
  error: null,
  model: null,
})

describe('applyChunk', () => {
  it('adds the question and the answer, appends tokens to the answer, and ends with the final message', () => {
    const messages: StoredMessage[] = []
    expect(applyChunk(messages, { kind: 'message', message: message('q', 'user', 'hi') })).toBe(false)
    expect(applyChunk(messages, { kind: 'message', message: message('a', 'assistant') })).toBe(false)
    applyChunk(messages, { kind: 'tokens', messageId: 'a', text: 'Hel', count: 1 })
    applyChunk(messages, { kind: 'tokens', messageId: 'a', text: 'lo', count: 1 })
    expect(messages.map((m) => m.text)).toEqual(['hi', 'Hello'])
    const final = { ...message('a', 'assistant', 'Hello'), status: 'complete' as const }
    expect(applyChunk(messages, { kind: 'done', message: final })).toBe(true)
    expect(messages[1]).toBe(final)
  })

  it('ignores tokens for another message', () => {
    const messages = [message('q', 'user', 'hi'), message('a', 'assistant', 'x')]
    applyChunk(messages, { kind: 'tokens', messageId: 'other', text: 'y', count: 1 })
    expect(messages[1]!.text).toBe('x')
  })

  it('an edited question replaces it and drops what followed; a regenerated answer replaces the last answer', () => {
    const messages = [
      message('q1', 'user', 'one'),
      message('a1', 'assistant', 'first'),
      message('q2', 'user', 'two'),
      message('a2', 'assistant', 'second'),
    ]
    applyChunk(messages, { kind: 'message', message: message('q1', 'user', 'edited') })
    expect(messages.map((m) => m.text)).toEqual(['edited'])
    applyChunk(messages, { kind: 'message', message: message('a3', 'assistant') })
    applyChunk(messages, { kind: 'message', message: message('a4', 'assistant') })
    expect(messages.map((m) => m.id)).toEqual(['q1', 'a4'])
  })
})
