// Answers written in the background, in real Chromium against the real services: opening
// another conversation, or a new one, leaves an answer going; the list says which conversation
// is answering; coming back shows the answer live; Stop, errors and a second question each stay
// with their own conversation. The tiny model writes gibberish: the checks are on structure
// and token counts, never on the words.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

const LONG = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')

describe.skipIf(skip !== null)('answers in the background, in Chromium', () => {
  let h: Harness
  let fx: FixturePaths
  let page: Page
  let story: string
  let older: string

  const box = () => page.getByRole('textbox', { name: 'Message' })
  const sidebar = () => page.getByRole('navigation', { name: 'Conversations' })
  const item = (id: string) => sidebar().locator(`li[data-chat-id="${id}"]`)
  const answering = (id: string) => item(id).getByTestId('answering')
  const lastAnswer = () => page.getByTestId('turn-assistant').last()
  const answerLength = async (): Promise<number> => ((await lastAnswer().getByTestId('turn-text').textContent()) ?? '').trim().length
  const stop = () => page.getByRole('button', { name: 'Stop' })
  const longest = () => page.getByRole('spinbutton', { name: 'Longest answer (tokens)' })
  const lastStored = async (id: string) => (await h.chats.get(id)).messages.at(-1)!

  async function open(title: string): Promise<void> {
    await sidebar()
      .getByRole('button', { name: new RegExp(`^${title}`) })
      .click()
    await expect.poll(() => page.locator('section.conversation summary').first().textContent()).toBe(title)
  }

  /** Sets the open conversation's longest answer, as the user does, and waits until main has it. */
  async function setLongest(id: string, tokens: number): Promise<void> {
    const panel = page.locator('section.conversation details.settings')
    if (!(await panel.evaluate((d) => (d as HTMLDetailsElement).open))) await panel.locator('summary').click()
    await longest().fill(String(tokens))
    await longest().press('Tab')
    await expect.poll(async () => (await h.chats.get(id)).settings.maxTokens).toBe(tokens)
    await panel.locator('summary').click()
  }

  async function ask(text: string): Promise<void> {
    await box().fill(text)
    await box().press('Enter')
  }

  /** Asks `text` in the open conversation and waits for the first `chars` characters of its answer. */
  async function askAndWait(text: string, chars = 0): Promise<void> {
    const answers = await page.getByTestId('turn-assistant').count()
    await ask(text)
    await expect.poll(() => page.getByTestId('turn-assistant').count(), { timeout: 30_000 }).toBe(answers + 1)
    await expect.poll(answerLength, { timeout: 30_000 }).toBeGreaterThan(chars)
  }

  beforeAll(async () => {
    fx = await ensureFixtures()
    h = await startHarness()
    await h.engine.load({ modelPath: fx.textModel, gpu: false })
    const o = await h.chats.create({ title: 'Older talk' })
    older = o.id
    await h.chats.update(older, (c) => {
      c.settings = { maxTokens: 8, temperature: 0.7 }
      c.messages.push(h.chats.newMessage('user', 'An old question'), {
        ...h.chats.newMessage('assistant', 'An old answer'),
        status: 'complete',
      })
    })
    const s = await h.chats.create({ title: 'Story' })
    story = s.id
    await h.chats.update(story, (c) => void (c.settings = { maxTokens: 64, temperature: 0.7 }))
  })
  afterAll(async () => h?.close())

  it('an answer goes on while another conversation is open, the list says so, and it is complete when its conversation is opened again', async () => {
    page = await h.openApp()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 30_000 }).toContain('tiny-llama')
    // Opened with the newest conversation.
    await expect.poll(() => page.locator('section.conversation summary').first().textContent()).toBe('Story')
    // How fast the engine writes here, so the answer lasts a few seconds whatever the machine.
    await ask('Warm up.')
    await expect.poll(() => lastStored(story), { timeout: 30_000 }).toMatchObject({ role: 'assistant', status: 'complete' })
    await expect.poll(() => stop().count()).toBe(0)
    const perSecond = (await lastStored(story)).stats!.tokensPerSecond ?? 100
    const tokens = Math.round(Math.min(6000, Math.max(300, perSecond * 4)))
    console.info(`[background] ${perSecond.toFixed(0)} tokens/s: the answer is asked for ${tokens} tokens`)
    await setLongest(story, tokens)

    await askAndWait('Tell me a long story.')
    await open('Older talk')
    // Older talk is shown, with nothing of the story in it, and no Stop: its own answer is none.
    await expect.poll(() => page.getByTestId('turn-assistant').count()).toBe(1)
    expect(await stop().count()).toBe(0)
    // The list says which conversation is answering: in words, in the button's name, busy.
    expect(await answering(story).textContent()).toBe('Answering…')
    const storyButton = item(story).locator('button.open')
    expect(await storyButton.getAttribute('aria-busy')).toBe('true')
    expect(
      await sidebar()
        .getByRole('button', { name: /^Story.*Answering…/ })
        .count(),
    ).toBe(1)
    expect(await answering(older).count()).toBe(0)
    expect(h.router.activeStreams()).toBe(1)

    await expect.poll(() => answering(story).count(), { timeout: 60_000 }).toBe(0)
    expect(await storyButton.getAttribute('aria-busy')).toBeNull()
    // Said once, politely, for screen readers; nothing was said in the conversation open.
    expect(await page.getByTestId('answer-ended').textContent()).toBe('The answer in “Story” is done.')
    expect(await page.getByTestId('answer-ended').getAttribute('role')).toBe('status')
    expect(await page.getByRole('alert').count()).toBe(0)
    const answer = await lastStored(story)
    // Not stopped: written to its end (the longest answer, or the model's own end).
    expect(answer).toMatchObject({ role: 'assistant', status: 'complete' })
    expect(answer.stats!.tokensOut).toBeGreaterThan(0)
    expect(answer.stats!.tokensOut).toBeLessThanOrEqual(tokens)

    await open('Story')
    const stored = (await h.chats.get(story)).messages
    expect(await page.getByTestId('turn-user').count()).toBe(stored.filter((m) => m.role === 'user').length)
    expect(await page.getByTestId('turn-assistant').count()).toBe(stored.filter((m) => m.role === 'assistant').length)
    expect(await lastAnswer().getByTestId('turn-stats').textContent()).toMatch(new RegExp(`^${answer.stats!.tokensOut} tokens · `))
    expect(await answerLength()).toBeGreaterThan(0)
  })

  it('back in a conversation that is answering, the answer shows as far as it got and goes on, and its Stop stops it', async () => {
    await setLongest(story, 30_000)
    await askAndWait('And then?', 20)
    const left = await answerLength()
    await open('Older talk')
    // Main goes on writing it meanwhile (it saves it every second).
    await expect.poll(async () => (await lastStored(story)).text.length, { timeout: 20_000 }).toBeGreaterThan(left)
    await open('Story')
    const back = await answerLength()
    expect(back).toBeGreaterThan(left)
    expect(await stop().count()).toBe(1)
    expect(await lastAnswer().getAttribute('aria-busy')).toBe('true')
    await expect.poll(answerLength, { timeout: 20_000 }).toBeGreaterThan(back)

    await stop().click()
    await expect.poll(() => stop().count(), { timeout: 20_000 }).toBe(0)
    await expect.poll(() => lastStored(story), { timeout: 20_000 }).toMatchObject({ role: 'assistant', status: 'stopped' })
    expect(await lastAnswer().textContent()).toContain('stopped')
    await expect.poll(() => answering(story).count()).toBe(0)
    expect(h.router.activeStreams()).toBe(0)
  })

  it('a question asked in a new conversation while another answers waits for it, saying so; its Stop stops only its own', async () => {
    await askAndWait('Keep going.')
    await page.getByRole('button', { name: '+ New conversation' }).click()
    await expect.poll(() => page.locator('section.conversation summary').first().textContent()).toBe('New conversation')
    expect(await answering(story).count()).toBe(1)
    const fresh = (await h.chats.list()).find((c) => c.id !== story && c.id !== older)!.id

    await ask('A quick one?')
    const waiting = page.getByTestId('waiting')
    await expect
      .poll(() => waiting.textContent(), { timeout: 20_000 })
      .toBe('Waiting for the answer in “Story” to finish; this one starts after it.')
    expect(await waiting.getAttribute('role')).toBe('status')
    // Both are answering: the story, and this one in its turn.
    expect(await answering(story).count()).toBe(1)
    await expect.poll(() => answering(fresh).count()).toBe(1)

    // Stop here stops the question waiting here, not the story.
    await stop().click()
    await expect.poll(() => stop().count(), { timeout: 20_000 }).toBe(0)
    expect(await waiting.count()).toBe(0)
    expect(await answering(fresh).count()).toBe(0)
    expect(await answering(story).count()).toBe(1)
    expect(h.router.activeStreams()).toBe(1)
    // Main kept the question, and no empty answer to it.
    expect((await lastStored(fresh)).role).toBe('user')
    await expect.poll(() => page.getByTestId('turn-assistant').count()).toBe(0)
    expect(await page.getByTestId('turn-user').count()).toBe(1)

    // Asked again, it waits its turn, and is answered once the story is stopped.
    await setLongest(fresh, 8)
    await page.getByTestId('turn-user').getByRole('button', { name: 'Edit' }).click()
    await page.getByRole('button', { name: 'Save and send' }).click()
    await expect.poll(() => waiting.count(), { timeout: 20_000 }).toBe(1)
    await open('Story')
    await stop().click()
    await expect.poll(() => lastStored(story), { timeout: 20_000 }).toMatchObject({ role: 'assistant', status: 'stopped' })
    await expect.poll(() => lastStored(fresh), { timeout: 30_000 }).toMatchObject({ role: 'assistant', status: 'complete' })
    await expect.poll(() => answering(fresh).count(), { timeout: 20_000 }).toBe(0)
  })

  it('the error of an answer written in the background is said in its own conversation, with the offer to leave out the oldest turns', async () => {
    // A conversation set to stop and ask that no longer fits the context.
    const state = h.engine.state()
    const contextSize = state.state === 'ready' ? state.info.contextSize : 4096
    const long = await h.chats.create({ title: 'Long talk' })
    await h.chats.update(long.id, (c) => {
      c.settings = { maxTokens: 8, temperature: 0, contextFull: 'stop' }
      for (let i = 0; i < Math.ceil(contextSize / 100); i++)
        c.messages.push(h.chats.newMessage('user', `Question ${i}: ${LONG}`), {
          ...h.chats.newMessage('assistant', `Answer ${i}: ${LONG}`),
          status: 'complete',
        })
    })
    await page.reload()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 30_000 }).toContain('tiny-llama')
    await open('Story')
    await askAndWait('Once more.')

    // Asked while the story is written: it waits, and is refused only once its turn comes.
    await open('Long talk')
    await ask('And now?')
    await expect.poll(() => page.getByTestId('waiting').count(), { timeout: 20_000 }).toBe(1)
    await open('Story')
    await stop().click()
    await expect.poll(() => answering(long.id).count(), { timeout: 30_000 }).toBe(0)
    // Not said in the story, open now; the list and a screen reader hear where it was.
    expect(await page.getByRole('alert').count()).toBe(0)
    expect(await page.getByRole('button', { name: 'Leave out the oldest turns and answer' }).count()).toBe(0)
    expect(await item(long.id).getByTestId('answer-failed').textContent()).toBe('Answer failed: open to see why')
    expect(await page.getByTestId('answer-ended').textContent()).toBe('The answer in “Long talk” failed; open the conversation to see why.')

    await open('Long talk')
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/needs \d+ tokens; the context holds \d+\./)
    await page.getByRole('button', { name: 'Leave out the oldest turns and answer' }).click()
    await expect.poll(async () => lastStored(long.id), { timeout: 30_000 }).toMatchObject({ role: 'assistant', status: 'complete' })
    expect((await lastStored(long.id)).stats!.droppedTurns).toBeGreaterThanOrEqual(1)
    await expect.poll(() => page.getByRole('alert').count()).toBe(0)
    expect(await item(long.id).getByTestId('answer-failed').count()).toBe(0)
  })
})
