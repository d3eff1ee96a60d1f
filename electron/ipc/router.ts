// Validates and dispatches renderer requests. Transport-free: Electron's ipcMain and
// the browser-test bridge both feed it, so what tests exercise is what the app runs.
import {
  STREAM_EVENT,
  STREAM_START,
  isInvokeChannel,
  isStreamChannel,
  type Envelope,
  type InvokeChannel,
  type InvokeRequest,
  type InvokeResponses,
  type StreamChannel,
  type StreamChunks,
  type StreamEvent,
  type StreamRequest,
  type WireError,
} from './contract.js'
import { toWireError } from './errors.js'
import { StreamCancel, StreamStart, describeIssues, invokeChannels, streamChannels } from './schemas.js'

/** Who sent a request: a window, identified by its id and the URL of the frame that sent it. */
export interface Sender {
  id: number
  url: string
  /**
   * Whether that frame is the window's main frame (ipcSender in electron/main/security.ts
   * sets it from event.senderFrame): a frame inside a page is refused even when it has our
   * URL, since it is not the page we trust. Required, so no transport can forget it.
   */
  isMainFrame: boolean
  send(channel: string, payload: unknown): void
}

export interface CallContext {
  sender: Sender
}

export interface StreamContext extends CallContext {
  signal: AbortSignal
}

export type InvokeHandlers = {
  [C in InvokeChannel]: (request: InvokeRequest<C>, ctx: CallContext) => Promise<InvokeResponses[C]>
}
export type StreamHandlers = {
  [C in StreamChannel]: (request: StreamRequest<C>, ctx: StreamContext) => AsyncIterable<StreamChunks[C]>
}

export interface RouterOptions {
  invoke: InvokeHandlers
  stream: StreamHandlers
  isTrustedSender(url: string): boolean
  onError?(error: unknown, where: string): void
}

export interface Router {
  invoke(sender: Sender, channel: unknown, payload: unknown): Promise<Envelope<unknown>>
  startStream(sender: Sender, payload: unknown): Promise<Envelope<null>>
  cancelStream(sender: Sender, payload: unknown): Promise<Envelope<null>>
  /** A window closed or reloaded: stop everything it started. */
  releaseSender(senderId: number): void
  activeStreams(): number
}

const fail = (error: WireError): Envelope<never> => ({ ok: false, error })

export function createRouter(options: RouterOptions): Router {
  const streams = new Map<string, { senderId: number; controller: AbortController }>()

  const checkSender = (sender: Sender): WireError | null => {
    if (!sender.isMainFrame)
      return { code: 'untrusted-sender', message: `requests from a frame inside a page (${safeOrigin(sender.url)}) are not accepted` }
    return options.isTrustedSender(sender.url)
      ? null
      : { code: 'untrusted-sender', message: `requests from ${safeOrigin(sender.url)} are not accepted` }
  }

  async function invoke(sender: Sender, channel: unknown, payload: unknown): Promise<Envelope<unknown>> {
    const untrusted = checkSender(sender)
    if (untrusted) return fail(untrusted)
    if (!isInvokeChannel(channel)) return fail({ code: 'unknown-channel', message: `unknown channel ${describeChannel(channel)}` })
    const parsed = invokeChannels[channel].request.safeParse(payload)
    if (!parsed.success) return fail({ code: 'invalid-payload', message: `${channel}: ${describeIssues(parsed.error)}` })
    try {
      const handler = options.invoke[channel] as (request: unknown, ctx: CallContext) => Promise<unknown>
      return { ok: true, value: await handler(parsed.data, { sender }) }
    } catch (error) {
      options.onError?.(error, channel)
      return fail(toWireError(error))
    }
  }

  async function startStream(sender: Sender, payload: unknown): Promise<Envelope<null>> {
    const untrusted = checkSender(sender)
    if (untrusted) return fail(untrusted)
    const start = StreamStart.safeParse(payload)
    if (!start.success) return fail({ code: 'invalid-payload', message: `${STREAM_START}: ${describeIssues(start.error)}` })
    const { channel, streamId } = start.data
    if (!isStreamChannel(channel)) return fail({ code: 'unknown-channel', message: `unknown stream channel ${describeChannel(channel)}` })
    if (streams.has(streamId)) return fail({ code: 'duplicate-stream', message: `stream ${streamId} already exists` })
    const parsed = streamChannels[channel].request.safeParse(start.data.request)
    if (!parsed.success) return fail({ code: 'invalid-payload', message: `${channel}: ${describeIssues(parsed.error)}` })

    const controller = new AbortController()
    streams.set(streamId, { senderId: sender.id, controller })
    const emit = (event: StreamEvent): void => sender.send(STREAM_EVENT, event)
    const handler = options.stream[channel] as (request: unknown, ctx: StreamContext) => AsyncIterable<unknown>
    // Runs detached: the start call answers at once, the events follow on STREAM_EVENT.
    void (async () => {
      try {
        for await (const chunk of handler(parsed.data, { sender, signal: controller.signal })) emit({ streamId, type: 'chunk', chunk })
        emit({ streamId, type: 'end' })
      } catch (error) {
        options.onError?.(error, channel)
        emit({ streamId, type: 'error', error: toWireError(error) })
      } finally {
        streams.delete(streamId)
      }
    })()
    return { ok: true, value: null }
  }

  async function cancelStream(sender: Sender, payload: unknown): Promise<Envelope<null>> {
    const untrusted = checkSender(sender)
    if (untrusted) return fail(untrusted)
    const parsed = StreamCancel.safeParse(payload)
    if (!parsed.success) return fail({ code: 'invalid-payload', message: `stream:cancel: ${describeIssues(parsed.error)}` })
    const stream = streams.get(parsed.data.streamId)
    // A window may only cancel its own streams; an unknown id is already finished.
    if (stream && stream.senderId === sender.id) stream.controller.abort()
    return { ok: true, value: null }
  }

  function releaseSender(senderId: number): void {
    for (const s of streams.values()) if (s.senderId === senderId) s.controller.abort()
  }

  return { invoke, startStream, cancelStream, releaseSender, activeStreams: () => streams.size }
}

function describeChannel(channel: unknown): string {
  if (typeof channel !== 'string') return `(${typeof channel})`
  return JSON.stringify(channel.length > 64 ? `${channel.slice(0, 64)}…` : channel)
}

function safeOrigin(url: string): string {
  try {
    const parsed = new URL(url)
    // Node's URL has no origin for schemes it does not know (app:, file:): name scheme and host instead.
    return parsed.origin !== 'null' ? parsed.origin : `${parsed.protocol}//${parsed.host}`
  } catch {
    return 'an unknown origin'
  }
}
