// Main, as the renderer's controllers see it, for tests under Node: a fake bridge under the
// real typed client, so the fake answers exactly the calls AssistantClient can make. It records
// every call, answers invokes with what a test set, and hands the test each stream to feed.
import type {
  AssistantBridge,
  ChatChunk,
  ChatSummary,
  Conversation,
  EngineInfo,
  EngineState,
  InvokeChannel,
  InvokeRequest,
  InvokeResponses,
  PushChannel,
  PushEvents,
  StoredMessage,
  StreamChannel,
  StreamEvent,
  WireError,
} from '../../electron/ipc/contract.js'
import { createClient, type AssistantClient } from '../../renderer/src/lib/assistant.js'

export interface Call {
  channel: InvokeChannel | StreamChannel
  request: unknown
}

/** A stream a controller started: the test feeds it chunks and ends it, as main would. */
export interface FakeStream {
  id: string
  channel: StreamChannel
  request: unknown
  /** The renderer asked main to stop it. */
  cancelled: boolean
  push(chunk: ChatChunk): void
  end(): void
  fail(error: WireError): void
}

type Answer<C extends InvokeChannel> =
  InvokeResponses[C] | ((request: InvokeRequest<C>) => InvokeResponses[C] | Promise<InvokeResponses[C]>)

export class FakeAssistant {
  readonly calls: Call[] = []
  readonly streams: FakeStream[] = []
  readonly client: AssistantClient
  readonly #answers = new Map<InvokeChannel, (request: unknown) => unknown>()
  readonly #listeners = new Map<PushChannel, Set<(event: unknown) => void>>()

  constructor() {
    const bridge: AssistantBridge = {
      invoke: async (channel, request) => {
        this.calls.push({ channel, request })
        const answer = this.#answers.get(channel)
        if (!answer) return { ok: false, error: { code: 'unknown-channel', message: `the test gave no answer for ${channel}` } }
        try {
          // Cloned, as IPC does: the renderer never shares an object with main.
          return { ok: true, value: structuredClone(await answer(request)) }
        } catch (e) {
          return { ok: false, error: e as WireError }
        }
      },
      stream: async (channel, streamId, request, onEvent) => {
        this.calls.push({ channel, request })
        const send = (event: StreamEvent): void => onEvent(structuredClone(event))
        const stream: FakeStream = {
          id: streamId,
          channel,
          request,
          cancelled: false,
          push: (chunk) => send({ streamId, type: 'chunk', chunk }),
          end: () => send({ streamId, type: 'end' }),
          fail: (error) => send({ streamId, type: 'error', error }),
        }
        this.streams.push(stream)
        return { ok: true, value: null }
      },
      cancel: async (streamId) => {
        const stream = this.streams.find((s) => s.id === streamId)
        if (stream) stream.cancelled = true
        return { ok: true, value: null }
      },
      on: (channel, listener) => {
        const set = this.#listeners.get(channel) ?? new Set()
        set.add(listener)
        this.#listeners.set(channel, set)
        return () => set.delete(listener)
      },
    }
    this.client = createClient(bridge)
  }

  /** What main answers on a channel from now on: a value, or a function of the request. */
  answer<C extends InvokeChannel>(channel: C, answer: Answer<C>): this {
    this.#answers.set(channel, (request) => (typeof answer === 'function' ? (answer as (r: unknown) => unknown)(request) : answer))
    return this
  }

  /** Main refuses calls on a channel from now on. */
  refuse(channel: InvokeChannel, error: WireError): this {
    this.#answers.set(channel, () => Promise.reject(error))
    return this
  }

  /** Main pushes an event to the window. */
  emit<C extends PushChannel>(channel: C, event: PushEvents[C]): void {
    for (const listener of this.#listeners.get(channel) ?? []) listener(structuredClone(event))
  }

  /** The requests made on one channel, in order. */
  requests<C extends InvokeChannel>(channel: C): InvokeRequest<C>[] {
    return this.calls.filter((c) => c.channel === channel).map((c) => c.request as InvokeRequest<C>)
  }

  /** Every channel called, in order. */
  channels(): string[] {
    return this.calls.map((c) => c.channel)
  }

  /** Listeners still attached to a channel: a controller's stop() removes its own. */
  listening(channel: PushChannel): number {
    return this.#listeners.get(channel)?.size ?? 0
  }
}

export function message(
  id: string,
  role: StoredMessage['role'],
  text = '',
  status: StoredMessage['status'] = role === 'user' ? 'complete' : 'streaming',
): StoredMessage {
  return { id, role, text, images: [], createdAt: '2025-01-01T00:00:00.000Z', status, stats: null, error: null, model: null }
}

export function conversation(id: string, messages: StoredMessage[] = [], title = 'New conversation'): Conversation {
  return {
    version: 1,
    id,
    title,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    systemPrompt: '',
    settings: { maxTokens: 1024, temperature: 0.7 },
    model: null,
    messages,
  }
}

/** The sidebar's entry for a conversation, as main lists it. */
export const summary = (c: Conversation): ChatSummary => ({
  id: c.id,
  title: c.title,
  updatedAt: c.updatedAt,
  messageCount: c.messages.length,
  preview: c.messages[0]?.text ?? '',
})

interface LoadedModel {
  vision: boolean
  modelPath?: string
  mmprojPath?: string | null
}

export function engineInfo({
  vision,
  modelPath = '/models/tiny.gguf',
  mmprojPath = vision ? '/models/mmproj-tiny.gguf' : null,
}: LoadedModel): EngineInfo {
  return {
    modelPath,
    mmprojPath,
    binding: vision ? 'llama.node' : 'node-llama-cpp',
    backend: 'cpu',
    gpuName: null,
    gpuLayers: 0,
    totalLayers: 2,
    contextSize: 4096,
    vision,
    fallback: null,
    loadMs: 10,
    memory: { vramBytes: 0, ramBytes: 1 << 20 },
  }
}

export function readyEngine(model: LoadedModel): EngineState {
  return { state: 'ready', info: engineInfo(model) }
}
