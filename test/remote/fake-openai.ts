// A small OpenAI-compatible server on 127.0.0.1 whose model list the test changes while it runs,
// as Ollama's or LM Studio's does when a model is pulled or removed. Models named in `blind`
// refuse images in llama-server's words; a model it does not list is refused in Ollama's.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeOpenAi {
  /** The base URL, ending in /v1. */
  url: string
  models: string[]
  /** Models that refuse images. */
  blind: Set<string>
  /** Models it answers without listing them, as a proxy's aliases. */
  aliases: Set<string>
  /** Each chat completion asked: its model, and whether it carried an image. */
  asked: { model: string; image: boolean }[]
  close(): Promise<void>
}

export async function startFakeOpenAi(models: string[], blind: string[] = []): Promise<FakeOpenAi> {
  const json = (res: ServerResponse, status: number, body: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const fake: FakeOpenAi = {
    url: '',
    models: [...models],
    blind: new Set(blind),
    aliases: new Set(),
    asked: [],
    close: async () => undefined,
  }
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (b: Buffer) => (text += b.toString()))
    req.on('end', () => {
      if (req.url === '/v1/models') return json(res, 200, { object: 'list', data: fake.models.map((id) => ({ id, object: 'model' })) })
      if (req.url !== '/v1/chat/completions') return json(res, 404, { error: { message: 'Not Found' } })
      const body = JSON.parse(text) as { model: string; messages: unknown }
      const image = JSON.stringify(body.messages).includes('image_url')
      fake.asked.push({ model: body.model, image })
      if (!fake.models.includes(body.model) && !fake.aliases.has(body.model))
        return json(res, 404, { error: { message: `model "${body.model}" not found, try pulling it first` } })
      if (image && fake.blind.has(body.model))
        return json(res, 500, { error: { message: 'image input is not supported - hint: you may need to provide the mmproj' } })
      json(res, 200, {
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: 'red' }, finish_reason: 'stop' }],
      })
    })
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  fake.close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections()
      server.close(() => ok())
    })
  return fake
}
