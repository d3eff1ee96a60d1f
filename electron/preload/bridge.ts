// Builds `window.assistant` over a transport: Electron IPC in the preload, a test
// binding in browser tests. Channel names are checked here too, so the page can reach
// nothing but the contract's channels.
import {
  STREAM_CANCEL,
  STREAM_EVENT,
  STREAM_START,
  isInvokeChannel,
  isStreamChannel,
  pushChannels,
  type AssistantBridge,
  type Envelope,
  type StreamEvent,
} from '../ipc/contract'

export interface Transport {
  invoke(channel: string, payload: unknown): Promise<unknown>
  on(channel: string, listener: (payload: unknown) => void): () => void
}

const refuse = (message: string): Envelope<never> => ({ ok: false, error: { code: 'unknown-channel', message } })

export function createBridge(transport: Transport): AssistantBridge {
  const listeners = new Map<string, (event: StreamEvent) => void>()
  transport.on(STREAM_EVENT, (payload) => {
    const event = payload as StreamEvent
    const listener = listeners.get(event.streamId)
    if (!listener) return
    if (event.type !== 'chunk') listeners.delete(event.streamId)
    listener(event)
  })

  return {
    async invoke(channel, request) {
      if (!isInvokeChannel(channel)) return refuse(`unknown channel ${String(channel)}`)
      return (await transport.invoke(channel, request)) as Envelope<unknown>
    },
    async stream(channel, streamId, request, onEvent) {
      if (!isStreamChannel(channel)) return refuse(`unknown stream channel ${String(channel)}`)
      if (typeof onEvent !== 'function') return { ok: false, error: { code: 'invalid-payload', message: 'stream needs an event listener' } }
      listeners.set(streamId, onEvent)
      const result = (await transport.invoke(STREAM_START, { channel, streamId, request })) as Envelope<null>
      if (!result.ok) listeners.delete(streamId)
      return result
    },
    async cancel(streamId) {
      return (await transport.invoke(STREAM_CANCEL, { streamId })) as Envelope<null>
    },
    on(channel, listener) {
      if (!(pushChannels as readonly string[]).includes(channel)) throw new Error(`unknown event ${String(channel)}`)
      return transport.on(channel, listener)
    },
  }
}
