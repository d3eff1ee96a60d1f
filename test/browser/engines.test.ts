// Remote engines in Chromium against the real services: Settings → Engines adds, tests and
// removes them; the header picker moves a conversation to a real llama-server and back; the
// window says plainly when a conversation leaves this computer; and each way a server can fail
// (a wrong key, a wrong address, a hang, a web page, a 500) reads as a sentence in the form.
import { mkdir } from 'node:fs/promises'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Locator, Page } from 'playwright-core'
import { findLlamaServer, startLlamaServer, type LlamaServer } from '../../bench/llama-server.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { startFakeOpenAi } from '../remote/fake-openai.js'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)
const bin = await findLlamaServer()
if (!skip && !bin.found) console.warn(`[engines: llama-server case skipped] ${bin.reason}`)

/** Stand-ins for servers that go wrong, one per path prefix. The hang accepts and never answers. */
function startStandIns(): Promise<Server> {
  const json = (res: ServerResponse, status: number, body: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    if (path.startsWith('/hang/')) return // never answered; closed with the server
    if (path.startsWith('/key/')) {
      // The right key: a text-only server, refusing the test's image as llama-server without a projector does.
      if (req.headers.authorization === 'Bearer right-key') {
        if (path.endsWith('/models')) return json(res, 200, { object: 'list', data: [{ id: 'm' }] })
        return json(res, 500, { error: { message: 'image input is not supported - hint: you may need to provide the mmproj' } })
      }
      return json(res, 401, { error: { message: 'Invalid API Key', type: 'authentication_error' } })
    }
    if (path.startsWith('/html/'))
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><h1>Router login</h1>')
    if (path.startsWith('/fail/')) return json(res, 500, { error: { message: 'CUDA out of memory' } })
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found')
  })
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)))
}

describe.skipIf(skip !== null)('remote engines in Chromium', () => {
  let h: Harness
  let fx: FixturePaths
  let page: Page
  let standIns: Server
  let standIn: string
  let llama: LlamaServer | undefined

  beforeAll(async () => {
    fx = await ensureFixtures()
    await mkdir(ARTIFACTS, { recursive: true })
    standIns = await startStandIns()
    standIn = `http://127.0.0.1:${(standIns.address() as AddressInfo).port}`
    ;[h, llama] = await Promise.all([
      startHarness(),
      bin.found ? startLlamaServer({ binary: bin.path, model: fx.textModel, mmproj: fx.mmproj }) : Promise.resolve(undefined),
    ])
    page = await h.openApp()
  })
  afterAll(async () => {
    standIns?.closeAllConnections()
    standIns?.close()
    await llama?.stop()
    await h?.close()
  })

  const dialog = (on: Page = page): Locator => on.getByRole('dialog', { name: 'Settings' })
  const engineForm = (name: string, on: Page = page): Locator => dialog(on).getByRole('group', { name, exact: true })
  const picker = (): Locator => page.getByRole('combobox', { name: 'Engine' })
  const privacy = (): Locator => page.getByTestId('engine-privacy')
  const box = (): Locator => page.getByRole('textbox', { name: 'Message' })
  const lastAnswer = (): Locator => page.getByTestId('turn-assistant').last()

  async function openSettings(on: Page = page): Promise<void> {
    await on.getByRole('button', { name: 'Settings' }).click()
    await expect.poll(() => dialog(on).isVisible()).toBe(true)
  }

  /** Fills the new-engine form as the user does; `test` presses Test connection, else Save. */
  async function addEngine(o: { name: string; address: string; key?: string; test?: boolean; on?: Page }): Promise<Locator> {
    const on = o.on ?? page
    await dialog(on).getByRole('button', { name: 'New engine' }).click()
    const form = engineForm('New engine', on)
    await form.getByLabel('Name', { exact: true }).fill(o.name)
    await form.getByLabel('Address', { exact: true }).fill(o.address)
    if (o.key) await form.getByLabel('API key', { exact: true }).fill(o.key)
    await form.getByRole('button', { name: o.test ? 'Test connection' : 'Save' }).click()
    return form
  }

  it('refuses javascript: and file: addresses, and http to the internet until unencrypted is allowed, keeping what was typed', async () => {
    await openSettings()
    expect(await dialog().getByRole('region', { name: 'This computer' }).textContent()).toContain('Nothing leaves this computer')
    const form = await addEngine({ name: 'Bad', address: 'javascript:alert(1)' })
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('Only http:// and https:// addresses can be used')
    expect(await form.getByLabel('Name', { exact: true }).inputValue()).toBe('Bad')
    expect(await form.getByLabel('Address', { exact: true }).inputValue()).toBe('javascript:alert(1)')

    await form.getByLabel('Address', { exact: true }).fill('file:///etc/passwd')
    await form.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('not file:')

    // Plain http to the internet: the toggle appears only now, and saving waits for it.
    const toggle = form.getByLabel(/Allow unencrypted \(http\) to this address/)
    expect(await toggle.count()).toBe(0)
    await form.getByLabel('Address', { exact: true }).fill('http://example.com/v1')
    await form.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/unencrypted over the internet/)
    expect(await form.getByLabel('Address', { exact: true }).inputValue()).toBe('http://example.com/v1')
    expect(h.remoteEngines.view().engines).toHaveLength(0)
    await toggle.check()
    await form.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => engineForm('Bad').count()).toBe(1)
    expect(h.remoteEngines.view().engines[0]).toMatchObject({ name: 'Bad', baseUrl: 'http://example.com/v1', allowUnencrypted: true })
    expect(await engineForm('Bad').getByText('Kept until the app quits: this system has no keychain.').count()).toBe(1)

    // Removing asks first.
    await engineForm('Bad').getByRole('button', { name: 'Remove' }).click()
    await engineForm('Bad').getByRole('group', { name: 'Remove Bad?' }).getByRole('button', { name: 'Remove' }).click()
    await expect.poll(() => engineForm('Bad').count()).toBe(0)
    expect(h.remoteEngines.view().engines).toHaveLength(0)
    await dialog().getByRole('button', { name: 'Close' }).click()
  })

  it('says what went wrong with a wrong key, a wrong address, a hang, a web page and a 500', async () => {
    // The connection test gives a silent server 2 s in the harness (10 s in the app); the hang
    // still runs in a second window while the others are tried here.
    const other = await h.openApp()
    await openSettings(other)
    await addEngine({ name: 'Hangs', address: `${standIn}/hang/v1`, test: true, on: other })

    await openSettings()
    const cases: [name: string, address: string, key: string | undefined, expected: RegExp][] = [
      ['Wrong key', `${standIn}/key/v1`, 'wrong-key', /The server refused the API key \(401\)/],
      ['Wrong address', `${standIn}/nothing/v1`, undefined, /No OpenAI-compatible API at http:\/\/127\.0\.0\.1:\d+\/nothing\/v1 \(404\)/],
      ['Web page', `${standIn}/html/v1`, undefined, /answered with a web page, not the OpenAI API/],
      ['Broken', `${standIn}/fail/v1`, undefined, /The server failed \(500\): CUDA out of memory/],
    ]
    for (const [name, address, key, expected] of cases) {
      await addEngine({ name, address, ...(key ? { key } : {}), test: true })
      // Saved, then tested: the message stays with the saved engine's form, its fields as typed.
      await expect.poll(() => engineForm(name).getByRole('alert').textContent(), { timeout: 10_000 }).toMatch(expected)
      expect(await engineForm(name).getByLabel('Address', { exact: true }).inputValue()).toBe(address)
    }
    // The right key, typed into the same form, passes.
    await engineForm('Wrong key').getByLabel('API key', { exact: true }).fill('right-key')
    await engineForm('Wrong key').getByRole('button', { name: 'Test connection' }).click()
    await expect
      .poll(() => engineForm('Wrong key').getByTestId('engine-report').textContent())
      .toMatch(/Connected in \d+ ms\. Model: m\.\s+Text only: the text on screen is still read/)
    expect(await engineForm('Wrong key').getByRole('alert').count()).toBe(0)
    // Another server in the address (another host name): the form says the saved key stays behind unless typed again.
    const moved = engineForm('Wrong key')
    await moved.getByLabel('Address', { exact: true }).fill(`${standIn.replace('127.0.0.1', 'localhost')}/key/v1`)
    await expect
      .poll(() => moved.textContent())
      .toMatch(
        /Saving this address forgets the saved key \(given for http:\/\/127\.0\.0\.1:\d+\): type it again to send it to this server\./,
      )
    await moved.getByLabel('API key', { exact: true }).fill('right-key')
    expect(await moved.getByText(/forgets the saved key/).count()).toBe(0)
    await moved.getByLabel('API key', { exact: true }).fill('')
    await moved.getByLabel('Address', { exact: true }).fill(`${standIn}/key/v1`)
    expect(await moved.getByText(/forgets the saved key/).count()).toBe(0)

    await expect
      .poll(() => engineForm('Hangs', other).getByRole('alert').textContent(), { timeout: 20_000 })
      .toMatch(/The server at http:\/\/127\.0\.0\.1:\d+ did not answer within 2 s\./)
    await other.context().close()
    for (const e of h.remoteEngines.view().engines) await h.remoteEngines.remove(e.id)
    await dialog().getByRole('button', { name: 'Close' }).click()
  })

  it('says beside the field when the name or the address is empty, and sends nothing', async () => {
    // From a fresh page: a test before may have left a dialog open.
    await page.reload()
    await openSettings()
    await dialog().getByRole('button', { name: 'New engine' }).click()
    const form = engineForm('New engine')
    const name = form.getByLabel('Name', { exact: true })
    const address = form.getByLabel('Address', { exact: true })
    await form.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => form.getByText('Give the engine a name.').count()).toBe(1)
    expect(await form.getByText('Enter the server’s address.').count()).toBe(1)
    // Beside each field, and read with it; never the channel's raw message.
    expect([await name.getAttribute('aria-invalid'), await address.getAttribute('aria-invalid')]).toEqual(['true', 'true'])
    expect(await name.getAttribute('aria-describedby')).toMatch(/name-error/)
    expect(await form.textContent()).not.toContain('engines:add')
    expect(h.remoteEngines.view().engines).toHaveLength(0)

    // Typing the name takes its sentence away; the address's stays until it is typed too.
    await name.fill('Named')
    await expect.poll(() => form.getByText('Give the engine a name.').count()).toBe(0)
    await form.getByRole('button', { name: 'Test connection' }).click()
    await expect.poll(() => form.getByText('Enter the server’s address.').count()).toBe(1)
    expect(h.remoteEngines.view().engines).toHaveLength(0)
    await address.fill('http://127.0.0.1:9/v1')
    await form.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => engineForm('Named').count()).toBe(1)
    expect(await engineForm('Named').getByRole('alert').count()).toBe(0)

    // Emptied in a saved engine's form: said the same way, and the saved engine keeps its name.
    const saved = engineForm('Named')
    await saved.getByLabel('Name', { exact: true }).fill('  ')
    await saved.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => saved.getByText('Give the engine a name.').count()).toBe(1)
    expect(h.remoteEngines.view().engines).toMatchObject([{ name: 'Named' }])

    // A key pasted with a space inside: main's rule, said beside the key, and nothing saved.
    await saved.getByLabel('Name', { exact: true }).fill('Named')
    const key = saved.getByLabel('API key', { exact: true })
    await key.fill('sk-abc def')
    await saved.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => saved.getByText(/The API key holds a space/).count()).toBe(1)
    expect(await key.getAttribute('aria-invalid')).toBe('true')
    expect(await saved.textContent()).not.toContain('engines:update')
    expect(h.remoteEngines.view().engines).toMatchObject([{ name: 'Named', hasKey: false }])
    for (const e of h.remoteEngines.view().engines) await h.remoteEngines.remove(e.id)
    await dialog().getByRole('button', { name: 'Close' }).click()
  })

  it('another host forgets the saved key on Save, as the form says first', async () => {
    const { id } = await h.remoteEngines.add({
      name: 'Keyed',
      baseUrl: 'http://127.0.0.1:9/v1',
      apiKey: 'sk-kept',
      allowUnencrypted: false,
    })
    await page.reload()
    await openSettings()
    const form = engineForm('Keyed')
    await form.getByLabel('Address', { exact: true }).fill('http://localhost:9/v1')
    await expect
      .poll(() => form.textContent())
      .toContain('Saving this address forgets the saved key (given for http://127.0.0.1:9): type it again to send it to this server.')
    await form.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => h.remoteEngines.view().engines[0]?.baseUrl).toBe('http://localhost:9/v1')
    expect(h.remoteEngines.view().engines[0]).toMatchObject({ hasKey: false })
    await expect.poll(() => form.getByLabel('API key', { exact: true }).getAttribute('placeholder')).toBe('None')
    await h.remoteEngines.remove(id)
    await dialog().getByRole('button', { name: 'Close' }).click()
  })

  it('after the server’s models change, a test lists them, and the saved model shows as no longer listed', async () => {
    // From a fresh page: a test before may have left a dialog open.
    await page.reload()
    const server = await startFakeOpenAi(['txt'])
    try {
      await openSettings()
      await addEngine({ name: 'Changing', address: server.url, test: true })
      const form = engineForm('Changing')
      await expect.poll(() => form.getByTestId('engine-report').textContent()).toMatch(/Model: txt\.\s+Takes images/)
      // "txt" removed from the server, "vis" pulled.
      server.models = ['vis']
      await form.getByRole('button', { name: 'Test connection' }).click()
      await expect
        .poll(() => form.getByRole('alert').textContent())
        .toBe('The server no longer lists the model “txt”: choose one of the models it lists now, and test again.')
      const select = form.getByRole('combobox', { name: /^Model/ })
      expect(await select.inputValue()).toBe('txt')
      expect(await select.locator('option').allTextContents()).toEqual(['vis', 'txt (no longer listed)'])
      await select.selectOption('vis')
      await form.getByRole('button', { name: 'Test connection' }).click()
      await expect.poll(() => form.getByTestId('engine-report').textContent()).toMatch(/Model: vis\.\s+Takes images/)
      expect(h.remoteEngines.view().engines).toMatchObject([{ name: 'Changing', model: 'vis', models: ['vis'] }])
      expect(await select.locator('option').allTextContents()).toEqual(['vis'])
    } finally {
      for (const e of h.remoteEngines.view().engines) await h.remoteEngines.remove(e.id)
      await server.close()
    }
    await dialog().getByRole('button', { name: 'Close' }).click()
  })

  it('a pick main refuses puts the header back on the engine in use, and lists the engines as they are', async () => {
    const { id } = await h.remoteEngines.add({ name: 'Gone', baseUrl: 'http://127.0.0.1:9/v1', model: 'm', allowUnencrypted: false })
    await page.reload()
    await expect.poll(() => picker().locator('optgroup[label="Gone"]').count()).toBe(1)
    // Removed in another window: this one still lists it.
    await h.remoteEngines.remove(id)
    await picker().selectOption({ value: `${id}\nm` })
    await expect.poll(() => page.getByText('That engine is no longer in Settings.').count()).toBe(1)
    expect(await picker().inputValue()).toBe('local')
    expect(await privacy().count()).toBe(0)
    expect(await picker().locator('optgroup[label="Gone"]').count()).toBe(0)
    expect(h.remoteEngines.view().defaultEngine).toBeNull()
  })

  it.skipIf(!bin.found)('answers from a real llama-server picked in the header, and goes back to this computer', async () => {
    // A model loaded here first: picking the remote engine must leave it loaded.
    await page.getByPlaceholder('/path/to/model.gguf').fill(fx.textModel)
    await page.getByRole('button', { name: 'Load', exact: true }).click()
    await expect.poll(() => h.engine.state().state, { timeout: 20_000 }).toBe('ready')
    await page.reload()

    await openSettings()
    await addEngine({ name: 'GPU box', address: `${llama!.url}/v1`, test: true })
    const report = engineForm('GPU box').getByTestId('engine-report')
    await expect.poll(() => report.textContent(), { timeout: 20_000 }).toMatch(/Connected in \d+ ms\. Model: .+\.\s+Takes images/)
    const [engine] = h.remoteEngines.view().engines
    expect(engine).toMatchObject({ name: 'GPU box', images: 'accepted' })
    const model = engine!.model!
    expect(
      await engineForm('GPU box')
        .getByRole('combobox', { name: /^Model/ })
        .inputValue(),
    ).toBe(model)
    // For the README (docs/engines.png is copied from here by hand, so a test run changes no tracked file).
    await dialog()
      .getByRole('region', { name: 'Engines' })
      .screenshot({ path: join(ARTIFACTS, 'engines.png') })
    await dialog().getByRole('button', { name: 'Close' }).click()

    // The picker lists this computer's model and the server's models under its name.
    expect(
      await picker()
        .locator('optgroup')
        .evaluateAll((groups) => groups.map((g) => g.getAttribute('label'))),
    ).toEqual(['This computer', 'GPU box'])
    expect(await picker().locator('option').first().textContent()).toBe('tiny-llama-f32')
    // The server's model has the same file name as the one loaded here: picked by its value, which names the engine.
    await picker().selectOption({ value: `${engine!.id}\n${model}` })
    await expect.poll(() => privacy().textContent()).toMatch(/Answers from GPU box — this conversation leaves this computer/)
    await expect.poll(() => h.remoteEngines.view().defaultEngine).toEqual({ id: engine!.id, model })
    expect(h.engine.state().state).toBe('ready')

    await box().fill('What is on the screen?')
    await box().press('Enter')
    await expect.poll(() => lastAnswer().getByTestId('turn-stats').textContent(), { timeout: 30_000 }).toMatch(/^\d+ tokens · /)
    // llama-server names its model by file path; the window shows the file's name.
    expect(model).toMatch(/\.gguf$/)
    expect(await lastAnswer().getByTestId('turn-engine').textContent()).toBe(`GPU box · ${basename(model, '.gguf')}`)
    expect((await lastAnswer().getByTestId('markdown').textContent())!.length).toBeGreaterThan(0)
    const [chat] = await h.chats.list()
    expect((await h.chats.get(chat!.id)).engine).toEqual({ id: engine!.id, model })
    await page.screenshot({ path: join(ARTIFACTS, 'engines-remote-answer.png') })

    // Quick-ask goes where new conversations go, and says so.
    const quick = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 420 } })
    await expect.poll(() => quick.getByTestId('quick-engine').textContent()).toMatch(/Answers from GPU box/)
    await quick.context().close()

    // Back to this computer: the same conversation, answered here, with nothing said about a server.
    await picker().selectOption('local')
    await expect.poll(() => privacy().count()).toBe(0)
    expect((await h.chats.get(chat!.id)).engine ?? null).toBeNull()
    expect(h.remoteEngines.view().defaultEngine).toBeNull()
    await box().fill('And now?')
    await box().press('Enter')
    await expect.poll(() => page.getByTestId('turn-assistant').count()).toBe(2)
    await expect.poll(() => lastAnswer().getByTestId('turn-stats').textContent(), { timeout: 30_000 }).toMatch(/^\d+ tokens · /)
    expect(await lastAnswer().getByTestId('turn-engine').count()).toBe(0)
    expect(await page.getByTestId('turn-engine').count()).toBe(1)
  })
})
