// The chat window's view in real Chromium against the real services: following a streaming
// answer as it grows, what HTML in an answer may become, stored images that are gone, the
// sidebar's rename and delete (their errors, their focus), and a Copy the clipboard refuses.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { ChatChunk, StoredMessage, StreamEvent } from '../../electron/ipc/contract.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { solidPng } from '../support/images.js'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

declare global {
  interface Window {
    /** Set by a test: the next question is answered by the test (__play, __finish), not the engine. */
    __scripted?: boolean
    /** Streams these pieces of the scripted answer, one every intervalMs; resolves when all are shown. */
    __play?: (pieces: string[], intervalMs: number) => Promise<void>
    /** Ends the scripted answer as main would. */
    __finish?: () => void
  }
}

/**
 * Runs in the page: while window.__scripted is set, a question is answered with what the test
 * plays, chunk by chunk as main streams them, so the view can be watched at any point of an answer.
 */
function scriptedAnswers(): void {
  const real = window.assistant.stream.bind(window.assistant)
  window.assistant.stream = (channel, streamId, request, onEvent) => {
    if (!window.__scripted || channel !== 'chats:send') return real(channel, streamId, request, onEvent)
    const message = (role: StoredMessage['role'], text: string, status: StoredMessage['status']): StoredMessage => ({
      id: crypto.randomUUID(),
      role,
      text,
      images: [],
      createdAt: new Date().toISOString(),
      status,
      stats: null,
      error: null,
      model: null,
    })
    const send = (event: StreamEvent): void => onEvent(event)
    const chunk = (c: ChatChunk): void => send({ streamId, type: 'chunk', chunk: c })
    const question = message('user', (request as { text: string }).text, 'complete')
    const answer = message('assistant', '', 'streaming')
    let pieces = 0
    window.__play = (texts, intervalMs) =>
      new Promise((done) => {
        let i = 0
        const timer = setInterval(() => {
          const text = texts[i++]
          if (text === undefined) {
            clearInterval(timer)
            // Two frames: the answer renders once a frame.
            requestAnimationFrame(() => requestAnimationFrame(() => done()))
            return
          }
          answer.text += text
          pieces++
          chunk({ kind: 'tokens', messageId: answer.id, text, count: 1 })
        }, intervalMs)
      })
    window.__finish = () => {
      const stats = { tokensIn: 1, tokensOut: pieces, imageTokens: 0, timeToFirstTokenMs: 1, tokensPerSecond: 1, totalMs: 1 }
      chunk({ kind: 'done', message: { ...answer, status: 'complete', stats: { ...stats, stopReason: 'eos' } } })
      send({ streamId, type: 'end' })
    }
    setTimeout(() => {
      chunk({ kind: 'message', message: question })
      chunk({ kind: 'message', message: answer })
    })
    return Promise.resolve({ ok: true, value: null })
  }
}

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

describe.skipIf(skip !== null)('chat view in Chromium', () => {
  let h: Harness
  let fx: FixturePaths

  beforeAll(async () => {
    fx = await ensureFixtures()
    h = await startHarness()
  })
  afterAll(async () => h?.close())

  /** A new window, with what it throws and logs as errors collected. */
  async function open(): Promise<{ page: Page; errors: string[] }> {
    const page = await h.openApp()
    // What is missing fails the test in seconds, not at its timeout.
    page.setDefaultTimeout(5000)
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    // Started: the status bar says what is loaded (expect.poll cannot run in a beforeAll).
    await page.getByTestId('status-bar').filter({ hasText: /\S/ }).waitFor()
    return { page, errors }
  }

  /** A conversation of one question and its finished answer, as main keeps it. */
  async function seed(title: string, question: string, answer: string): Promise<string> {
    const chat = await h.chats.create({ title })
    await h.chats.update(chat.id, (c) => {
      c.messages.push(h.chats.newMessage('user', question), { ...h.chats.newMessage('assistant', answer), status: 'complete' })
    })
    return chat.id
  }

  describe('following a streaming answer', () => {
    let page: Page
    const messages = () => page.getByRole('list', { name: 'Messages' })
    /** How far the end of the conversation is below what is shown. */
    const belowView = (): Promise<number> => messages().evaluate((l) => Math.round(l.scrollHeight - l.clientHeight - l.scrollTop))
    const lines = (count: number, what: string): string[] =>
      Array.from({ length: count }, (_, i) => `${what} line ${i} with several words in it.\n\n`)
    const play = (pieces: string[], intervalMs = 15): Promise<void> =>
      page.evaluate(([p, ms]) => window.__play!(p, ms), [pieces, intervalMs] as const)

    async function ask(question: string): Promise<void> {
      await page.getByRole('button', { name: '+ New conversation' }).click()
      await expect.poll(() => page.getByRole('list', { name: 'Messages' }).textContent()).toContain('Ask a question')
      await page.evaluate(() => {
        window.__scripted = true
        window.__play = undefined
      })
      const box = page.getByRole('textbox', { name: 'Message' })
      await box.fill(question)
      await box.press('Enter')
      await expect.poll(() => page.getByRole('button', { name: 'Stop' }).count()).toBe(1)
      await expect.poll(() => page.evaluate(() => typeof window.__play)).toBe('function')
    }

    async function finish(): Promise<void> {
      await page.evaluate(() => window.__finish!())
      await expect.poll(() => page.getByRole('button', { name: 'Stop' }).count()).toBe(0)
    }

    beforeAll(async () => {
      page = await h.openApp()
      await page.addInitScript(scriptedAnswers)
      await page.reload()
      // The answers are the test's; a model is loaded only because a question needs one.
      await page.getByPlaceholder('/path/to/model.gguf').fill(fx.textModel)
      await page.getByRole('button', { name: 'Load', exact: true }).click()
      await page.locator('textarea[aria-label="Message"]:enabled').waitFor({ timeout: 30_000 })
    })
    afterAll(async () => page?.close())
    // A test that failed midway leaves its answer streaming: ended, so the next test starts afresh.
    afterEach(async () => {
      await page.evaluate(() => window.__finish?.())
      await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached' })
    })

    it('keeps following a reasoning answer after its thought folds away', async () => {
      await ask('Think it over')
      await play(['<think>\n', ...lines(40, 'Thinking')])
      const thought = page.getByTestId('turn-assistant').last().getByTestId('thought')
      expect(await thought.evaluate((el) => (el as HTMLDetailsElement).open)).toBe(true)
      expect(await belowView()).toBeLessThan(80)
      // The answer starts: the thought folds away, the view shrinks, and the answer goes on below.
      await play(['</think>\n\n', ...lines(40, 'Answer')])
      expect(await thought.evaluate((el) => (el as HTMLDetailsElement).open)).toBe(false)
      expect(await belowView()).toBeLessThan(80)
      await finish()
      expect(await belowView()).toBeLessThan(80)
    })

    it('stops following a plain answer when the reader scrolls up, and follows again from the end', async () => {
      await ask('Tell me a lot')
      await play(lines(60, 'Answer'))
      expect(await belowView()).toBeLessThan(80)
      await messages().hover()
      await page.mouse.wheel(0, -600)
      await expect.poll(belowView).toBeGreaterThan(300)
      const top = await messages().evaluate((l) => l.scrollTop)
      await play(lines(20, 'More'))
      // Where the reader scrolled to stays put, and the answer grows below it.
      expect(await messages().evaluate((l) => l.scrollTop)).toBe(top)
      expect(await belowView()).toBeGreaterThan(600)
      await page.mouse.wheel(0, 100_000)
      await expect.poll(belowView).toBeLessThan(80)
      await play(lines(20, 'Last'))
      expect(await belowView()).toBeLessThan(80)
      await finish()
      expect(await belowView()).toBeLessThan(80)
    })
  })

  it('shows HTML in an answer’s prose as text, never as live elements; code, links and comparisons still render', async () => {
    await seed(
      'Raw HTML sample',
      'How do I take several lines of input?',
      [
        'Use the <textarea> element for multi-line input. Then the <details> element.',
        '',
        '<select><option>one</option></select> <button onclick="window.pwned = true">Press</button> <input value="typed">',
        '',
        '<details open><summary>More</summary>Hidden inside</details>',
        '',
        'Second paragraph after, with [the docs](https://example.com/docs) and 2 < 3 > 1.',
        '',
        '```html',
        '<textarea rows="3"></textarea>',
        '```',
        '',
        '| a | b |',
        '|---|---|',
        '| 1 | 2 |',
      ].join('\n'),
    )
    const { page, errors } = await open()
    const md = page.getByTestId('turn-assistant').last().getByTestId('markdown')
    await expect.poll(() => md.textContent()).toContain('Second paragraph after')
    // Nothing the model wrote became a form element or a fold; the one button is the code's Copy.
    expect(await md.locator('textarea, select, option, input, details, summary, form').count()).toBe(0)
    expect(await md.getByRole('button').allTextContents()).toEqual(['Copy'])
    const shown = await md.innerText()
    expect(shown).toContain('Use the <textarea> element for multi-line input. Then the <details> element.')
    expect(shown).toContain('<button onclick="window.pwned = true">Press</button>')
    expect(shown).toContain('<details open><summary>More</summary>Hidden inside</details>')
    expect(shown).toContain('2 < 3 > 1')
    // A code block is still highlighted, its markup shown as code.
    expect(await md.locator('pre code').textContent()).toBe('<textarea rows="3"></textarea>')
    expect(await md.locator('pre code .hljs-tag').count()).toBeGreaterThan(0)
    expect(await md.locator('table td').allTextContents()).toEqual(['1', '2'])
    expect(await md.locator('a').getAttribute('href')).toBe('https://example.com/docs')
    expect(await md.locator('a').getAttribute('target')).toBe('_blank')
    expect(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned)).toBeUndefined()
    expect(errors).toEqual([])
    await page.close()
  })

  it('shows a stored image whose file is gone as a tile that says so, and shows it again once it is back', async () => {
    const chat = await h.chats.create({ title: 'Missing image sample' })
    const [stored] = await h.chats.saveImages(chat.id, [{ bytes: await solidPng(60, 40, '#00aa00'), name: 'gone.png' }])
    await h.chats.update(chat.id, (c) => void c.messages.push(h.chats.newMessage('user', 'What is this?', [stored!])))
    const folder = join(h.dataDir, 'chats', chat.id, 'images')
    const [file] = await readdir(folder)
    const bytes = await readFile(join(folder, file!))
    await rm(join(folder, file!))
    const other = await seed('Another sample', 'Hello?', 'Hello.')

    const { page, errors } = await open()
    const nav = page.getByRole('navigation', { name: 'Conversations' })
    await nav.getByRole('button', { name: /^Missing image sample/ }).click()
    const question = page.getByTestId('turn-user').last()
    const tile = question.getByTestId('missing-image')
    await expect.poll(async () => (await tile.allTextContents()).join('')).toMatch(/gone\.png.*no longer stored/)
    expect(await question.locator('img').count()).toBe(0)
    expect(await question.getByTestId('turn-text').textContent()).toBe('What is this?')
    expect(errors).toEqual([])
    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'chat-missing-image.png') })

    // The file is back (restored from a backup): the next look at the conversation finds it.
    await writeFile(join(folder, file!), bytes)
    await nav.getByRole('button', { name: /^Another sample/ }).click()
    await expect.poll(() => page.getByTestId('turn-user').last().getByTestId('turn-text').textContent()).toBe('Hello?')
    await nav.getByRole('button', { name: /^Missing image sample/ }).click()
    await expect
      .poll(() =>
        question
          .locator('img')
          .first()
          .evaluate((img: HTMLImageElement) => img.naturalWidth)
          .catch(() => 0),
      )
      .toBe(60)
    expect(await tile.count()).toBe(0)
    expect(errors).toEqual([])
    await page.close()
    await h.chats.delete(chat.id)
    await h.chats.delete(other)
  })

  describe('the sidebar', () => {
    let page: Page
    let errors: string[]
    const nav = () => page.getByRole('navigation', { name: 'Conversations' })
    const sidebarError = () => nav().getByRole('alert')
    /** What has the focus, as a screen reader would name it. */
    const focused = (): Promise<string> =>
      page.evaluate(() => {
        const el = document.activeElement
        if (!(el instanceof HTMLElement) || el === document.body) return 'the page'
        return el.getAttribute('aria-label') ?? el.innerText.replace(/\s+/g, ' ').trim()
      })

    beforeAll(async () => {
      for (const chat of await h.chats.list()) await h.chats.delete(chat.id)
      // Listed newest first: Third, Second, First.
      for (const title of ['First', 'Second', 'Third']) await seed(`${title} talk`, `${title} question`, `${title} answer`)
      ;({ page, errors } = await open())
      await page.getByTestId('conversation').nth(2).waitFor()
    })
    afterAll(async () => page?.close())

    it('takes a title no longer than main keeps, and renames to it', async () => {
      await nav().getByRole('button', { name: 'Rename Third talk' }).click()
      const field = nav().getByRole('textbox', { name: 'Conversation title' })
      await field.fill('y'.repeat(210))
      expect(await field.inputValue()).toBe('y'.repeat(200))
      await field.press('Enter')
      await expect.poll(async () => (await h.chats.list())[0]!.title).toBe('y'.repeat(200))
      await expect.poll(() => field.count()).toBe(0)
      expect(await sidebarError().count()).toBe(0)
      // The focus is back on the conversation renamed.
      expect(await focused()).toBe(`${'y'.repeat(200)} Third answer`)
      await nav()
        .getByRole('button', { name: `Rename ${'y'.repeat(200)}` })
        .click()
      await field.fill('Third talk')
      await field.press('Enter')
      await expect.poll(() => nav().textContent()).toContain('Third talk')
      // Esc leaves the title as it was, and the focus on the conversation too.
      await nav().getByRole('button', { name: 'Rename Third talk' }).click()
      await field.fill('Not this')
      await field.press('Escape')
      expect(await field.count()).toBe(0)
      expect(await focused()).toBe('Third talk Third answer')
      expect(errors).toEqual([])
    })

    it('says in the sidebar why a rename or a delete failed', async () => {
      // Deleted behind this window's back (in another window, say).
      const gone = (await h.chats.list()).find((c) => c.title === 'First talk')!.id
      await h.chats.delete(gone)
      await nav().getByRole('button', { name: 'Rename First talk' }).click()
      await nav().getByRole('textbox', { name: 'Conversation title' }).fill('Renamed')
      await nav().getByRole('textbox', { name: 'Conversation title' }).press('Enter')
      await expect.poll(() => sidebarError().textContent()).toBe('That conversation no longer exists.')
      await nav().getByRole('button', { name: 'Delete First talk' }).click()
      await nav().getByRole('group', { name: 'Delete First talk?' }).getByRole('button', { name: 'Delete', exact: true }).click()
      await expect.poll(() => sidebarError().textContent()).toBe('That conversation no longer exists.')
      // The question is gone; the ✕ that asked it has the focus back.
      await expect.poll(focused).toBe('Delete First talk')
      expect(errors).toEqual([])
    })

    it('deleting with the keyboard asks first, and leaves the focus on the next conversation, else the previous, else New', async () => {
      for (const chat of await h.chats.list()) await h.chats.delete(chat.id)
      for (const title of ['Second', 'Third', 'First']) await seed(`${title} talk`, `${title} question`, `${title} answer`)
      // A search, then none, reads the list again.
      const search = page.getByRole('searchbox', { name: 'Search conversations' })
      await search.fill('talk')
      await expect
        .poll(() => page.getByTestId('conversation').locator('.title').allTextContents())
        .toEqual(['First talk', 'Third talk', 'Second talk'])
      await search.fill('')
      await expect
        .poll(() => page.getByTestId('conversation').locator('.title').allTextContents())
        .toEqual(['First talk', 'Third talk', 'Second talk'])
      await nav().getByRole('button', { name: 'Delete Third talk' }).focus()
      await page.keyboard.press('Enter')
      // The question takes the focus to its safe answer; Esc gives it, and the focus goes back.
      await expect.poll(focused).toBe('Keep')
      await page.keyboard.press('Escape')
      await expect.poll(focused).toBe('Delete Third talk')
      await page.keyboard.press('Enter')
      await expect.poll(focused).toBe('Keep')
      await page.screenshot({ path: join(ARTIFACTS, 'chat-sidebar-delete.png') })
      await page.keyboard.press('Shift+Tab')
      expect(await focused()).toBe('Delete')
      await page.keyboard.press('Enter')
      await expect.poll(() => page.getByTestId('conversation').count()).toBe(2)
      await expect.poll(focused).toBe('Second talk Second answer')
      // The last in the list: the focus goes to the one before it.
      await nav().getByRole('button', { name: 'Delete Second talk' }).focus()
      await page.keyboard.press('Enter')
      await page.keyboard.press('Shift+Tab')
      await page.keyboard.press('Enter')
      await expect.poll(() => page.getByTestId('conversation').count()).toBe(1)
      await expect.poll(focused).toBe('First talk First answer')
      // None left: to New conversation.
      await nav().getByRole('button', { name: 'Delete First talk' }).focus()
      await page.keyboard.press('Enter')
      await page.keyboard.press('Shift+Tab')
      await page.keyboard.press('Enter')
      await expect.poll(() => nav().textContent()).toContain('No conversations yet.')
      await expect.poll(focused).toBe('+ New conversation')
      expect(await sidebarError().count()).toBe(0)
      expect(errors).toEqual([])
    })
  })

  it('says when an answer or its code could not be copied', async () => {
    await seed('Copy sample', 'Some code?', 'Here:\n\n```ts\nconst x = 1\n```')
    const { page, errors } = await open()
    // The clipboard refuses, as it does when the window is not focused or the system says no.
    await page.evaluate(() => {
      navigator.clipboard.writeText = () => Promise.reject(new DOMException('Document is not focused.', 'NotAllowedError'))
    })
    const answer = page.getByTestId('turn-assistant').last()
    await answer.locator('footer').getByRole('button', { name: 'Copy', exact: true }).click()
    await expect.poll(() => answer.locator('footer').getByRole('button', { name: 'Could not copy' }).count()).toBe(1)
    await answer.getByTestId('markdown').getByRole('button', { name: 'Copy' }).click()
    await expect.poll(() => answer.getByTestId('markdown').getByRole('button').textContent()).toBe('Could not copy')
    expect(errors).toEqual([])
    await page.close()
  })
})
