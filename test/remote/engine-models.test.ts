// A saved engine's models against a server whose list changes (a model pulled, another
// removed) and the user's own model changes: what Settings keeps, what the test says, and
// which model's image support a conversation is judged by.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openRemoteEngines, type RemoteEngines } from '../../electron/remote/engines.js'
import { scratchDir } from '../support/engine.js'
import { startFakeOpenAi, type FakeOpenAi } from './fake-openai.js'

const servers: FakeOpenAi[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

async function setUp(
  models: string[],
  blind: string[],
  model: string,
): Promise<{ server: FakeOpenAi; remotes: RemoteEngines; id: string }> {
  const server = await startFakeOpenAi(models, blind)
  servers.push(server)
  const remotes = await openRemoteEngines({ path: join(await scratchDir(), 'remote-engines.json'), secrets: () => null })
  const { id } = await remotes.add({ name: 'Box', baseUrl: server.url, model, allowUnencrypted: false })
  return { server, remotes, id }
}

describe('an engine’s models', () => {
  it('another model saved starts unknown, and the one before keeps its refusal', async () => {
    const { remotes, id } = await setUp(['vis', 'txt'], ['txt'], 'txt')
    await remotes.test(id)
    expect(remotes.view().engines[0]).toMatchObject({ model: 'txt', images: 'refused' })
    const input = { id, name: 'Box', baseUrl: remotes.view().engines[0]!.baseUrl, allowUnencrypted: false }

    // Saved with "vis": the test's finding was "txt"'s, and says nothing of "vis".
    expect(await remotes.update({ ...input, model: 'vis' })).toMatchObject({ model: 'vis', images: 'unknown' })
    expect(remotes.generator({ id, model: 'vis' }).canSee).toBe(true)
    expect(remotes.generator({ id, model: 'txt' }).canSee).toBe(false)
    expect(remotes.view().engines[0]!.imagesByModel).toEqual({ txt: 'refused' })

    // Back to "txt": still text-only, without another test.
    expect(await remotes.update({ ...input, model: 'txt' })).toMatchObject({ model: 'txt', images: 'refused' })
  })

  it('a test keeps the server’s list when the saved model is gone from it, and says so plainly', async () => {
    const { server, remotes, id } = await setUp(['txt'], [], 'txt')
    expect(await remotes.test(id)).toMatchObject({ models: ['txt'], images: 'accepted' })
    // "txt" removed from the server, "vis" pulled (Ollama answers a model it lacks with 404 "not found").
    server.models = ['vis']
    await expect(remotes.test(id)).rejects.toThrow(
      'The server no longer lists the model “txt”: choose one of the models it lists now, and test again.',
    )
    expect(remotes.view().engines[0]).toMatchObject({ model: 'txt', models: ['vis'] })
    // The new model can be chosen, and tests as any other.
    const saved = remotes.view().engines[0]!
    await remotes.update({ id, name: saved.name, baseUrl: saved.baseUrl, model: 'vis', allowUnencrypted: false })
    expect(await remotes.test(id)).toMatchObject({ models: ['vis'], images: 'accepted', model: 'vis' })
  })

  it('a model the server takes though it does not list it (an alias) still passes', async () => {
    const { server, remotes, id } = await setUp(['txt'], [], 'txt')
    server.models = ['other']
    // The fake refuses unlisted models; this one keeps answering for "txt" as a proxy's alias would.
    server.aliases.add('txt')
    expect(await remotes.test(id)).toMatchObject({ models: ['other'], images: 'accepted', model: 'txt' })
  })
})
