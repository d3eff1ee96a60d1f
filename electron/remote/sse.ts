// A server-sent events reader over a byte stream, bounded: a server elsewhere may send
// anything, so a line or an event over the limit ends the stream instead of growing memory.
// Written here rather than taken from the openai package because its line decoder buffers
// without a limit; the rest (fields, line endings) follows the WHATWG SSE parsing rules.

/** Neither a line nor an event's data may grow past this (1 MiB). */
export const MAX_SSE_BYTES = 1024 * 1024

export interface SseEvent {
  /** The event's type; "message" when the server named none. */
  event: string
  data: string
}

/** The stream broke the rules or the limits; the message says how, for the user. */
export class SseError extends Error {
  constructor(
    readonly kind: 'too-large' | 'malformed',
    message: string,
  ) {
    super(message)
    this.name = 'SseError'
  }
}

const LF = 0x0a
const CR = 0x0d

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** Reads SSE events from bytes as they arrive; throws SseError when a limit is passed. */
export async function* readSse(
  body: AsyncIterable<Uint8Array>,
  maxBytes = MAX_SSE_BYTES,
  /** Called for every chunk of bytes, even one that completes no line: the server is alive. */
  onBytes?: () => void,
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  // The unfinished line's bytes, kept as chunks so a long line costs no repeated copying.
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  // A CR ended the last chunk: a LF starting the next one belongs to the same line ending.
  let afterCr = false
  let data: string[] = []
  let dataChars = 0
  let eventType = ''

  const onLine = (line: string): SseEvent | null => {
    if (line === '') {
      if (data.length === 0) {
        eventType = ''
        return null
      }
      const event = { event: eventType || 'message', data: data.join('\n') }
      data = []
      dataChars = 0
      eventType = ''
      return event
    }
    if (line.charCodeAt(0) === 0x3a) return null // ":" comment, e.g. llama-server's keep-alive ping
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 0x20) value = value.slice(1)
    if (field === 'data') {
      dataChars += value.length + 1
      if (dataChars > maxBytes) throw new SseError('too-large', `an event larger than ${maxBytes / 1024 / 1024} MiB`)
      data.push(value)
    } else if (field === 'event') {
      eventType = value
    }
    // id and retry serve reconnecting EventSource clients; an answer is never resumed.
    return null
  }

  for await (const chunk of body) {
    onBytes?.()
    let start = 0
    if (afterCr && chunk[0] === LF) start = 1
    afterCr = false
    while (start < chunk.byteLength) {
      const lf = chunk.indexOf(LF, start)
      const cr = chunk.indexOf(CR, start)
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr)
      if (end < 0) {
        const rest = chunk.subarray(start)
        pending.push(rest)
        pendingBytes += rest.byteLength
        if (pendingBytes > maxBytes) throw new SseError('too-large', `a line longer than ${maxBytes / 1024 / 1024} MiB`)
        break
      }
      let bytes = chunk.subarray(start, end)
      if (pending.length > 0) {
        pending.push(bytes)
        bytes = concat(pending, pendingBytes + bytes.byteLength)
        pending = []
        pendingBytes = 0
      }
      if (bytes.byteLength > maxBytes) throw new SseError('too-large', `a line longer than ${maxBytes / 1024 / 1024} MiB`)
      const event = onLine(decoder.decode(bytes))
      if (event) yield event
      if (chunk[end] === CR) {
        if (end + 1 === chunk.byteLength) afterCr = true
        else if (chunk[end + 1] === LF) start = end + 2
        else start = end + 1
        if (afterCr) break
      } else {
        start = end + 1
      }
    }
  }
  // The spec drops an event left without its blank line: the stream was cut short.
  if (pendingBytes > 0 || data.length > 0) throw new SseError('malformed', 'a stream that ended in the middle of an event')
}
