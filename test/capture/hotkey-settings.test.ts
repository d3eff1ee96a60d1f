// The screenshot shortcut the user chooses in Settings: saved in the data folder, registered at
// startup, and never silently replaced. A fake registry stands in for Electron's globalShortcut.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openHotkeySettings } from '../../electron/capture/hotkey-settings.js'
import { normalizeAccelerator, type ShortcutRegistry } from '../../electron/capture/hotkey.js'
import { createRouter, type Sender } from '../../electron/ipc/router.js'
import { createServices, type ServiceDeps } from '../../electron/services/services.js'

/** Behaves like globalShortcut: a shortcut another application holds cannot be registered. */
function registry(...takenByOthers: string[]) {
  const taken = new Set(takenByOthers)
  const held = new Map<string, () => void>()
  const r: ShortcutRegistry & { held: Map<string, () => void>; taken: Set<string> } = {
    held,
    taken,
    register(accelerator, callback) {
      if (taken.has(accelerator) || held.has(accelerator)) return false
      held.set(accelerator, callback)
      return true
    },
    unregister(accelerator) {
      held.delete(accelerator)
    },
  }
  return r
}

async function dataDir(file?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lva-hotkey-'))
  if (file !== undefined) await writeFile(join(dir, 'hotkey.json'), file)
  return dir
}

const open = (dir: string, platform: NodeJS.Platform = 'linux') => openHotkeySettings({ path: join(dir, 'hotkey.json'), platform })
const savedFile = async (dir: string): Promise<unknown> => JSON.parse(await readFile(join(dir, 'hotkey.json'), 'utf8'))

describe('screenshot shortcut setting', () => {
  it('registers the default on first run, the platform’s own on macOS', async () => {
    for (const [platform, expected] of [
      ['linux', 'Control+Shift+Space'],
      ['darwin', 'Command+Shift+Space'],
    ] as const) {
      const hotkey = await open(await dataDir(), platform)
      const r = registry()
      let pressed = 0
      expect(hotkey.start(r, () => pressed++)).toBeNull()
      expect(hotkey.state()).toEqual({ accelerator: expected, saved: expected, default: expected, error: null })
      r.held.get(expected)!()
      expect(pressed).toBe(1)
    }
  })

  it('registers the saved shortcut at startup, not the default', async () => {
    const hotkey = await open(await dataDir(JSON.stringify({ accelerator: 'Alt+Shift+S' })))
    const r = registry()
    expect(hotkey.start(r, () => undefined)).toBeNull()
    expect([...r.held.keys()]).toEqual(['Alt+Shift+S'])
    expect(hotkey.state()).toMatchObject({ accelerator: 'Alt+Shift+S', saved: 'Alt+Shift+S', default: 'Control+Shift+Space' })
  })

  it('a saved shortcut another application took says so, points to Settings, and stays the user’s choice', async () => {
    const dir = await dataDir(JSON.stringify({ accelerator: 'Alt+Shift+S' }))
    const hotkey = await open(dir)
    const r = registry('Alt+Shift+S')
    expect(hotkey.start(r, () => undefined)).toBe(
      'Alt+Shift+S is already used by another application, so the screenshot shortcut is off. Choose another one in Settings, under Screenshot shortcut.',
    )
    // Not the default in its place, and the file still says what the user chose.
    expect(r.held.size).toBe(0)
    expect(hotkey.state()).toEqual({
      accelerator: null,
      saved: 'Alt+Shift+S',
      default: 'Control+Shift+Space',
      error: 'Alt+Shift+S is already used by another application, so the screenshot shortcut is off. Choose another shortcut.',
    })
    expect(await savedFile(dir)).toEqual({ accelerator: 'Alt+Shift+S' })
  })

  it('the default taken at startup is said the same way', async () => {
    const hotkey = await open(await dataDir())
    expect(hotkey.start(registry('Control+Shift+Space'), () => undefined)).toMatch(
      /^Control\+Shift\+Space is already used by another application, .*in Settings, under Screenshot shortcut\.$/,
    )
    expect(hotkey.state().accelerator).toBeNull()
  })

  it('a new shortcut is registered, saved, told to watchers, and used after a restart', async () => {
    const dir = await dataDir()
    const hotkey = await open(dir)
    const r = registry()
    hotkey.start(r, () => undefined)
    const seen: (string | null)[] = []
    hotkey.watch((state) => seen.push(state.accelerator))
    expect(await hotkey.set({ accelerator: 'ctrl+alt+k' })).toEqual({
      accelerator: 'Control+Alt+K',
      saved: 'Control+Alt+K',
      default: 'Control+Shift+Space',
      error: null,
    })
    expect([...r.held.keys()]).toEqual(['Control+Alt+K'])
    expect(seen).toEqual(['Control+Alt+K'])
    expect(await savedFile(dir)).toEqual({ accelerator: 'Control+Alt+K' })

    hotkey.stop()
    expect(r.held.size).toBe(0)
    const again = await open(dir)
    again.start(r, () => undefined)
    expect([...r.held.keys()]).toEqual(['Control+Alt+K'])
  })

  it('a shortcut another application holds is refused; the previous one stays in force and saved', async () => {
    const dir = await dataDir(JSON.stringify({ accelerator: 'Alt+Shift+S' }))
    const hotkey = await open(dir)
    const r = registry('Control+Alt+P')
    hotkey.start(r, () => undefined)
    const seen: unknown[] = []
    hotkey.watch((state) => seen.push(state))
    expect(await hotkey.set({ accelerator: 'Control+Alt+P' })).toEqual({
      accelerator: 'Alt+Shift+S',
      saved: 'Alt+Shift+S',
      default: 'Control+Shift+Space',
      error: 'Control+Alt+P is already used by another application. Choose another shortcut.',
    })
    expect([...r.held.keys()]).toEqual(['Alt+Shift+S'])
    expect(await savedFile(dir)).toEqual({ accelerator: 'Alt+Shift+S' })
    expect(seen).toEqual([])
    expect(hotkey.state().error).toBeNull()
  })

  it('the saved shortcut held at startup stays said until a change works', async () => {
    const hotkey = await open(await dataDir(JSON.stringify({ accelerator: 'Alt+Shift+S' })))
    const r = registry('Alt+Shift+S', 'Control+Alt+P')
    hotkey.start(r, () => undefined)
    expect((await hotkey.set({ accelerator: 'Control+Alt+P' })).error).toMatch(/^Control\+Alt\+P is already used/)
    expect(hotkey.state().error).toMatch(/^Alt\+Shift\+S is already used by another application, so the screenshot shortcut is off/)
    r.taken.delete('Alt+Shift+S')
    // The other application let it go: choosing it again puts it in force.
    expect(await hotkey.set({ accelerator: 'Alt+Shift+S' })).toMatchObject({ accelerator: 'Alt+Shift+S', error: null })
    expect(hotkey.state().error).toBeNull()
  })

  it('an invalid shortcut is refused with the validator’s sentence, registering nothing', async () => {
    const hotkey = await open(await dataDir())
    const r = registry()
    hotkey.start(r, () => undefined)
    expect((await hotkey.set({ accelerator: 'K' })).error).toBe(
      'A global shortcut needs at least one modifier (Control, Alt, Shift or Command), or it would steal a key from every app.',
    )
    expect((await hotkey.set({ accelerator: 'Control+Banana' })).error).toBe('Banana is not a key a shortcut can use.')
    expect([...r.held.keys()]).toEqual(['Control+Shift+Space'])
    // Said in the answer only: nothing is wrong with the shortcut in force.
    expect(hotkey.state().error).toBeNull()
  })

  it('turns off (null or "off"), stays off after a restart, and comes back with "default"', async () => {
    const dir = await dataDir()
    const hotkey = await open(dir)
    const r = registry()
    hotkey.start(r, () => undefined)
    await hotkey.set({ accelerator: 'Alt+Shift+S' })
    expect(await hotkey.set({ accelerator: null })).toEqual({ accelerator: null, saved: null, default: 'Control+Shift+Space', error: null })
    expect(r.held.size).toBe(0)
    expect(await savedFile(dir)).toEqual({ accelerator: null })

    const restarted = await open(dir)
    expect(restarted.start(r, () => undefined)).toBeNull()
    expect(r.held.size).toBe(0)
    expect(restarted.state()).toMatchObject({ accelerator: null, saved: null })

    expect(await restarted.set({ accelerator: 'default' })).toMatchObject({
      accelerator: 'Control+Shift+Space',
      saved: 'Control+Shift+Space',
    })
    // Saved as "the default", not as this platform's spelling of it: the file follows the platform.
    expect(await savedFile(dir)).toEqual({ accelerator: 'default' })
    expect((await restarted.set({ accelerator: 'Off' })).accelerator).toBeNull()
  })

  it('a damaged settings file gives the default and is kept aside; a value of the wrong kind too', async () => {
    for (const file of ['{"accelerator": "Control+Sh', JSON.stringify({ accelerator: 42 }), JSON.stringify({ accelerator: 'Banana' })]) {
      const dir = await dataDir(file)
      const hotkey = await open(dir)
      const r = registry()
      expect(hotkey.start(r, () => undefined)).toBeNull()
      expect([...r.held.keys()]).toEqual(['Control+Shift+Space'])
      expect(await readFile(join(dir, 'hotkey.json.unreadable'), 'utf8')).toBe(file)
    }
  })

  it('a change that cannot be saved puts the previous shortcut back and says why', async () => {
    // The data folder is gone: the file cannot be written.
    const hotkey = await openHotkeySettings({ path: join(await dataDir(), 'missing', 'hotkey.json'), platform: 'linux' })
    const r = registry()
    hotkey.start(r, () => undefined)
    await expect(hotkey.set({ accelerator: 'Alt+Shift+S' })).rejects.toMatchObject({ code: 'storage' })
    expect([...r.held.keys()]).toEqual(['Control+Shift+Space'])
    await expect(hotkey.set({ accelerator: null })).rejects.toMatchObject({ code: 'storage' })
    expect(hotkey.state()).toMatchObject({ accelerator: 'Control+Shift+Space', saved: 'Control+Shift+Space' })
  })

  it('spells one combination one way, so the shortcut in force is not mistaken for another application’s', async () => {
    expect(normalizeAccelerator('shift+ctrl+k', 'linux')).toBe('Control+Shift+K')
    expect(normalizeAccelerator('CmdOrCtrl+Shift+Space', 'darwin')).toBe('Command+Shift+Space')
    expect(normalizeAccelerator('CommandOrControl+Shift+Space', 'win32')).toBe('Control+Shift+Space')
    expect(normalizeAccelerator('Option+Meta+Esc', 'linux')).toBe('Alt+Super+Escape')
    expect(normalizeAccelerator('Ctrl+Banana', 'linux')).toBe('Ctrl+Banana')
    const hotkey = await open(await dataDir())
    const r = registry()
    hotkey.start(r, () => undefined)
    expect(await hotkey.set({ accelerator: 'CommandOrControl+Shift+Space' })).toMatchObject({
      accelerator: 'Control+Shift+Space',
      error: null,
    })
  })
})

describe('screenshot shortcut over IPC', () => {
  const TRUSTED = 'file:///app/out/renderer/index.html'
  const sender: Sender = { id: 1, url: TRUSTED, isMainFrame: true, send: () => undefined }

  async function setup() {
    const hotkey = await open(await dataDir())
    const r = registry('Control+Alt+P')
    hotkey.start(r, () => undefined)
    // Only what the shortcut's channels touch (and the hooks registered as the services start: the
    // text layer's on captures, the engine's on images no conversation holds).
    const deps = {
      hotkey,
      capture: { onCapture: () => undefined },
      chats: { onImagesGone: () => undefined },
      textLayer: null,
      remoteEngines: null,
    } as unknown as ServiceDeps
    return { router: createRouter({ ...createServices(deps), isTrustedSender: (url) => url === TRUSTED }), r }
  }

  it('reads and changes the shortcut; a taken one answers with the state and its sentence', async () => {
    const { router, r } = await setup()
    expect(await router.invoke(sender, 'hotkey:get', undefined)).toEqual({
      ok: true,
      value: { accelerator: 'Control+Shift+Space', saved: 'Control+Shift+Space', default: 'Control+Shift+Space', error: null },
    })
    expect(await router.invoke(sender, 'hotkey:set', { accelerator: '  Alt+Shift+S ' })).toMatchObject({
      ok: true,
      value: { accelerator: 'Alt+Shift+S', error: null },
    })
    expect(await router.invoke(sender, 'hotkey:set', { accelerator: 'Control+Alt+P' })).toMatchObject({
      ok: true,
      value: { accelerator: 'Alt+Shift+S', error: 'Control+Alt+P is already used by another application. Choose another shortcut.' },
    })
    expect(await router.invoke(sender, 'hotkey:set', { accelerator: null })).toMatchObject({ ok: true, value: { accelerator: null } })
    expect(r.held.size).toBe(0)
  })

  it('refuses malformed requests before they reach the setting', async () => {
    const { router, r } = await setup()
    for (const payload of [
      undefined,
      {},
      { accelerator: 42 },
      { accelerator: '' },
      { accelerator: `Control+${'A'.repeat(200)}` },
      { accelerator: 'Alt+K', extra: true },
    ]) {
      const answer = await router.invoke(sender, 'hotkey:set', payload)
      expect(answer, JSON.stringify(payload)).toMatchObject({ ok: false, error: { code: 'invalid-payload' } })
    }
    expect([...r.held.keys()]).toEqual(['Control+Shift+Space'])
  })

  it('says so where there is no shortcut (a tool without one)', async () => {
    const deps = {
      capture: { onCapture: () => undefined },
      chats: { onImagesGone: () => undefined },
      textLayer: null,
      remoteEngines: null,
    } as unknown as ServiceDeps
    const router = createRouter({ ...createServices(deps), isTrustedSender: (url) => url === TRUSTED })
    expect(await router.invoke(sender, 'hotkey:get', undefined)).toMatchObject({ ok: false, error: { code: 'not-found' } })
  })
})
