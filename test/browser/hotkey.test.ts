// Settings' screenshot shortcut in real Chromium, against the real services: a combination is
// recorded by pressing it, saved, and put in force; one another application holds is refused
// beside the field and the previous one stays; the default and off are a click away.
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Locator, Page } from 'playwright-core'
import { ARTIFACTS, browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()
if (skip) console.warn(`[browser tests skipped] ${skip}`)

// The machine is shared and slow: give the page time to answer.
const poll = { timeout: 20_000 }

describe.skipIf(skip !== null)('the screenshot shortcut in Settings, in Chromium', () => {
  let h: Harness
  let page: Page
  const DEFAULT = process.platform === 'darwin' ? 'Command+Shift+Space' : 'Control+Shift+Space'

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    h = await startHarness()
    page = await h.openApp()
  })
  afterAll(async () => h?.close())

  async function openSection(): Promise<Locator> {
    await page.getByRole('button', { name: 'Settings' }).click()
    const section = page.getByRole('dialog', { name: 'Settings' }).getByRole('group', { name: 'Screenshot shortcut' })
    await expect.poll(() => section.getByTestId('hotkey-state').textContent(), poll).toBe(`In force: ${DEFAULT}`)
    return section
  }

  it('records a combination from key presses, saves it, and it is in force', async () => {
    const section = await openSection()
    const field = section.getByRole('textbox', { name: 'Shortcut' })
    expect(await field.inputValue()).toBe(DEFAULT)
    await field.click()
    // Held modifiers show before the key.
    await page.keyboard.down('Control')
    await page.keyboard.down('Alt')
    await expect.poll(() => field.inputValue(), poll).toBe('Control+Alt+…')
    await page.keyboard.press('KeyK')
    await page.keyboard.up('Alt')
    await page.keyboard.up('Control')
    await expect.poll(() => field.inputValue(), poll).toBe('Control+Alt+K')
    await section.getByRole('button', { name: 'Save shortcut' }).click()
    await expect.poll(() => section.getByTestId('hotkey-state').textContent(), poll).toBe('In force: Control+Alt+K')
    expect([...h.shortcuts.held]).toEqual(['Control+Alt+K'])
    expect(JSON.parse(await readFile(join(h.dataDir, 'hotkey.json'), 'utf8'))).toEqual({ accelerator: 'Control+Alt+K' })
    expect(await section.getByRole('alert').count()).toBe(0)
  })

  it('refuses one another application holds, beside the field, and keeps the one in force', async () => {
    h.shortcuts.taken.add('Control+Alt+P')
    const section = page.getByRole('group', { name: 'Screenshot shortcut' })
    const field = section.getByRole('textbox', { name: 'Shortcut' })
    await field.click()
    await page.keyboard.press('Control+Alt+KeyP')
    await expect.poll(() => field.inputValue(), poll).toBe('Control+Alt+P')
    await section.getByRole('button', { name: 'Save shortcut' }).click()
    const alert = section.getByRole('alert')
    await expect
      .poll(() => alert.textContent(), poll)
      .toBe('Control+Alt+P is already used by another application. Choose another shortcut.')
    // The sentence is the field's description, so a screen reader reads it with the field.
    expect(await field.getAttribute('aria-describedby')).toContain('hotkey-error')
    expect(await field.getAttribute('aria-invalid')).toBe('true')
    await section.screenshot({ path: join(ARTIFACTS, 'settings-hotkey-taken.png') })
    expect(await section.getByTestId('hotkey-state').textContent()).toBe('In force: Control+Alt+K')
    expect([...h.shortcuts.held]).toEqual(['Control+Alt+K'])
    expect(h.hotkey.state().saved).toBe('Control+Alt+K')
  })

  it('refuses a plain key with the validator’s sentence; Esc cancels recording and leaves Settings open', async () => {
    const section = page.getByRole('group', { name: 'Screenshot shortcut' })
    const field = section.getByRole('textbox', { name: 'Shortcut' })
    await field.click()
    await page.keyboard.press('KeyA')
    await expect
      .poll(() => section.getByRole('alert').textContent(), poll)
      .toBe('A global shortcut needs at least one modifier (Control, Alt, Shift or Command), or it would steal a key from every app.')
    await page.keyboard.press('Escape')
    await expect.poll(() => field.evaluate((el) => el === document.activeElement), poll).toBe(false)
    expect(await field.inputValue()).toBe('Control+Alt+K')
    expect(await page.getByRole('dialog', { name: 'Settings' }).isVisible()).toBe(true)
    expect(await section.getByRole('alert').count()).toBe(0)
    expect([...h.shortcuts.held]).toEqual(['Control+Alt+K'])
  })

  it('turns the shortcut off, and back to the default', async () => {
    const section = page.getByRole('group', { name: 'Screenshot shortcut' })
    await section.getByRole('button', { name: 'Turn off' }).click()
    await expect
      .poll(() => section.getByTestId('hotkey-state').textContent(), poll)
      .toBe("Off: use the tray's menu to ask about the screen.")
    expect(h.shortcuts.held.size).toBe(0)
    await section.getByRole('button', { name: `Use default (${DEFAULT})` }).click()
    await expect.poll(() => section.getByTestId('hotkey-state').textContent(), poll).toBe(`In force: ${DEFAULT}`)
    expect([...h.shortcuts.held]).toEqual([DEFAULT])
    expect(await section.getByRole('button', { name: `Use default (${DEFAULT})` }).isDisabled()).toBe(true)
    await page.getByRole('dialog', { name: 'Settings' }).getByRole('button', { name: 'Close' }).click()
  })
})
