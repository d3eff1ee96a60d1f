// The chat window in real Chromium against the real services and the tiny models.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { StoredMessage } from '../../electron/ipc/contract.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { screenshotPng, solidPng } from '../support/images.js'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'
import { missingWords, textPng } from './text-png.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

describe.skipIf(skip !== null)('chat window in Chromium', () => {
  let h: Harness
  let fx: FixturePaths
  let page: Page

  beforeAll(async () => {
    fx = await ensureFixtures()
    await mkdir(ARTIFACTS, { recursive: true })
    h = await startHarness()
    page = await h.openApp()
  })
  afterAll(async () => h?.close())

  async function loadModel(model: string, mmproj = ''): Promise<void> {
    await page.getByPlaceholder('/path/to/model.gguf').fill(model)
    await page.getByPlaceholder('optional mmproj.gguf').fill(mmproj)
    await page.getByRole('button', { name: 'Load', exact: true }).click()
  }

  const box = () => page.getByRole('textbox', { name: 'Message' })
  const lastAnswer = () => page.getByTestId('turn-assistant').last()
  const stats = () => lastAnswer().getByTestId('turn-stats')
  const thumbnails = () => page.getByRole('list', { name: 'Attached images' }).locator('img')

  /** Sets Settings → Engine → Text on screen, as the user does. */
  async function setScreenText(on: Page, mode: 'auto' | 'always' | 'never'): Promise<void> {
    await on.getByRole('button', { name: 'Settings' }).click()
    const dialog = on.getByRole('dialog', { name: 'Settings' })
    await dialog.getByRole('combobox', { name: 'Text on screen' }).selectOption(mode)
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => dialog.getByTestId('engine-settings-state').textContent()).toBe('Saved. The next question uses it.')
    await dialog.getByRole('button', { name: 'Close' }).click()
    expect(h.engineSettings.view().settings.screenText).toBe(mode)
  }

  const INVOICE_LINES = ['Invoice 2291 due Friday', 'Total amount 4,180.00 EUR', 'Contact billing@example.com']

  it('opens with no model and says so', async () => {
    await expect.poll(() => page.getByTestId('status-bar').textContent()).toContain('No model loaded')
    await expect.poll(() => box().isDisabled()).toBe(true)
    expect(await page.getByRole('navigation', { name: 'Conversations' }).textContent()).toContain('No conversations yet.')
    await page.screenshot({ path: join(ARTIFACTS, 'chat-empty-light.png') })
  })

  it('shows a clear error for a model file that does not exist', async () => {
    await loadModel('/nowhere/missing.gguf')
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Model file not found: /nowhere/missing.gguf')
  })

  it('loads the text model and streams an answer with stats into a new conversation', async () => {
    await loadModel(fx.textModel)
    await expect
      .poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 })
      .toMatch(/tiny-llama-f32\.gguf.*CPU.*0\/\d+ layers on GPU/)
    await box().fill('Hello, what can you see?')
    await box().press('Enter')
    await expect.poll(() => page.getByTestId('turn-user').count()).toBe(1)
    await expect
      .poll(() => stats().textContent(), { timeout: 30_000 })
      .toMatch(/^1024 tokens · .* tok\/s · first token \d+ ms · \d+ in(, \d+ cached)? · cut: longest answer$/)
    expect((await lastAnswer().getByTestId('markdown').textContent())!.length).toBeGreaterThan(100)
    expect(await box().inputValue()).toBe('')
    await expect.poll(() => page.getByTestId('conversation').first().textContent()).toContain('Hello, what can you see?')
  })

  it('stops an answer mid-stream and marks it stopped', async () => {
    // A long answer, so Stop surely lands mid-stream; the conversation's setting is the way.
    const longest = page.getByRole('spinbutton', { name: 'Longest answer (tokens)' })
    await page.locator('summary', { hasText: 'Hello, what can you see?' }).click()
    await longest.fill('30000')
    await longest.press('Tab')
    const chatId = (await h.chats.list())[0]!.id
    await expect.poll(async () => (await h.chats.get(chatId)).settings.maxTokens).toBe(30_000)
    const answers = await page.getByTestId('turn-assistant').count()
    await box().fill('Tell me everything.')
    await box().press('Enter')
    await expect.poll(() => page.getByTestId('turn-assistant').count()).toBe(answers + 1)
    await expect.poll(() => lastAnswer().getByTestId('markdown').textContent()).not.toBe('')
    await page.getByRole('button', { name: 'Stop' }).click()
    // A stopped answer's stats name no limit (no "cut: …"); its status says stopped.
    await expect.poll(() => stats().textContent(), { timeout: 10_000 }).toMatch(/ \d+ in(, \d+ cached)?$/)
    expect(Number((await stats().textContent())!.split(' ')[0])).toBeLessThan(30_000)
    expect(await lastAnswer().textContent()).toContain('stopped')
    await longest.fill('1024')
    await longest.press('Tab')
    await expect.poll(async () => (await h.chats.get(chatId)).settings.maxTokens).toBe(1024)
    await page.locator('summary').click()
  })

  it('regenerates an answer in place', async () => {
    const before = await page.getByTestId('turn-assistant').count()
    await lastAnswer().getByRole('button', { name: 'Regenerate' }).click()
    await expect.poll(() => stats().textContent(), { timeout: 30_000 }).toMatch(/cut: longest answer$/)
    expect(await page.getByTestId('turn-assistant').count()).toBe(before)
  })

  it('edits the first question and resends it, dropping what followed', async () => {
    await page.getByTestId('turn-user').first().getByRole('button', { name: 'Edit' }).click()
    await page.getByRole('textbox', { name: 'Edit message' }).fill('An edited question')
    await page.getByRole('button', { name: 'Save and send' }).click()
    await expect.poll(() => page.getByTestId('turn-user').count()).toBe(1)
    expect(await page.getByTestId('turn-user').first().getByTestId('turn-text').textContent()).toBe('An edited question')
    await expect.poll(() => stats().textContent(), { timeout: 30_000 }).toMatch(/cut: longest answer$/)
  })

  it('a question or an edit longer than one message can hold is refused before it is sent, and stays to be shortened', async () => {
    const users = await page.getByTestId('turn-user').count()
    const long = 'word'.repeat(25_001)
    await box().fill(long)
    await box().press('Enter')
    await expect.poll(() => page.getByRole('alert').last().textContent()).toContain('100,004 characters long')
    expect(await page.getByRole('alert').last().textContent()).not.toContain('chats:send')
    expect(await box().inputValue()).toBe(long)
    expect(await page.getByTestId('turn-user').count()).toBe(users)
    await box().fill('')

    await page.getByTestId('turn-user').first().getByRole('button', { name: 'Edit' }).click()
    const editor = page.getByRole('textbox', { name: 'Edit message' })
    await editor.fill(long)
    await page.getByRole('button', { name: 'Save and send' }).click()
    await expect.poll(() => page.getByRole('alert').last().textContent()).toContain('the most one message can hold is 100,000')
    // The editor stays open with the text, and the question it edits is unchanged.
    expect(await editor.inputValue()).toBe(long)
    await page.getByRole('button', { name: 'Cancel' }).click()
    expect(await page.getByTestId('turn-user').first().getByTestId('turn-text').textContent()).toBe('An edited question')
    expect(await page.getByTestId('turn-user').count()).toBe(users)
  })

  it('takes images by paste and by drop; refuses them while the model cannot see and the text layer is off, else says it reads them', async () => {
    const png = Buffer.from(await solidPng(120, 80, '#cc3300')).toString('base64')
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      const file = new File([bytes], 'pasted.png', { type: 'image/png' })
      const paste = new DataTransfer()
      paste.items.add(file)
      document
        .querySelector('textarea[aria-label="Message"]')!
        .dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }))
      const drop = new DataTransfer()
      drop.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }))
      drop.items.add(new File(['just text'], 'notes.txt', { type: 'text/plain' }))
      document
        .querySelector('section[aria-label="Conversation"]')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }))
    }, png)
    await expect.poll(() => thumbnails().count()).toBe(2)
    expect(await page.getByRole('status').filter({ hasText: 'Only images' }).textContent()).toBe(
      'Only images can be attached; skipped notes.txt.',
    )
    await page.getByRole('button', { name: 'Remove dropped.png' }).click()
    await expect.poll(() => thumbnails().count()).toBe(1)
    await page
      .getByTestId('file-input')
      .setInputFiles({ name: 'screen.png', mimeType: 'image/png', buffer: Buffer.from(await screenshotPng(320, 200)) })
    await expect.poll(() => thumbnails().count()).toBe(2)
    // The text layer on (the default): a model that cannot see takes images, and reads their text.
    expect(await page.getByTestId('text-only').textContent()).toBe('This model cannot see images; it answers from the text on the screen.')
    await setScreenText(page, 'never')
    expect(await page.getByTestId('text-only').count()).toBe(0)
    await box().fill('What is this?')
    await box().press('Enter')
    await expect.poll(() => page.getByRole('alert').last().textContent()).toContain('no vision projector')
    // Nothing typed or attached is lost.
    expect(await box().inputValue()).toBe('What is this?')
    expect(await thumbnails().count()).toBe(2)
    await setScreenText(page, 'auto')
    await expect.poll(() => page.getByTestId('text-only').count()).toBe(1)
  })

  it('leaves text dragged into the window to Chromium, so it lands in the message box; only files are taken as attachments', async () => {
    const handled = await page.evaluate(async () => {
      // The highlight is Svelte state: on the page after its next flush.
      const flushed = () => new Promise(requestAnimationFrame)
      const section = document.querySelector('section[aria-label="Conversation"]')!
      const textarea = document.querySelector('textarea[aria-label="Message"]')!
      const drag = (type: 'dragover' | 'drop', target: Element, fill: (d: DataTransfer) => void): boolean => {
        const data = new DataTransfer()
        fill(data)
        // dispatchEvent answers false when a handler cancelled the event's default.
        return !target.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }))
      }
      const text = (d: DataTransfer) => d.setData('text/plain', 'a quoted line')
      const file = (d: DataTransfer) => d.items.add(new File(['x'], 'a.png', { type: 'image/png' }))
      const textOver = drag('dragover', textarea, text)
      await flushed()
      const highlighted = section.classList.contains('dropping')
      const textDrop = drag('drop', textarea, text)
      const fileOver = drag('dragover', section, file)
      await flushed()
      const fileHighlighted = section.classList.contains('dropping')
      section.dispatchEvent(new DragEvent('dragleave', { bubbles: true }))
      return { textOver, highlighted, textDrop, fileOver, fileHighlighted }
    })
    expect(handled).toEqual({ textOver: false, highlighted: false, textDrop: false, fileOver: true, fileHighlighted: true })
  })

  it('a model that cannot see answers from an image’s text: the text shows under the image, the answer says how it was made', async () => {
    // A second window, so the first keeps what its composer holds for the vision test below.
    const other = await h.openApp()
    await other.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.origin })
    await other.getByRole('button', { name: '+ New conversation' }).click()
    const png = await textPng(h.browser, { blocks: [INVOICE_LINES] })
    await other.getByTestId('file-input').setInputFiles({ name: 'invoice.png', mimeType: 'image/png', buffer: Buffer.from(png) })
    await other.getByRole('textbox', { name: 'Message' }).fill('When is the invoice due?')
    await other.getByRole('textbox', { name: 'Message' }).press('Enter')
    const question = other.getByTestId('turn-user').last()
    // Main reads the image before answering and shows the question again with its text.
    const summary = question.locator('summary', { hasText: 'Text on screen' })
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toMatch(/^Text on screen · \d+ lines?$/)
    await summary.click()
    const text = question.getByTestId('screen-text')
    expect(missingWords((await text.textContent())!, INVOICE_LINES)).toEqual([])
    const answer = other.getByTestId('turn-assistant').last()
    await expect.poll(() => answer.getByTestId('turn-notes').textContent(), { timeout: 30_000 }).toContain('This model cannot see images')
    await expect.poll(() => answer.getByTestId('turn-stats').textContent(), { timeout: 30_000 }).toMatch(/tokens/)
    await question.getByRole('button', { name: 'Copy all' }).click()
    expect(await other.evaluate(() => navigator.clipboard.readText())).toBe(await text.textContent())
    await other.screenshot({ path: join(ARTIFACTS, 'chat-image-text.png') })
    const chatId = (await h.chats.list())[0]!.id
    const saved = await h.chats.get(chatId)
    expect(saved.messages[0]!.images[0]!.text).toMatchObject({ status: 'read' })
    await other.close()
    await h.chats.delete(chatId)
  })

  it('reads the text of an image that has none on request, and shows an answer’s notes', async () => {
    // A conversation from before the text layer: its image was never read.
    const chat = await h.chats.create({ title: 'Read text sample' })
    const image = await h.chats.saveImage(chat.id, await textPng(h.browser, { blocks: [INVOICE_LINES] }), 'invoice.png')
    const notes = [
      'The text on screen was cut to fit the context.',
      'This model cannot see images: it answered from the text read on them.',
    ]
    await h.chats.update(chat.id, (c) => {
      c.messages.push(h.chats.newMessage('user', 'What is due?', [image]), {
        ...h.chats.newMessage('assistant', 'Friday.'),
        status: 'complete',
        notes,
      })
    })
    // Opened with the newest conversation, this one (a push would open it in every window).
    const other = await h.openApp()
    const question = other.getByTestId('turn-user').last()
    await expect.poll(() => question.getByTestId('turn-text').textContent()).toBe('What is due?')
    expect(await question.locator('summary').count()).toBe(0)
    const answerNotes = other.getByTestId('turn-assistant').last().getByRole('list', { name: 'Notes on this answer' })
    expect(await answerNotes.getByRole('listitem').allTextContents()).toEqual(notes)
    await question.getByRole('button', { name: 'Read text' }).click()
    const summary = question.locator('summary', { hasText: 'Text on screen' })
    await expect.poll(() => summary.count(), { timeout: 20_000 }).toBe(1)
    await summary.click()
    expect(missingWords((await question.getByTestId('screen-text').textContent())!, INVOICE_LINES)).toEqual([])
    expect(await question.getByRole('button', { name: 'Read text' }).count()).toBe(0)
    // Kept with the image: the next opening shows it without reading again.
    expect((await h.chats.get(chat.id)).messages[0]!.images[0]!.text).toMatchObject({ status: 'read' })
    await other.close()
    await h.chats.delete(chat.id)
  })

  it('folds a reasoning model’s thought away from its answer, and opens it on a click', async () => {
    const chat = await h.chats.create({ title: 'Reasoning sample' })
    await h.chats.update(chat.id, (c) => {
      c.messages.push(h.chats.newMessage('user', 'How many legs has a dog?'), {
        ...h.chats.newMessage('assistant', '<think>\nDogs walk on **four** legs.\n</think>\n\nA dog has four legs.'),
        status: 'complete',
      })
    })
    // Opened with the newest conversation, this one.
    const other = await h.openApp()
    const answer = other.getByTestId('turn-assistant').last()
    const thought = answer.getByTestId('thought')
    await expect.poll(() => thought.locator('summary').textContent()).toBe('Thought')
    expect(await thought.evaluate((el) => (el as HTMLDetailsElement).open)).toBe(false)
    expect((await answer.getByTestId('markdown').textContent())!.trim()).toBe('A dog has four legs.')
    await thought.locator('summary').click()
    await expect.poll(() => thought.locator('strong').textContent()).toBe('four')
    expect(await thought.evaluate((el) => (el as HTMLDetailsElement).open)).toBe(true)
    // Copy takes the answer, not the thought.
    await other.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.origin })
    await answer.getByRole('button', { name: 'Copy', exact: true }).click()
    await expect.poll(() => answer.getByRole('button', { name: 'Copied' }).count()).toBe(1)
    expect(await other.evaluate(() => navigator.clipboard.readText())).toBe('A dog has four legs.')
    await other.close()
    await h.chats.delete(chat.id)
  })

  it('takes a frame from the camera, then releases the camera', async () => {
    await page.evaluate(() => {
      // Record every camera track the page opens, to check it is stopped afterwards.
      const tracks: MediaStreamTrack[] = []
      ;(window as unknown as { __tracks: MediaStreamTrack[] }).__tracks = tracks
      const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices)
      navigator.mediaDevices.getUserMedia = async (constraints) => {
        const stream = await original(constraints)
        tracks.push(...stream.getTracks())
        return stream
      }
    })
    const before = await thumbnails().count()
    await page.getByRole('button', { name: 'Take a camera frame' }).click()
    const preview = page.getByTestId('camera-preview')
    await expect.poll(() => preview.evaluate((v: HTMLVideoElement) => v.readyState >= 2 && v.videoWidth > 0)).toBe(true)
    await page.getByRole('button', { name: 'Take frame' }).click()
    await expect.poll(() => thumbnails().count()).toBe(before + 1)
    expect(await thumbnails().last().getAttribute('alt')).toBe('camera-frame.jpg')
    expect(await page.getByRole('dialog', { name: 'Camera' }).count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { __tracks: MediaStreamTrack[] }).__tracks.map((t) => t.readyState))).toEqual([
      'ended',
    ])
    await page.getByRole('button', { name: 'Remove camera-frame.jpg' }).click()
  })

  it('loads model + mmproj and answers about the attached images', async () => {
    await loadModel(fx.textModel, fx.mmproj)
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toContain('+ vision')
    await box().press('Enter')
    await expect
      .poll(() => stats().textContent(), { timeout: 30_000 })
      .toMatch(/^1024 tokens · .* \d+ in \(32 image\)(, \d+ cached)? · cut: longest answer$/)
    await expect.poll(() => page.getByTestId('turn-user').last().locator('img').count()).toBe(2)
    await expect
      .poll(() =>
        page
          .getByTestId('turn-user')
          .last()
          .locator('img')
          .first()
          .evaluate((img: HTMLImageElement) => img.naturalWidth),
      )
      .toBe(120)
    // The view followed the answer to its end (images loading above it included).
    const log = page.getByRole('list', { name: 'Messages' })
    await expect.poll(() => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(80)
    await page.screenshot({ path: join(ARTIFACTS, 'chat-answer-light.png') })
  })

  it('renders Markdown safely: highlighted code with a copy button, no scripts, no remote images', async () => {
    const chat = await h.chats.create({ title: 'Markdown sample' })
    await h.chats.update(chat.id, (c) => {
      const question = h.chats.newMessage('user', 'Show me some code')
      const answer = h.chats.newMessage(
        'assistant',
        '## Result\n\nHere is **bold**, a [link](https://example.com) and `inline`.\n\n```ts\nconst answer: number = 42\n```\n\n<script>window.pwned = true</script><img src="https://example.com/x.png" onerror="window.pwned = true">\n\n| a | b |\n|---|---|\n| 1 | 2 |',
      )
      answer.status = 'complete'
      c.messages.push(question, answer)
    })
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('markdown')
    await expect.poll(() => page.getByTestId('conversation').count()).toBe(1)
    await page
      .getByTestId('conversation')
      .getByRole('button', { name: /^Markdown sample/ })
      .click()
    const md = lastAnswer().getByTestId('markdown')
    await expect.poll(() => md.locator('h2').textContent()).toBe('Result')
    expect(await md.locator('pre code .hljs-keyword').first().textContent()).toBe('const')
    expect(await md.getByRole('button', { name: 'Copy' }).count()).toBe(1)
    expect(await md.locator('a').getAttribute('target')).toBe('_blank')
    expect(await md.locator('script, img, [onerror]').count()).toBe(0)
    expect(await md.locator('table td').count()).toBe(2)
    expect(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned)).toBeUndefined()
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('')
    await expect.poll(() => page.getByTestId('conversation').count()).toBe(2)
  })

  it('answers in JSON when the conversation says so; a schema that is no JSON, or one the engine refuses, says why', async () => {
    // The Markdown sample, open now and deleted by the next test.
    const chatId = (await h.chats.list()).find((c) => c.title === 'Markdown sample')!.id
    const answerAs = page.getByRole('combobox', { name: 'Answer as' })
    await page.locator('summary', { hasText: 'Markdown sample' }).click()
    expect(await answerAs.inputValue()).toBe('text')
    await answerAs.selectOption('json')
    await expect.poll(async () => (await h.chats.get(chatId)).settings.format).toEqual({ type: 'json' })
    // Short answers, varied: some end on their own soon.
    const longest = page.getByRole('spinbutton', { name: 'Longest answer (tokens)' })
    await longest.fill('200')
    await longest.press('Tab')
    const temperature = page.getByRole('spinbutton', { name: 'Temperature' })
    await temperature.fill('1')
    await temperature.press('Tab')
    await expect
      .poll(async () => (await h.chats.get(chatId)).settings)
      .toEqual({ maxTokens: 200, temperature: 1, format: { type: 'json' } })
    const lastStored = async (): Promise<StoredMessage> => (await h.chats.get(chatId)).messages.at(-1)!
    // The tiny model says nothing sensible, so an answer may run to the longest answer inside a
    // string: asked again until one ends on its own, which then is JSON, stored as written.
    let previous = (await lastStored()).id
    await box().fill('Describe a pet as JSON.')
    await box().press('Enter')
    let ended: StoredMessage | null = null
    for (let attempt = 0; attempt < 8 && !ended; attempt++) {
      if (attempt > 0) await lastAnswer().getByRole('button', { name: 'Regenerate' }).click()
      await expect
        .poll(
          async () => {
            const m = await lastStored()
            return m.role === 'assistant' && m.status !== 'streaming' && m.id !== previous
          },
          { timeout: 30_000 },
        )
        .toBe(true)
      const m = await lastStored()
      previous = m.id
      if (m.stats?.stopReason === 'eos') ended = m
    }
    expect(ended, 'no JSON answer ended on its own in 8 tries').not.toBeNull()
    const value: unknown = JSON.parse(ended!.text)
    expect(typeof value === 'object' && value !== null && !Array.isArray(value), ended!.text).toBe(true)
    await expect.poll(() => lastAnswer().getByTestId('markdown').textContent()).not.toBe('')

    // JSON matching a schema: a textarea, starting from an example.
    await answerAs.selectOption('json_schema')
    const schemaBox = page.getByRole('textbox', { name: 'JSON schema' })
    await expect.poll(async () => (await h.chats.get(chatId)).settings.format?.type).toBe('json_schema')
    const example = (await h.chats.get(chatId)).settings.format
    expect(JSON.parse(await schemaBox.inputValue())).toEqual((example as { schema: unknown }).schema)
    // Text that is no JSON: an error in the panel, nothing saved.
    await schemaBox.fill('{"type": "object",')
    await schemaBox.press('Tab')
    const formatError = page.locator('details').getByRole('alert')
    await expect.poll(() => formatError.textContent()).toMatch(/^The schema is not valid JSON .*nothing was saved\.$/)
    expect((await h.chats.get(chatId)).settings.format).toEqual(example)
    await page.screenshot({ path: join(ARTIFACTS, 'chat-answer-format-error.png') })
    // A keyword the grammar cannot enforce: saved, and the engine's refusal shows when asked, the question kept.
    await schemaBox.fill('{"type": "string", "pattern": "^a+$"}')
    await schemaBox.press('Tab')
    await expect
      .poll(async () => (await h.chats.get(chatId)).settings.format)
      .toEqual({ type: 'json_schema', schema: { type: 'string', pattern: '^a+$' } })
    expect(await formatError.count()).toBe(0)
    const before = (await h.chats.get(chatId)).messages.length
    await box().fill('And now?')
    await box().press('Enter')
    await expect.poll(() => page.getByRole('alert').last().textContent()).toContain('uses the keyword "pattern"')
    const after = (await h.chats.get(chatId)).messages
    expect(after).toHaveLength(before + 1)
    expect(after.at(-1)).toMatchObject({ role: 'user', text: 'And now?' })
    await answerAs.selectOption('text')
    await expect.poll(async () => (await h.chats.get(chatId)).settings.format).toBeUndefined()
    await page.locator('summary', { hasText: 'Markdown sample' }).click()
  })

  it('renames and deletes a conversation, asking first', async () => {
    await page.getByRole('button', { name: 'Rename Markdown sample' }).click()
    await page.getByRole('textbox', { name: 'Conversation title' }).fill('Code sample')
    await page.getByRole('textbox', { name: 'Conversation title' }).press('Enter')
    await expect.poll(() => page.getByRole('navigation', { name: 'Conversations' }).textContent()).toContain('Code sample')
    await page.getByRole('button', { name: 'Delete Code sample' }).click()
    await page.getByRole('group', { name: 'Delete Code sample?' }).getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => page.getByTestId('conversation').count()).toBe(1)
  })

  it('renders in the dark theme', async () => {
    const dark = await h.openApp({ colorScheme: 'dark' })
    await expect.poll(() => dark.getByTestId('status-bar').textContent()).toContain('+ vision')
    await expect.poll(() => dark.getByTestId('turn-assistant').count()).toBeGreaterThan(0)
    expect(await dark.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())).toBe('#1b1d22')
    await dark.screenshot({ path: join(ARTIFACTS, 'chat-dark.png') })
    await dark.close()
  })

  it('rejects invalid payloads from the page at the boundary, and exposes no raw IPC', async () => {
    const results = await page.evaluate(async () => {
      const api = window.assistant as unknown as Record<string, unknown>
      return {
        keys: Object.keys(api).sort(),
        wrongType: await window.assistant.invoke('engine:load', { modelPath: 5 }),
        unknown: await window.assistant.invoke('shell:exec' as never, { cmd: 'rm -rf /' }),
        oversized: await window.assistant.stream(
          'chat:generate',
          crypto.randomUUID(),
          { messages: [{ role: 'user', text: 'x'.repeat(100_001) }] },
          () => undefined,
        ),
        traversal: await window.assistant.invoke('chats:image', { chatId: '../../etc', imageId: 'passwd' }),
      }
    })
    expect(results.keys).toEqual(['cancel', 'invoke', 'on', 'stream'])
    expect(results.wrongType).toMatchObject({
      ok: false,
      error: { code: 'invalid-payload', message: expect.stringContaining('modelPath') },
    })
    expect(results.unknown).toEqual({ ok: false, error: { code: 'unknown-channel', message: 'unknown channel shell:exec' } })
    expect(results.oversized).toMatchObject({
      ok: false,
      error: { code: 'invalid-payload', message: expect.stringContaining('messages.0.text') },
    })
    expect(results.traversal).toMatchObject({ ok: false, error: { code: 'invalid-payload' } })
    // Nothing else happened: the vision model is still the one loaded.
    expect(h.engine.state()).toMatchObject({ state: 'ready', info: { mmprojPath: fx.mmproj } })
  })

  it('turns on the local API from Settings, which then serves the loaded model', async () => {
    const probe = createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const port = (probe.address() as AddressInfo).port
    await new Promise((r) => probe.close(r))
    await page.getByRole('button', { name: 'Settings' }).click()
    const dialog = page.getByRole('dialog', { name: 'Settings' })
    await expect.poll(() => dialog.getByTestId('api-state').textContent()).toBe('Off')
    await dialog.getByRole('checkbox', { name: 'Serve the API' }).check()
    await dialog.getByRole('spinbutton', { name: 'Port' }).fill(String(port))
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => dialog.getByTestId('api-state').textContent()).toBe(`Running at http://127.0.0.1:${port}/v1`)
    const key = await dialog.getByTestId('api-key').textContent()
    const models = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json())
    expect(models).toMatchObject({ data: [{ id: 'tiny-llama-f32' }] })
    await page.screenshot({ path: join(ARTIFACTS, 'settings-api.png') })
    await dialog.getByRole('checkbox', { name: 'Serve the API' }).uncheck()
    await dialog.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => dialog.getByTestId('api-state').textContent()).toBe('Off')
    await dialog.getByRole('button', { name: 'Close' }).click()
  })

  it('finds the conversation intact after the services restart', async () => {
    const conversation = (await h.chats.list())[0]!
    const saved = await h.chats.get(conversation.id)
    const dataDir = h.dataDir
    await h.close()
    h = await startHarness(dataDir)
    page = await h.openApp()
    await expect.poll(() => page.getByTestId('conversation').count()).toBe(1)
    await expect.poll(() => page.getByTestId('turn-assistant').count()).toBe(saved.messages.filter((m) => m.role === 'assistant').length)
    expect(await page.getByTestId('turn-user').first().getByTestId('turn-text').textContent()).toBe(saved.messages[0]!.text)
    // Images arrive from the store after the text: wait for them.
    await expect.poll(() => page.getByTestId('turn-user').last().locator('img').count()).toBe(2)
    expect(await stats().textContent()).toMatch(/\(32 image\)(, \d+ cached)? · cut: longest answer$/)
    // No model is loaded after the restart: the conversation offers the one that answered it.
    const note = page.getByRole('status').filter({ hasText: 'This conversation was answered by' })
    await expect.poll(() => note.textContent()).toContain('tiny-llama-f32.gguf with its vision projector')
    await note.getByRole('button', { name: 'Load it' }).click()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 20_000 }).toContain('+ vision')
    expect(await note.count()).toBe(0)
    // Both models loaded earlier are in the picker, the vision one first.
    const recent = await page.getByRole('combobox', { name: 'Choose a model' }).locator('option').allTextContents()
    expect(recent).toEqual(['Choose a model…', 'tiny-llama-f32 (vision)', 'tiny-llama-f32'])
  })

  it('says which conversations could not be read, keeps them, and shows their file on request', async () => {
    const dataDir = h.dataDir
    const listed = (await h.chats.list()).length
    // A conversation whose file a crash of another program, or a hand edit, left unreadable.
    const broken = join(dataDir, 'chats', '0b6c7c2e-1f0d-4f61-8d6e-5f8d3c1a9b21')
    await mkdir(broken, { recursive: true })
    await writeFile(join(broken, 'conversation.json'), '{"version": 1, "title": "Trip pl')
    await h.close()
    h = await startHarness(dataDir)
    page = await h.openApp()
    const notice = page.getByTestId('damaged-conversations')
    await expect.poll(() => notice.locator('summary').textContent()).toBe('One conversation could not be read')
    expect(await page.getByTestId('conversation').count()).toBe(listed)
    await notice.locator('summary').click()
    expect(await notice.textContent()).toContain('kept on disk as it was; nothing was changed.')
    await notice.getByRole('button', { name: 'Show file' }).click()
    await expect.poll(() => h.revealed).toEqual([join(broken, 'conversation.json')])
    expect(await readFile(join(broken, 'conversation.json'), 'utf8')).toBe('{"version": 1, "title": "Trip pl')
    await page.screenshot({ path: join(ARTIFACTS, 'chat-damaged-conversation.png') })
  })
})

// Refusals keep what the user typed and what is stored; a delete or a regenerate leaves the
// window showing what main holds. A harness of its own, so these run apart from the flow above.
describe.skipIf(skip !== null)('chat window: refusals, regenerates and deletes in Chromium', () => {
  let h: Harness
  let fx: FixturePaths
  let page: Page

  const box = () => page.getByRole('textbox', { name: 'Message' })
  const attached = () => page.getByRole('list', { name: 'Attached images' })
  const sidebar = () => page.getByRole('navigation', { name: 'Conversations' })
  const texts = (messages: StoredMessage[]): string[] => messages.map((m) => `${m.role}:${m.text}`)
  const shown = () =>
    page
      .getByRole('list', { name: 'Messages' })
      .locator('li[data-testid^="turn-"]')
      .evaluateAll((turns) =>
        turns.map(
          (t) => `${t.getAttribute('data-testid')!.slice(5)}:${(t.querySelector('[data-testid=turn-text]')?.textContent ?? '').trim()}`,
        ),
      )

  /** A conversation with finished turns, as a restart finds it. */
  async function seed(title: string, turns: [string, string][], maxTokens = 8): Promise<string> {
    const c = await h.chats.create({ title })
    await h.chats.update(c.id, (x) => {
      x.settings = { maxTokens, temperature: 0.7 }
      for (const [q, a] of turns)
        x.messages.push(h.chats.newMessage('user', q), { ...h.chats.newMessage('assistant', a), status: 'complete' })
    })
    return c.id
  }

  async function open(title: string): Promise<void> {
    await sidebar()
      .getByRole('button', { name: new RegExp(`^${title}`) })
      .click()
    await expect.poll(() => page.locator('section.conversation summary').first().textContent()).toContain(title)
  }

  beforeAll(async () => {
    fx = await ensureFixtures()
    h = await startHarness()
  })
  afterAll(async () => h?.close())

  it('Regenerate or Edit with no model loaded is refused in words, and every turn stays, on screen and stored', async () => {
    const id = await seed('Nothing loaded', [
      ['first q', 'first a'],
      ['second q', 'second a'],
    ])
    const before = texts((await h.chats.get(id)).messages)
    page = await h.openApp()
    await expect.poll(() => page.getByTestId('status-bar').textContent()).toContain('No model loaded')
    await expect.poll(shown).toEqual(before)

    await page.getByTestId('turn-assistant').first().getByRole('button', { name: 'Regenerate' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Load a model first')
    expect(await shown()).toEqual(before)
    expect(texts((await h.chats.get(id)).messages)).toEqual(before)

    await page.getByTestId('turn-user').first().getByRole('button', { name: 'Edit' }).click()
    const editor = page.getByRole('textbox', { name: 'Edit message' })
    await editor.fill('first q, edited')
    await page.getByRole('button', { name: 'Save and send' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Load a model first')
    // The editor stays open with the edit, to be sent once a model is loaded.
    expect(await editor.inputValue()).toBe('first q, edited')
    await page.getByRole('button', { name: 'Cancel' }).click()
    expect(await shown()).toEqual(before)
    expect(texts((await h.chats.get(id)).messages)).toEqual(before)
  })

  it('regenerating an earlier answer leaves on screen the turns that are stored', async () => {
    await page.getByPlaceholder('/path/to/model.gguf').fill(fx.textModel)
    await page.getByRole('button', { name: 'Load', exact: true }).click()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 30_000 }).toContain('tiny-llama')
    const id = await seed('Earlier answer', [
      ['q one', 'a one'],
      ['q two', 'a two'],
    ])
    await page.reload()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 30_000 }).toContain('tiny-llama')
    await open('Earlier answer')
    await expect.poll(() => page.getByTestId('turn-assistant').count()).toBe(2)
    // An alert left from before (a question too long) goes with a regenerate that succeeds.
    await box().fill('x'.repeat(100_001))
    await box().press('Enter')
    await expect.poll(() => page.getByRole('alert').count()).toBe(1)
    await box().fill('')
    await page.getByTestId('turn-assistant').first().getByRole('button', { name: 'Regenerate' }).click()
    await expect.poll(() => page.getByRole('button', { name: 'Regenerate' }).count(), { timeout: 30_000 }).toBe(1)
    const stored = (await h.chats.get(id)).messages
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant'])
    expect(await shown()).toEqual(texts(stored).map((t) => (t.startsWith('assistant:') ? expect.stringMatching(/^assistant:/) : t)))
    expect(await page.getByRole('alert').count()).toBe(0)
  })

  it('a send main refuses gives the question and its images back to the composer; too many images are refused in words', async () => {
    await page.getByRole('button', { name: '+ New conversation' }).click()
    await page
      .getByTestId('file-input')
      .setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not really a png') })
    await box().fill('A carefully typed question about this picture')
    await box().press('Enter')
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('broken.png is not an image that can be read.')
    await expect.poll(() => box().inputValue()).toBe('A carefully typed question about this picture')
    expect(await attached().getByRole('button', { name: 'Remove broken.png' }).count()).toBe(1)
    await attached().getByRole('button', { name: 'Remove broken.png' }).click()

    const png = Buffer.from(await solidPng(16, 16, '#2255aa'))
    await page
      .getByTestId('file-input')
      .setInputFiles(Array.from({ length: 9 }, (_, i) => ({ name: `p${i}.png`, mimeType: 'image/png', buffer: png })))
    await expect.poll(() => attached().getByRole('listitem').count()).toBe(9)
    await box().press('Enter')
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/9 images.*at most 8/)
    expect(await page.getByRole('alert').textContent()).not.toContain('chats:send')
    expect(await box().inputValue()).toBe('A carefully typed question about this picture')
    expect(await attached().getByRole('listitem').count()).toBe(9)
    for (let i = 0; i < 9; i++)
      await attached()
        .getByRole('button', { name: `Remove p${i}.png` })
        .click()
    await box().fill('')
  })

  it('a HEIC photo is shown in the composer by its name, to be converted when sent, not as a broken image', async () => {
    const heic = await readFile(join(import.meta.dirname, '../fixtures/red-64x48.heic'))
    await page.getByTestId('file-input').setInputFiles({ name: 'photo.heic', mimeType: 'image/heic', buffer: heic })
    const tile = attached().getByRole('listitem').filter({ hasText: 'photo.heic' })
    await expect.poll(() => tile.count()).toBe(1)
    expect(await tile.textContent()).toMatch(/converted/i)
    // Nothing in the list is an image the browser failed to show.
    expect(
      await attached()
        .locator('img')
        .evaluateAll((imgs) => imgs.filter((i) => !(i as HTMLImageElement).naturalWidth).length),
    ).toBe(0)
    await attached().getByRole('button', { name: 'Remove photo.heic' }).click()
    await expect.poll(() => attached().count()).toBe(0)
  })

  it('deleting the conversation being answered stops its answer, and says nothing of it', async () => {
    const id = await seed('Talkative', [['hello', 'hi']], 30_000)
    await page.reload()
    await expect.poll(() => page.getByTestId('status-bar').textContent(), { timeout: 30_000 }).toContain('tiny-llama')
    await open('Talkative')
    await box().fill('Talk for a long time.')
    await box().press('Enter')
    await expect.poll(async () => (await page.getByTestId('turn-assistant').last().textContent())!.length).toBeGreaterThan(20)
    const stop = page.getByRole('button', { name: 'Stop' })
    expect(await stop.count()).toBe(1)
    await page.getByRole('button', { name: 'Delete Talkative' }).click()
    await page.getByRole('group', { name: 'Delete Talkative?' }).getByRole('button', { name: 'Delete' }).click()
    // The engine notices a stop between tokens: on a busy machine that takes a moment.
    await expect.poll(() => stop.count(), { timeout: 10_000 }).toBe(0)
    await expect.poll(async () => (await h.chats.list()).some((c) => c.id === id)).toBe(false)
    // Long enough for the answer main was writing to have ended.
    await new Promise((r) => setTimeout(r, 2_000))
    expect(await page.getByRole('alert').count()).toBe(0)
    expect(h.router.activeStreams()).toBe(0)
  })

  it('a question asked with no conversation open starts one, listed while its answer streams', async () => {
    // The conversation open was deleted (above): none is open now.
    const stop = page.getByRole('button', { name: 'Stop' })
    const listed = await page.getByTestId('conversation').count()
    await box().fill('A new start')
    await box().press('Enter')
    await expect
      .poll(() =>
        page.evaluate(() => ({
          streaming: [...document.querySelectorAll('button')].some((b) => b.textContent === 'Stop'),
          listed: document.querySelectorAll('[data-testid="conversation"]').length,
        })),
      )
      .toEqual({ streaming: true, listed: listed + 1 })
    await stop.click()
    await expect.poll(() => stop.count(), { timeout: 10_000 }).toBe(0)
  })
})
