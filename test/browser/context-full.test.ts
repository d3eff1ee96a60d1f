// A conversation longer than the model's context, in real Chromium against the real services:
// its setting (leave out the oldest turns, or stop and ask), and the asking.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { ensureFixtures } from '../fixtures/generate.js'
import { browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

const LONG = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')

describe.skipIf(skip !== null)('a conversation longer than the context, in Chromium', () => {
  let h: Harness
  let page: Page
  let chatId: string

  const box = () => page.getByRole('textbox', { name: 'Message' })
  const setting = () => page.getByRole('combobox', { name: "When the conversation is longer than the model's context" })
  const leaveOut = () => page.getByRole('button', { name: 'Leave out the oldest turns and answer' })

  beforeAll(async () => {
    const fx = await ensureFixtures()
    h = await startHarness()
    await h.engine.load({ modelPath: fx.textModel, gpu: false, contextSize: 512 })
    const chat = await h.chats.create({ title: 'Long talk' })
    chatId = chat.id
    await h.chats.update(chat.id, (c) => {
      c.settings = { maxTokens: 8, temperature: 0 }
      for (let i = 0; i < 8; i++)
        c.messages.push(h.chats.newMessage('user', `Question ${i}: ${LONG}`), {
          ...h.chats.newMessage('assistant', `Answer ${i}: ${LONG}`),
          status: 'complete',
        })
    })
    page = await h.openApp()
  })
  afterAll(async () => h?.close())

  it('the conversation settings offer to leave out the oldest turns, or to stop and ask', async () => {
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 30_000 }).toContain('tiny-llama')
    await page.locator('summary', { hasText: 'Long talk' }).click()
    expect(await setting().inputValue()).toBe('drop-oldest')
    expect(await setting().locator('option').allTextContents()).toEqual(['Leave out the oldest turns', 'Stop and ask'])
    await setting().selectOption('stop')
    await expect.poll(async () => (await h.chats.get(chatId)).settings.contextFull).toBe('stop')
    await page.reload()
    await page.locator('summary', { hasText: 'Long talk' }).click()
    expect(await setting().inputValue()).toBe('stop')
  })

  it('set to stop and ask, says the question does not fit and offers to answer it leaving out the oldest turns, once', async () => {
    await box().fill('And now?')
    await box().press('Enter')
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 30_000 }).toMatch(/needs \d+ tokens; the context holds 512\./)
    await expect.poll(() => leaveOut().count()).toBe(1)
    // The question stays, shown and stored, to be answered.
    expect(await page.getByTestId('turn-user').last().getByTestId('turn-text').textContent()).toBe('And now?')
    expect((await h.chats.get(chatId)).messages.at(-1)).toMatchObject({ role: 'user', text: 'And now?' })

    await leaveOut().click()
    await expect
      .poll(async () => (await h.chats.get(chatId)).messages.at(-1), { timeout: 30_000 })
      .toMatchObject({ role: 'assistant', status: 'complete' })
    const stored = await h.chats.get(chatId)
    const answer = stored.messages.at(-1)!
    expect(answer.stats!.droppedTurns).toBeGreaterThanOrEqual(1)
    // Asked once: the question is there once, every turn is kept, and the setting is as it was.
    expect(stored.messages.filter((m) => m.text === 'And now?')).toHaveLength(1)
    expect(stored.messages).toHaveLength(18)
    expect(stored.settings.contextFull).toBe('stop')
    await expect
      .poll(() => page.getByTestId('turn-assistant').last().getByTestId('turn-notes').textContent())
      .toMatch(/oldest turns? (was|were) left out of this answer/)
    expect(await page.getByRole('alert').count()).toBe(0)
    expect(await leaveOut().count()).toBe(0)
    expect(await page.getByTestId('turn-assistant').count()).toBe(9)
  })

  it('a question alone too long for the context is said, with nothing to leave out offered', async () => {
    await page.getByRole('button', { name: '+ New conversation' }).click()
    await expect.poll(() => page.locator('section.conversation summary').textContent()).toBe('New conversation')
    // The settings stay open from the conversation before.
    if (!(await setting().isVisible())) await page.locator('summary', { hasText: 'New conversation' }).click()
    await setting().selectOption('stop')
    await expect.poll(async () => (await h.chats.list()).length).toBe(2)
    const fresh = (await h.chats.list()).find((c) => c.id !== chatId)!.id
    await expect.poll(async () => (await h.chats.get(fresh)).settings.contextFull).toBe('stop')
    await box().fill(`Far too long: ${LONG} ${LONG} ${LONG} ${LONG} ${LONG} ${LONG}`)
    await box().press('Enter')
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 30_000 }).toMatch(/the context holds 512\./)
    expect(await leaveOut().count()).toBe(0)
  })
})
