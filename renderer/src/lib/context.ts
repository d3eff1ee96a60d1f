// The chat window's controllers and client, handed to every component through Svelte's
// context instead of props threaded through each level. App sets them once; components
// that need one ask for it.
import { getContext, hasContext, setContext } from 'svelte'
import type { AssistantClient } from './assistant'
import type { ChatController } from './chat.svelte'
import type { EnginesController } from './engines.svelte'
import type { ModelsController } from './models.svelte'

export interface AppContext {
  client: AssistantClient
  chat: ChatController
  models: ModelsController
  engines: EnginesController
}

/** A context key that carries its value's type, so set and get cannot disagree. */
type Key<T> = symbol & { readonly __value?: T }

const CLIENT: Key<AssistantClient> = Symbol('client')
const CHAT: Key<ChatController> = Symbol('chat')
const MODELS: Key<ModelsController> = Symbol('models')
const ENGINES: Key<EnginesController> = Symbol('engines')

function read<T>(key: Key<T>): T {
  // A component mounted outside App (a test, a new window) fails here with its name, not later on undefined.
  if (!hasContext(key)) throw new Error(`${key.description} is not in context: set it with setAppContext() in the root component`)
  return getContext<T>(key)
}

/** Called once, by the root component, during its initialisation. */
export function setAppContext({ client, chat, models, engines }: AppContext): void {
  setContext(CLIENT, client)
  setContext(CHAT, chat)
  setContext(MODELS, models)
  setContext(ENGINES, engines)
}

export const useClient = (): AssistantClient => read(CLIENT)
export const useChat = (): ChatController => read(CHAT)
export const useModels = (): ModelsController => read(MODELS)
export const useEngines = (): EnginesController => read(ENGINES)
