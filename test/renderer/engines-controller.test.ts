/// <reference types="svelte" />
// (The reference: the controllers use runes, and tsconfig.node.json names only Node's types.)
// The remote engines as the chat controller sees them, against a fake main: which engine
// answers the open conversation (or a new one), whether a question may be asked with no model
// loaded here, what images it takes, and the address check that decides when to ask about http.
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Conversation, EngineSettingsView, RemoteEnginesView } from '../../electron/ipc/contract.js'
import { ChatController } from '../../renderer/src/lib/chat.svelte.js'
import { EnginesController, needsUnencryptedConsent } from '../../renderer/src/lib/engines.svelte.js'
import { openRemoteEngines } from '../../electron/remote/engines.js'
import { startFakeOpenAi } from '../remote/fake-openai.js'
import { scratchDir } from '../support/engine.js'
import { conversation, FakeAssistant } from './fake-assistant.js'

const ID = '6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c'
const engineSettings: EngineSettingsView = {
  settings: { cpuOnly: false, threads: 'auto', imageDetail: 'balanced', screenText: 'auto' },
  cpu: { logicalCores: 2, physicalCores: 2, autoThreads: 2 },
}

describe('remote engines in the chat controller', () => {
  let main: FakeAssistant
  let view: RemoteEnginesView
  let stored: Conversation

  beforeEach(() => {
    view = {
      engines: [
        {
          id: ID,
          name: 'GPU box',
          baseUrl: 'http://10.0.0.2/v1',
          model: 'm',
          allowUnencrypted: false,
          hasKey: false,
          images: 'refused',
          imagesByModel: { m: 'refused' },
          models: ['m'],
        },
      ],
      keyStorage: 'session',
      defaultEngine: null,
    }
    stored = conversation('c1')
    main = new FakeAssistant()
      .answer('engine:status', { state: 'idle' })
      .answer('engineSettings:get', engineSettings)
      .answer('chats:list', () => [])
      .answer('chats:get', () => stored)
      .answer('chats:update', ({ engine }) => {
        stored = { ...stored, engine: engine ?? null }
        return stored
      })
      .answer('engines:list', () => view)
      .answer('engines:set-default', ({ engine }) => (view = { ...view, defaultEngine: engine }))
  })

  it('answers on this computer until an engine is chosen, then from the server, with no model loaded here', async () => {
    const engines = new EnginesController(main.client)
    const chat = new ChatController(main.client, engines)
    await Promise.all([chat.start(), engines.refresh()])
    expect(chat.remote).toBeNull()
    expect(chat.ready).toBe(false)

    // Before any conversation is open, the default is what a new one gets.
    await engines.setDefault({ id: ID, model: 'm' })
    expect(chat.remote).toMatchObject({ name: 'GPU box', model: 'm' })
    expect(chat.ready).toBe(true)
    // A text-only server: images go as the text read on them.
    expect(chat.vision).toBe(false)
    expect(chat.textOnly).toBe(true)

    await chat.open('c1')
    expect(chat.remote).toBeNull()
    await chat.setEngine({ id: ID, model: 'm' })
    expect(main.requests('chats:update')).toEqual([{ id: 'c1', engine: { id: ID, model: 'm' } }])
    expect(chat.remote?.name).toBe('GPU box')
    expect(chat.modelMismatch).toBeNull()

    await chat.setEngine(null)
    expect(chat.remote).toBeNull()
    expect(chat.ready).toBe(false)
  })

  it('names a removed engine rather than quietly answering here', async () => {
    const engines = new EnginesController(main.client)
    const chat = new ChatController(main.client, engines)
    stored = { ...conversation('c1'), engine: { id: ID, model: 'm' } }
    view = { ...view, engines: [] }
    await Promise.all([chat.start(), engines.refresh()])
    await chat.open('c1')
    expect(chat.remote).toMatchObject({ name: 'a removed engine', images: 'unknown' })
  })

  it('an engine removed here leaves the open conversation answered on this computer, as main leaves it', async () => {
    main.answer('engines:remove', () => {
      view = { ...view, engines: [] }
      stored = { ...stored, engine: null }
      return null
    })
    const engines = new EnginesController(main.client)
    const chat = new ChatController(main.client, engines)
    stored = { ...conversation('c1'), engine: { id: ID, model: 'm' } }
    await Promise.all([chat.start(), engines.refresh()])
    await chat.open('c1')
    expect(chat.remote?.name).toBe('GPU box')
    await engines.remove(ID)
    expect(chat.remote).toBeNull()
    expect(chat.current?.engine ?? null).toBeNull()
  })

  it('judges images model by model, as main does when it sends them', async () => {
    // One server, two models: the test probes "txt", which refuses images; "vis" is untested.
    const server = await startFakeOpenAi(['vis', 'txt'], ['txt'])
    try {
      const remotes = await openRemoteEngines({ path: join(await scratchDir(), 'remote-engines.json'), secrets: () => null })
      const { id } = await remotes.add({ name: 'Box', baseUrl: server.url, model: 'txt', allowUnencrypted: false })
      expect(await remotes.test(id)).toMatchObject({ images: 'refused', model: 'txt' })
      main.answer('engines:list', () => remotes.view())
      const engines = new EnginesController(main.client)
      await engines.refresh()
      for (const model of ['txt', 'vis', 'never-tested']) {
        const window = engines.answerer({ id, model })!.images !== 'refused'
        expect(window, model).toBe(remotes.generator({ id, model }).canSee)
      }
      expect(engines.answerer({ id, model: 'vis' })?.images).toBe('unknown')
      // A model that refused images in a conversation is text-only in the window too.
      await remotes.imagesRefused({ id, model: 'vis' })
      await engines.refresh()
      expect(engines.answerer({ id, model: 'vis' })?.images).toBe('refused')
    } finally {
      await server.close()
    }
  })

  it('asks about unencrypted http only for addresses on the internet', () => {
    for (const address of [
      'http://127.0.0.1:8080/v1',
      'http://localhost:11434/v1',
      'http://192.168.1.20/v1',
      'http://gpu.local/v1',
      'http://[::1]:8080',
    ])
      expect(needsUnencryptedConsent(address), address).toBe(false)
    for (const address of ['http://example.com/v1', 'http://8.8.8.8/v1']) expect(needsUnencryptedConsent(address), address).toBe(true)
    for (const address of ['https://example.com/v1', 'not a url', 'javascript:alert(1)'])
      expect(needsUnencryptedConsent(address), address).toBe(false)
  })
})
