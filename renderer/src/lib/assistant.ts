// Typed client over `window.assistant`: awaited calls that throw AssistantError, and
// streams as async iterables with cancel().
import type {
  AssistantBridge,
  Envelope,
  ErrorCode,
  InvokeChannel,
  InvokeRequest,
  InvokeResponses,
  PushChannel,
  PushEvents,
  StreamChannel,
  StreamChunks,
  StreamEvent,
  StreamRequest,
} from '@contract'

export class AssistantError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'AssistantError'
  }
}

/** A call that ended because the user stopped it (Stop loading): nothing failed, so nothing is shown. */
export function stoppedByUser(e: unknown): boolean {
  return e instanceof AssistantError && e.code === 'load-cancelled'
}

/** What to show the user for a failed call: our errors carry a sentence, others their text. */
export function errorText(e: unknown): string {
  return e instanceof AssistantError ? e.message : String(e)
}

export interface AssistantStream<T> extends AsyncIterable<T> {
  readonly id: string
  cancel(): Promise<void>
}

function unwrap<T>(envelope: Envelope<unknown>): T {
  if (envelope.ok) return envelope.value as T
  throw new AssistantError(envelope.error.code, envelope.error.message)
}

export function createClient(bridge: AssistantBridge) {
  return {
    async invoke<C extends InvokeChannel>(
      channel: C,
      ...request: InvokeRequest<C> extends undefined ? [] : [InvokeRequest<C>]
    ): Promise<InvokeResponses[C]> {
      return unwrap(await bridge.invoke(channel, request[0]))
    },

    stream<C extends StreamChannel>(channel: C, request: StreamRequest<C>): AssistantStream<StreamChunks[C]> {
      const id = crypto.randomUUID()
      const pending: StreamEvent[] = []
      let wake: (() => void) | null = null
      const push = (event: StreamEvent): void => {
        pending.push(event)
        wake?.()
      }
      const started = bridge.stream(channel, id, request, push).then((result) => {
        if (!result.ok) push({ streamId: id, type: 'error', error: result.error })
      })

      async function* iterate(): AsyncGenerator<StreamChunks[C]> {
        for (;;) {
          const event = pending.shift()
          if (!event) {
            await new Promise<void>((resolve) => (wake = resolve))
            wake = null
            continue
          }
          if (event.type === 'chunk') yield event.chunk as StreamChunks[C]
          else if (event.type === 'end') return
          else throw new AssistantError(event.error.code, event.error.message)
        }
      }

      return {
        id,
        [Symbol.asyncIterator]: iterate,
        async cancel() {
          await started
          unwrap(await bridge.cancel(id))
        },
      }
    },

    on<C extends PushChannel>(channel: C, listener: (event: PushEvents[C]) => void): () => void {
      return bridge.on(channel, (event) => listener(event as PushEvents[C]))
    },
  }
}

export type AssistantClient = ReturnType<typeof createClient>

declare global {
  interface Window {
    assistant: AssistantBridge
  }
}
