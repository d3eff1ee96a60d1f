// The project's llama-server renders the chat template over the whole conversation on every
// request; patch 0020 keeps each render's loop over the messages, so the render of a follow-up
// executes the loop only for its new messages. What it renders must be what a server that never
// rendered anything before renders, whatever came before: a shorter conversation, the same one, an
// earlier message edited, another conversation in between.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLlamaServer, type LlamaServer } from '../../bench/llama-server.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'

const binary = await findServerBinary()
if (!binary.found) console.warn(`[llama-server template] skipping: ${binary.reason}`)

/** At debug verbosity the server says when a render took loop iterations from an earlier one. */
const RESUMED = /loop iterations taken from the previous render/

interface TemplateCase {
  name: string
  /** null: the fixture model's own ChatML template. */
  source: string | null
  resumes: boolean
}

const TEMPLATES: TemplateCase[] = [
  { name: "the model's own ChatML", source: null, resumes: true },
  {
    name: 'a namespace counting pictures, loop.last, a macro',
    source:
      "{%- macro body(m) -%}{%- if m.content is string -%}{{ m.content }}{%- else -%}{%- for part in m.content -%}{%- if part.type == 'text' -%}{{ part.text }}{%- else -%}{%- set pics.n = pics.n + 1 -%}[picture {{ pics.n }}]<__media__>{%- endif -%}{%- endfor -%}{%- endif -%}{%- endmacro -%}" +
      '{%- set pics = namespace(n=0) -%}' +
      '{%- for message in messages -%}<|im_start|>{{ message.role }}\n{{ body(message) }}{% if not loop.last %}<|im_end|>\n{% endif %}{%- endfor -%}' +
      '<|im_end|>\n{{ pics.n }} pictures\n{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif -%}',
    resumes: true,
  },
  {
    name: 'Gemma-style: the system prompt folded into the first turn, roles checked',
    source:
      "{%- if messages[0].role == 'system' -%}{%- set first = messages[0].content + '\n\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first = '' -%}{%- set loop_messages = messages -%}{%- endif -%}" +
      "{%- for message in loop_messages -%}{%- if (message.role == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception('roles must alternate') }}{%- endif -%}" +
      "<|im_start|>{{ 'model' if message.role == 'assistant' else message.role }}\n{{ first if loop.first else '' }}{{ message.content if message.content is string else message.content | map(attribute='text') | join('') }}<|im_end|>\n{%- endfor -%}" +
      '{%- if add_generation_prompt %}<|im_start|>model\n{% endif -%}',
    resumes: true,
  },
  {
    name: 'Qwen 2.5-style: the next message read by index',
    source:
      "{%- for message in messages -%}<|im_start|>{{ message.role }}\n{{ message.content if message.content is string else message.content | map(attribute='text') | join('') }}" +
      "{%- if not loop.last and messages[loop.index0 + 1].role == 'assistant' %} (answered){% endif %}<|im_end|>\n{%- endfor -%}" +
      '{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif -%}',
    resumes: true,
  },
  {
    name: 'a body that reads loop.length (never resumed)',
    source:
      "{%- for message in messages -%}<|im_start|>{{ message.role }} {{ loop.index }}/{{ loop.length }}\n{{ message.content if message.content is string else 'parts' }}<|im_end|>\n{%- endfor -%}" +
      '{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif -%}',
    resumes: false,
  },
]

const HTTP_THREADS = 4

type Message = { role: string; content: string | { type: string; text?: string; image_url?: { url: string } }[] }
const PICTURE = 'data:image/png;base64,AA=='
const user = (text: string, picture = false): Message =>
  picture
    ? {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: PICTURE } },
          { type: 'text', text },
        ],
      }
    : { role: 'user', content: text }
const assistant = (text: string): Message => ({ role: 'assistant', content: text })

const system: Message = { role: 'system', content: 'Answer briefly.' }
const c1 = [system, user('What is on my screen?', true)]
const c2 = [...c1, assistant('A terminal.'), user('And this one?', true)]
const c3 = [...c2, assistant('A browser.'), user('Which is in front?')]
const c3Edited = [system, user('What is on my other screen?', true), ...c3.slice(2)]
const other = [user('Another conversation.')]
const c4 = [...c3, assistant('The terminal.'), user('Its title?', true)]
/** The order they are rendered in: growing, repeated, another between, an edit, growing again. */
const SEQUENCE = [c1, c2, other, c3, c3, c3Edited, c4]

describe.skipIf(!binary.found)('llama-server: chat template renders resumed from the previous one (patch 0020)', () => {
  let fx: FixturePaths
  let dir: string
  beforeAll(async () => {
    fx = await ensureFixtures()
    dir = await mkdtemp(join(tmpdir(), 'lva-template-'))
  })
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const start = async (template: TemplateCase, index: number, verbose: boolean): Promise<LlamaServer> => {
    const file = join(dir, `template-${index}.jinja`)
    if (template.source) await writeFile(file, template.source)
    return startLlamaServer({
      binary: (binary as { path: string }).path,
      model: fx.textModel,
      mmproj: fx.mmproj,
      contextSize: 1024,
      extraArgs: [
        '--jinja',
        '--threads-http',
        String(HTTP_THREADS),
        ...(template.source ? ['--chat-template-file', file] : []),
        ...(verbose ? ['--log-verbosity', '5'] : []),
      ],
    })
  }
  const render = async (server: LlamaServer, messages: Message[]): Promise<string> => {
    const res = await fetch(`${server.url}/apply-template`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    })
    const body = (await res.json()) as { prompt?: string; error?: { message?: string } }
    // Each server process draws its own media marker.
    return body.prompt?.replace(/<__media_\w+__>/g, '<__media__>') ?? `error: ${body.error?.message ?? res.status}`
  }

  it.each(TEMPLATES.map((t, i) => [t.name, t, i] as const))('%s', async (_name, template, index) => {
    // Each conversation rendered by a server that has rendered nothing else: nothing to resume from.
    const expected: string[] = []
    for (const messages of SEQUENCE) {
      const fresh = await start(template, index, false)
      try {
        expected.push(await render(fresh, messages))
      } finally {
        await fresh.stop()
      }
    }
    // The templates render these conversations, pictures and all, without an error.
    for (const prompt of expected) expect(prompt).not.toMatch(/^error/)

    const server = await start(template, index, true)
    // Its whole log from here on (server.log() is a window over the last few KB).
    let log = ''
    const keep = (b: Buffer): void => void (log += b.toString())
    server.process.stdout!.on('data', keep)
    server.process.stderr!.on('data', keep)
    const said = async (): Promise<number> => {
      // Log lines are written as the request is handled: give the pipe a moment.
      await new Promise((r) => setTimeout(r, 50))
      return log.match(new RegExp(RESUMED, 'g'))?.length ?? 0
    }
    try {
      let resumed = 0
      let seen = await said()
      for (const [i, messages] of SEQUENCE.entries()) {
        expect(await render(server, messages), `render ${i}`).toBe(expected[i])
        const now = await said()
        if (now > seen) resumed++
        seen = now
      }
      if (template.resumes) expect(resumed).toBeGreaterThan(0)
      else expect(resumed).toBe(0)
      // The server's HTTP threads render concurrently, through the template's one memo: four
      // at a time, as many as it has threads (a connection kept alive holds one).
      const rounds = Array.from({ length: 4 }, () => SEQUENCE.map((messages, i) => [messages, i] as const)).flat()
      for (let at = 0; at < rounds.length; at += HTTP_THREADS) {
        const wave = rounds.slice(at, at + HTTP_THREADS)
        const got = await Promise.all(wave.map(([messages]) => render(server, messages)))
        wave.forEach(([, i], k) => expect(got[k], `concurrent render ${i}`).toBe(expected[i]))
      }
    } finally {
      await server.stop()
    }
  })
})
