import type { ChatChunk, StoredMessage } from '@contract'

/**
 * Applies one streamed chunk of a conversation to its messages, in place: the chat window
 * and quick-ask read the same stream the same way. Returns true for the final chunk.
 */
export function applyChunk(messages: StoredMessage[], chunk: ChatChunk): boolean {
  if (chunk.kind === 'message') {
    // A question or answer that replaces others (edit, regenerate) drops what followed it.
    const at = messages.findIndex((m) => m.id === chunk.message.id)
    if (at >= 0) messages.splice(at, messages.length - at, chunk.message)
    else {
      const last = messages.at(-1)
      if (chunk.message.role === 'assistant' && last?.role === 'assistant') messages.pop()
      messages.push(chunk.message)
    }
    return false
  }
  if (chunk.kind === 'tokens') {
    const m = messages.at(-1)
    if (m?.id === chunk.messageId) m.text += chunk.text
    return false
  }
  const at = messages.findIndex((m) => m.id === chunk.message.id)
  if (at >= 0) messages[at] = chunk.message
  return true
}
