// What a screen reader is told while an answer is written into the open conversation, in real
// Chromium: "Answering…" once as it starts and the answer's words once it ends, never the answer
// again on every frame it grows by. Every change inside a live region is recorded, as a screen
// reader would hear of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { ChatChunk, StoredMessage, StreamEvent } from '../../electron/ipc/contract.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { browserSkipReason, startHarness, type Harness } from './harness.js'

declare global {
  interface Window {
    /** What each live region held after each change inside it, as "region: text". */
    __said?: string[]
    /** Streams these pieces of the scripted answer, one every intervalMs; resolves when all are shown. */
    __streamPieces?: (pieces: string[], intervalMs: number) => Promise<void>
    /** Ends the scripted answer as main would, with this status. */
    __endAnswer?: (status: StoredMessage['status']) => void
  }
}

/** Runs in the page: every change inside a live region (aria-live, or a role that is one). */
function recordAnnouncements(): void {
  const said: string[] = []
  window.__said = said
  const LIVE = '[aria-live]:not([aria-live="off"]), [role="log"], [role="status"], [role="alert"]'
  document.addEventListener('DOMContentLoaded', () =>
    new MutationObserver((records) => {
      const regions = new Set<Element>()
      for (const record of records) {
        const target = record.target instanceof Element ? record.target : record.target.parentElement
        const region = target?.closest(LIVE)
        if (region) regions.add(region)
      }
      for (const region of regions)
        said.push(`${region.getAttribute('data-testid') ?? region.tagName.toLowerCase()}: ${region.textContent?.trim() ?? ''}`)
    }).observe(document.body, { subtree: true, childList: true, characterData: true }),
  )
}

/**
 * Runs in the page: a question in the chat window is answered with what the test plays, chunk by
 * chunk as main streams them (as in chat-view.test.ts), so the view can be heard at any point.
 */
function scriptedAnswers(): void {
  const real = window.assistant.stream.bind(window.assistant)
  window.assistant.stream = (channel, streamId, request, onEvent) => {
    if (channel !== 'chats:send') return real(channel, streamId, request, onEvent)
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
    const chunk = (c: ChatChunk): void => onEvent({ streamId, type: 'chunk', chunk: c } satisfies StreamEvent)
    const answer = message('assistant', '', 'streaming')
    window.__streamPieces = (texts, intervalMs) =>
      new Promise((done) => {
        let i = 0
        const timer = setInterval(() => {
          const text = texts[i++]
          if (text === undefined) {
            clearInterval(timer)
            requestAnimationFrame(() => requestAnimationFrame(() => done()))
            return
          }
          answer.text += text
          chunk({ kind: 'tokens', messageId: answer.id, text, count: 1 })
        }, intervalMs)
      })
    window.__endAnswer = (status) => {
      chunk({ kind: 'done', message: { ...answer, status } })
      onEvent({ streamId, type: 'end' })
    }
    setTimeout(() => {
      chunk({ kind: 'message', message: message('user', (request as { text: string }).text, 'complete') })
      chunk({ kind: 'message', message: answer })
    })
    return Promise.resolve({ ok: true, value: null })
  }
}

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

describe.skipIf(skip !== null)('what a screen reader hears of an answer, in Chromium', () => {
  let h: Harness
  let page: Page

  beforeAll(async () => {
    const fx = await ensureFixtures()
    h = await startHarness()
    page = await h.openApp()
    page.setDefaultTimeout(10_000)
    await page.addInitScript(recordAnnouncements)
    await page.addInitScript(scriptedAnswers)
    await page.reload()
    // The answers are the test's; a model is loaded only because a question needs one.
    await page.getByPlaceholder('/path/to/model.gguf').fill(fx.textModel)
    await page.getByRole('button', { name: 'Load', exact: true }).click()
    await page.locator('textarea[aria-label="Message"]:enabled').waitFor({ timeout: 30_000 })
  })
  afterAll(async () => h?.close())

  /** Asks a question in a new conversation; returns once its answer has begun and nothing has been said since. */
  async function ask(question: string): Promise<void> {
    await page.getByRole('button', { name: '+ New conversation' }).click()
    await page.getByText('Ask a question').waitFor()
    await page.evaluate(() => (window.__streamPieces = undefined))
    const box = page.getByRole('textbox', { name: 'Message' })
    await box.fill(question)
    await box.press('Enter')
    await expect.poll(() => page.evaluate(() => typeof window.__streamPieces)).toBe('function')
  }
  /** What was said since the last call. */
  const said = (): Promise<string[]> => page.evaluate(() => window.__said!.splice(0))
  /** What is said from now until `last` is. */
  async function hearUntil(last: string): Promise<string[]> {
    const heard: string[] = []
    await expect
      .poll(async () => {
        heard.push(...(await said()))
        return heard.at(-1)
      })
      .toBe(last)
    return heard
  }
  const play = (pieces: string[]): Promise<void> => page.evaluate((p) => window.__streamPieces!(p, 15), pieces)
  const finish = async (status: StoredMessage['status']): Promise<void> => {
    await page.evaluate((s) => window.__endAnswer!(s), status)
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached' })
  }
  const words = (count: number): string[] => Array.from({ length: count }, (_, i) => `word${i} `)

  it('says "Answering…" once as the answer starts, and then its words once it ends', async () => {
    await said()
    await ask('What is on my screen?')
    await play([
      '<think>\nThe user wants',
      ' the build error.\n</think>\n\n',
      '## Part 1\n\n',
      'The **build** failed; see ',
      '[the docs](https://example.com/docs).\n\n',
      ...words(40),
    ])
    expect(await page.getByTestId('turn-assistant').getByTestId('markdown').textContent()).toContain('word39')
    // Once as the answer began, however many frames it grew by since.
    expect(await said()).toEqual(['answer-announcement: Answering…'])
    await finish('complete')
    // The words the window shows: no thought, no Markdown marks, no link address.
    const end = `answer-announcement: Part 1 The build failed; see the docs. ${words(40).join('').trim()}`
    expect(await hearUntil(end)).toEqual([end])
  })

  it('says "Answering…" when the next answer starts, and that it was stopped when it was', async () => {
    await said()
    await ask('And then?')
    await play(['Half ', 'an answer'])
    expect(await said()).toEqual(['answer-announcement: Answering…'])
    await finish('stopped')
    expect(await hearUntil('answer-announcement: Stopped. Half an answer')).toEqual(['answer-announcement: Stopped. Half an answer'])
  })

  it('quick-ask says "Answering…" once as each answer starts, and its words once it ends, follow-ups too', async () => {
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
    quick.setDefaultTimeout(10_000)
    await quick.addInitScript(recordAnnouncements)
    await quick.addInitScript(scriptedAnswers)
    await quick.reload()
    // What was said since the last call, but for the refusal of a question asked before the window knew a model is loaded (askQuick).
    const heard = async (): Promise<string[]> =>
      (await quick.evaluate(() => window.__said!.splice(0))).filter((s) => !s.endsWith('Load a model in the chat window first.'))
    const box = quick.getByRole('textbox', { name: 'Question' })
    /** Asks, and returns once the answer has begun: the window learns that a model is loaded as it opens, and refuses a question until then. */
    async function askQuick(question: string): Promise<void> {
      await quick.evaluate(() => (window.__streamPieces = undefined))
      await box.fill(question)
      await expect
        .poll(async () => {
          if (!(await quick.getByRole('button', { name: 'Stop' }).count())) await box.press('Enter')
          return quick.evaluate(() => typeof window.__streamPieces)
        })
        .toBe('function')
      await quick.getByTestId('quick-answer').waitFor()
    }
    const playQuick = (pieces: string[]): Promise<void> => quick.evaluate((p) => window.__streamPieces!(p, 15), pieces)
    async function finishQuick(status: StoredMessage['status']): Promise<void> {
      await quick.evaluate((s) => window.__endAnswer!(s), status)
      await quick.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached' })
    }
    async function heardUntil(last: string): Promise<string[]> {
      const all: string[] = []
      await expect
        .poll(async () => {
          all.push(...(await heard()))
          return all.at(-1)
        })
        .toBe(last)
      return all
    }

    await heard()
    await askQuick('What is on my screen?')
    await playQuick([
      '<think>\nThe user wants',
      ' the build error.\n</think>\n\n',
      '## Part 1\n\n',
      'The **build** failed; see ',
      '[the docs](https://example.com/docs).\n\n',
      ...words(40),
    ])
    expect(await quick.getByTestId('quick-answer').getByTestId('markdown').textContent()).toContain('word39')
    // Once as the answer began, however many frames it grew by since.
    expect(await heard()).toEqual(['answer-announcement: Answering…'])
    await finishQuick('complete')
    const end = `answer-announcement: Part 1 The build failed; see the docs. ${words(40).join('').trim()}`
    expect(await heardUntil(end)).toEqual([end])

    // A follow-up: "Answering…" for the new answer, not the words of the one before it.
    await askQuick('And then?')
    await playQuick(['Half ', 'an answer'])
    expect(await heard()).toEqual(['answer-announcement: Answering…'])
    await finishQuick('stopped')
    expect(await heardUntil('answer-announcement: Stopped. Half an answer')).toEqual(['answer-announcement: Stopped. Half an answer'])
    expect(await quick.getByTestId('quick-answer').evaluate((el) => el.closest('[aria-live], [role="status"]'))).toBeNull()
    await quick.close()
  })

  it('speaks of the messages only through the announcement, never as a live list', async () => {
    const list = page.getByRole('list', { name: 'Messages' })
    expect(await list.evaluate((el) => el.closest('[aria-live], [role="log"], [role="status"], [role="alert"]'))).toBeNull()
    // The status bar says what changed in a sentence; the bar itself is no live region.
    const bar = page.getByTestId('status-bar')
    expect(await bar.evaluate((el) => el.closest('[aria-live], [role="status"]'))).toBeNull()
    expect(await page.getByTestId('status-spoken').textContent()).toBe('tiny-llama-f32.gguf loaded.')
  })
})
