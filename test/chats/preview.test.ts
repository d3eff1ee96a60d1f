// The sidebar's line under a conversation's title: plain words, never Markdown's marks or a thought.
import { describe, expect, it } from 'vitest'
import { ChatStore } from '../../electron/chats/store.js'
import { PREVIEW_CHARS, plainText, previewOf } from '../../electron/chats/preview.js'
import type { StoredMessage } from '../../electron/ipc/contract.js'
import { scratchDir } from '../support/engine.js'

const message = (role: StoredMessage['role'], text: string): StoredMessage => ({
  id: crypto.randomUUID(),
  role,
  text,
  images: [],
  createdAt: new Date().toISOString(),
  status: 'complete',
  stats: null,
  error: null,
  model: null,
})

describe('conversation preview', () => {
  it('lists an answer by its words, without the thought or the Markdown', async () => {
    const store = new ChatStore(await scratchDir())
    const chat = await store.create({ title: 'Build error' })
    await store.update(chat.id, (c) => {
      c.messages.push(store.newMessage('user', 'What is on my screen?'), {
        ...store.newMessage(
          'assistant',
          '<think>\nThe user wants the build error.\n</think>\n\n## Part 1: the **error**\n\nSee the [handbook](https://example.com/docs) and `tsc --noEmit`.',
        ),
        status: 'complete',
      })
    })
    const [summary] = await store.list()
    expect(summary!.preview).toBe('Part 1: the error See the handbook and tsc --noEmit.')
  })

  it('reads the marks of each kind as the window shows them', () => {
    expect(plainText('- one\n- *two*\n\n> quoted ~~old~~ new')).toBe('one two quoted old new')
    expect(plainText('| File | Error |\n| --- | --- |\n| a.ts | TS2307 |')).toBe('File Error a.ts TS2307')
    expect(plainText('```ts\nconst x = 1\n```\n\nthen ![a chart](c.png)')).toBe('const x = 1 then a chart')
    expect(plainText('Escaped \\*stars\\* and <https://auto.link>')).toBe('Escaped *stars* and https://auto.link')
    // HTML in an answer is shown as the text it is (renderer/src/lib/markdown.ts), so it is previewed so.
    expect(plainText('Use the <textarea> element.')).toBe('Use the <textarea> element.')
    expect(plainText('- [ ] a task\n\n---\n\nlast')).toBe('a task last')
  })

  it('keeps a question as typed, on one line', () => {
    expect(previewOf([message('user', '## not a heading?\n  *really*')])).toBe('## not a heading? *really*')
  })

  it('falls back to the message before when the last one has no words yet', () => {
    const question = message('user', 'Why?')
    expect(previewOf([question, { ...message('assistant', '<think>\nStill thinking'), status: 'streaming' }])).toBe('Why?')
    expect(previewOf([question, message('assistant', '<think>done</think>\n\n')])).toBe('Why?')
    expect(previewOf([])).toBe('')
  })

  it('is at most PREVIEW_CHARS long, however long the answer', () => {
    const long = previewOf([message('assistant', `# Title\n\n${'word '.repeat(5000)}`)])
    expect(long.length).toBe(PREVIEW_CHARS)
    expect(long.startsWith('Title word word')).toBe(true)
  })
})
