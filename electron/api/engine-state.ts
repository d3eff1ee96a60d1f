// The engine's state as the API sees it: which model answers, waiting out a load or a reload
// after a crash, and what a client is told when there is no model to answer with.
import { basename } from 'node:path'
import type { EngineState } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { toApiError } from './api-errors.js'
import { ApiError } from './openai-types.js'

/** Where the API reads the engine's state: now, and every later change. */
export interface EngineStateSource {
  engineState: () => EngineState
  /** Calls the listener with every later engine state until the returned function is called. */
  watchEngineState: (listener: (state: EngineState) => void) => () => void
}

export interface EngineStateFeed {
  publish(state: EngineState): void
  watch(listener: (state: EngineState) => void): () => void
}

/** EngineClient reports its states to one onState callback; this passes them on to startApiServer's watchEngineState. */
export function engineStateFeed(): EngineStateFeed {
  const listeners = new Set<(state: EngineState) => void>()
  return {
    publish: (state) => listeners.forEach((listener) => listener(state)),
    watch: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

/** The id clients name the loaded model by: its file name without .gguf. */
export function modelId(state: EngineState): string | null {
  return state.state === 'ready' ? basename(state.info.modelPath).replace(/\.gguf$/i, '') : null
}

/** The engine is getting a model ready: reloading it after a crash, or loading one. */
function settling(state: EngineState): boolean {
  return state.state === 'loading' || (state.state === 'crashed' && state.restarting)
}

/** The engine's state once it has settled, or when the wait (waitMs) runs out or the client leaves. */
export function settledEngineState(source: EngineStateSource, waitMs: number, signal: AbortSignal): Promise<EngineState> {
  const now = source.engineState()
  if (!settling(now)) return Promise.resolve(now)
  return new Promise((resolve) => {
    const done = (state: EngineState = source.engineState()): void => {
      clearTimeout(timer)
      stopWatching()
      signal.removeEventListener('abort', abort)
      resolve(state)
    }
    const abort = (): void => done()
    const timer = setTimeout(done, waitMs)
    const stopWatching = source.watchEngineState((state) => {
      if (!settling(state)) done(state)
    })
    signal.addEventListener('abort', abort, { once: true })
  })
}

/** Why there is no model to answer with, in words that say what happened. */
export function notReady(state: EngineState): ApiError {
  if (state.state === 'crashed' && state.restarting) return engineRestarting()
  if (state.state === 'loading')
    return new ApiError(503, 'A model is still loading in the app; try again shortly.', 'server_error', 'model_loading', null, RETRY_SOON)
  if (state.state === 'error')
    return new ApiError(503, `${state.message} Load a model in the app, then try again.`, 'server_error', 'model_not_loaded')
  // A user whose conversations go to a remote engine may have no model loaded here, and expect the
  // API to answer with that engine: say plainly that it does not.
  return new ApiError(
    503,
    'No model is loaded in the app. The local API serves the model loaded on this computer; remote engines are not served through it. Load a model, then try again.',
    'server_error',
    'model_not_loaded',
  )
}

/**
 * A request lost to an engine crash, which the engine client has already retried once in
 * the fresh process: while the model is back or on its way, that is a crash to try again
 * after, not a server fault.
 */
export function describeFailure(error: unknown, state: EngineState): ApiError {
  if (!(error instanceof AppError && error.code === 'engine-crashed')) return toApiError(error)
  return state.state === 'ready' || settling(state) ? engineRestarting() : notReady(state)
}

/** Clients that retry (OpenAI's do, on 503) should come back shortly when the model is on its way. */
export const RETRY_SOON = { 'retry-after': '2' }

function engineRestarting(): ApiError {
  return new ApiError(
    503,
    'The engine crashed and the model is reloading; try again.',
    'server_error',
    'engine_restarting',
    null,
    RETRY_SOON,
  )
}
