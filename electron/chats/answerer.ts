// Who answers a conversation: the engine on this computer, through the scheduler it shares with
// the API, or the remote engine the conversation names.
import type { Conversation, GenerateChunk, GenerateRequest } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { EngineClient } from '../engine/client.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import { framed } from '../engine/frames.js'
import type { RemoteEngines } from '../remote/engines.js'

export interface Answerer {
  generate(request: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateChunk>
  canSee: boolean
  contextSize: number | null
  /** A remote engine's name; null for this computer's. */
  engineName: string | null
  model: string | null
}

/** The engines a conversation may be answered by. */
export interface Engines {
  engine: EngineClient
  scheduler: GenerationScheduler
  /** The inference servers elsewhere a conversation may use; null: this computer's engine only. */
  remotes: RemoteEngines | null
}

/**
 * Who answers this conversation: the engine on this computer (through the scheduler it shares
 * with the API), or a remote one, whose server is first asked its context (once per run).
 */
export async function answererOf(chat: Conversation, { engine, scheduler, remotes }: Engines, signal?: AbortSignal): Promise<Answerer> {
  if (chat.engine) {
    if (!remotes) throw new AppError('not-found', 'Remote engines are not available here.')
    const remote = remotes.generator(chat.engine)
    await remote.engine.readServerFacts(signal)
    return {
      // The local engine's host already sends a frame's tokens together; a server's arrive one read each.
      generate: (request, signal) => framed(remote.engine.generate(request, signal, 'ui')),
      canSee: remote.canSee,
      // Null while the server has not said it (not llama-server, and no refusal yet): the text
      // layer keeps its default bound, and the first refusal says it.
      get contextSize() {
        return remote.engine.contextSize
      },
      engineName: remote.name,
      model: chat.engine.model,
    }
  }
  const state = engine.state()
  return {
    generate: (request, signal) => scheduler.generate('ui', request, signal),
    canSee: state.state !== 'ready' || state.info.vision,
    contextSize: state.state === 'ready' ? state.info.contextSize : null,
    engineName: null,
    model: state.state === 'ready' ? state.info.modelPath : null,
  }
}
