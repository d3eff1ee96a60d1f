// Messages between main and the engine process. Both ends are our code, so types
// suffice; renderer input was validated before it got here.
import type { EngineInfo, GenerateChunk, LoadRequest, WireError, LibraryScan } from '../ipc/contract.js'
import type { EngineRequest, Lane, LibraryOptions } from './types.js'

export type ToEngine =
  | { id: number; type: 'load'; request: LoadRequest }
  | { id: number; type: 'unload' }
  | { id: number; type: 'count'; text: string }
  // The copies the engine keeps of these pictures go: a deleted conversation's, by content key.
  | { id: number; type: 'forget'; imageIds: string[] }
  | { id: number; type: 'library'; root: string | null; linked: string[]; options: LibraryOptions }
  | { id: number; type: 'generate'; request: EngineRequest; lane: Lane }
  | { id: number; type: 'cancel' }

export type FromEngine =
  | { type: 'ready'; pid: number }
  | { id: number; type: 'result'; value: EngineInfo | LibraryScan | number | null }
  | { id: number; type: 'error'; error: WireError }
  | { id: number; type: 'chunks'; chunks: GenerateChunk[] }
  | { type: 'log'; line: string }
  // The loaded model's info changed without a load (its llama-server was started again elsewhere).
  | { type: 'info'; info: EngineInfo }
  // The loaded model is gone: its llama-server died and could not be started again.
  | { type: 'lost'; message: string }
