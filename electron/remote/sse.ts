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

/**
 * Turns bytes into SSE events as they arrive, synchronously: a network chunk often holds many
 * events, and handing them over in one array costs far less than one await per event.
 */
export class SseDecoder {
  private readonly decoder = new TextDecoder()
  // The unfinished line's bytes, kept as chunks so a long line costs no repeated copying.
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  // A CR ended the last chunk: a LF starting the next one belongs to the same line ending.
  private afterCr = false
  private data: string[] = []
  private dataChars = 0
  private eventType = ''

  constructor(private readonly maxBytes = MAX_SSE_BYTES) {}

  /**
   * Adds the events completed by these bytes to events (and returns it); throws SseError when a
   * limit is passed, leaving the events completed before the fault in the array.
   */
  push(chunk: Uint8Array, events: SseEvent[] = []): SseEvent[] {
    let start = 0
    if (this.afterCr && chunk[0] === LF) start = 1
    this.afterCr = false
    while (start < chunk.byteLength) {
      const lf = chunk.indexOf(LF, start)
      // Servers end lines with LF; look for a lone CR only up to the LF, not through the whole chunk.
      const cr = chunk.subarray(start, lf < 0 ? chunk.byteLength : lf).indexOf(CR)
      const end = cr < 0 ? lf : start + cr
      if (end < 0) {
        const rest = chunk.subarray(start)
        this.pending.push(rest)
        this.pendingBytes += rest.byteLength
        if (this.pendingBytes > this.maxBytes) throw this.tooLong()
        break
      }
      let bytes = chunk.subarray(start, end)
      if (this.pending.length > 0) {
        this.pending.push(bytes)
        bytes = concat(this.pending, this.pendingBytes + bytes.byteLength)
        this.pending = []
        this.pendingBytes = 0
      }
      if (bytes.byteLength > this.maxBytes) throw this.tooLong()
      const event = this.line(this.decoder.decode(bytes))
      if (event) events.push(event)
      if (chunk[end] === CR) {
        if (end + 1 === chunk.byteLength) {
          this.afterCr = true
          break
        }
        start = chunk[end + 1] === LF ? end + 2 : end + 1
      } else {
        start = end + 1
      }
    }
    return events
  }

  /**
   * The stream ended: the event its last lines make without the blank line that should close it
   * (a last line without its newline counted as one), or null when nothing was left. Some
   * gateways end a whole answer so (openai-node keeps that event too); whether the event itself
   * is whole, its reader judges (a JSON cut short does not parse).
   */
  flush(): SseEvent | null {
    if (this.pendingBytes > 0) {
      const bytes = concat(this.pending, this.pendingBytes)
      this.pending = []
      this.pendingBytes = 0
      const event = this.line(this.decoder.decode(bytes))
      if (event) return event
    }
    return this.line('')
  }

  /** The stream ended: an event left without its blank line means it was cut short. */
  end(): void {
    if (this.pendingBytes > 0 || this.data.length > 0) throw new SseError('malformed', 'a stream that ended in the middle of an event')
  }

  private tooLong(): SseError {
    return new SseError('too-large', `a line longer than ${this.maxBytes / 1024 / 1024} MiB`)
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (this.data.length === 0) {
        this.eventType = ''
        return null
      }
      const event = { event: this.eventType || 'message', data: this.data.length === 1 ? this.data[0]! : this.data.join('\n') }
      this.data = []
      this.dataChars = 0
      this.eventType = ''
      return event
    }
    if (line.charCodeAt(0) === 0x3a) return null // ":" comment, e.g. llama-server's keep-alive ping
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 0x20) value = value.slice(1)
    if (field === 'data') {
      this.dataChars += value.length + 1
      if (this.dataChars > this.maxBytes) throw new SseError('too-large', `an event larger than ${this.maxBytes / 1024 / 1024} MiB`)
      this.data.push(value)
    } else if (field === 'event') {
      this.eventType = value
    }
    // id and retry serve reconnecting EventSource clients; an answer is never resumed.
    return null
  }
}

/** Reads SSE events from bytes as they arrive; throws SseError when a limit is passed. */
export async function* readSse(body: AsyncIterable<Uint8Array>, maxBytes = MAX_SSE_BYTES): AsyncGenerator<SseEvent> {
  const decoder = new SseDecoder(maxBytes)
  for await (const chunk of body) yield* decoder.push(chunk)
  decoder.end()
}
