// The main-side services behind the IPC contract. Electron registers them on ipcMain;
// browser tests reach the same functions through the test bridge.
import type { AppInfo } from '../ipc/contract.js'
import type { InvokeHandlers, StreamHandlers } from '../ipc/router.js'
import type { EngineClient } from '../engine/client.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import { createChatService } from '../chats/chat-service.js'
import type { ChatStore } from '../chats/store.js'
import type { ApiController } from '../api/controller.js'

export interface ServiceDeps {
  engine: EngineClient
  /** Shared with the local API server, so the window's requests go first. */
  scheduler: GenerationScheduler
  chats: ChatStore
  api: ApiController
  appInfo: AppInfo
}

export function createServices({ engine, scheduler, chats, api, appInfo }: ServiceDeps): { invoke: InvokeHandlers; stream: StreamHandlers } {
  const conversations = createChatService(chats, engine, scheduler)
  return {
    invoke: {
      'app:info': async () => appInfo,
      'engine:status': async () => engine.state(),
      'engine:load': (request) => engine.load(request),
      'engine:unload': () => engine.unload(),
      'chats:list': ({ query }) => chats.list(query),
      'chats:get': ({ id }) => chats.get(id),
      'chats:create': (request) => chats.create(request),
      'chats:update': ({ id, title, systemPrompt, settings }) =>
        chats.update(id, (c) => {
          if (title !== undefined) c.title = title
          if (systemPrompt !== undefined) c.systemPrompt = systemPrompt
          if (settings !== undefined) c.settings = settings
        }),
      'chats:delete': async ({ id }) => {
        await chats.delete(id)
        return null
      },
      'chats:image': ({ chatId, imageId }) => chats.image(chatId, imageId),
      'api:status': async () => api.status(),
      'api:configure': (change) => api.configure(change),
    },
    stream: {
      'chat:generate': (request, { signal }) => scheduler.generate('ui', request, signal),
      'chats:send': (request, { signal }) => conversations.send(request, signal),
      'chats:regenerate': (request, { signal }) => conversations.regenerate(request, signal),
      'chats:edit': (request, { signal }) => conversations.edit(request, signal),
    },
  }
}
