import { describe, expect, it } from 'vitest'
import { HotkeyManager, defaultHotkey, validateAccelerator, type ShortcutRegistry } from '../../electron/capture/hotkey.js'

/** Behaves like globalShortcut: a shortcut another app holds cannot be registered. */
function registry(takenByOthers: string[] = []) {
  const held = new Map<string, () => void>()
  const r: ShortcutRegistry & { held: Map<string, () => void> } = {
    held,
    register(accelerator, callback) {
      if (takenByOthers.includes(accelerator) || held.has(accelerator)) return false
      held.set(accelerator, callback)
      return true
    },
    unregister(accelerator) {
      held.delete(accelerator)
    },
  }
  return r
}

describe('global hotkey', () => {
  it('defaults to Ctrl+Shift+Space, Cmd+Shift+Space on macOS', () => {
    expect(defaultHotkey('linux')).toBe('Control+Shift+Space')
    expect(defaultHotkey('win32')).toBe('Control+Shift+Space')
    expect(defaultHotkey('darwin')).toBe('Command+Shift+Space')
  })

  it('registers, fires, and switches to a new shortcut', () => {
    const r = registry()
    let pressed = 0
    const hotkey = new HotkeyManager(r, () => pressed++)
    expect(hotkey.set('Control+Shift+Space')).toEqual({ ok: true, accelerator: 'Control+Shift+Space', error: null })
    r.held.get('Control+Shift+Space')!()
    expect(pressed).toBe(1)
    expect(hotkey.set('Alt+Shift+S').ok).toBe(true)
    expect([...r.held.keys()]).toEqual(['Alt+Shift+S'])
  })

  it('reports a conflict and keeps the previous shortcut', () => {
    const r = registry(['Control+Alt+P'])
    const hotkey = new HotkeyManager(r, () => undefined)
    hotkey.set('Control+Shift+Space')
    expect(hotkey.set('Control+Alt+P')).toEqual({
      ok: false,
      accelerator: 'Control+Shift+Space',
      error: 'Control+Alt+P is already used by another application. Choose another shortcut.',
    })
    expect([...r.held.keys()]).toEqual(['Control+Shift+Space'])
    expect(hotkey.accelerator).toBe('Control+Shift+Space')
  })

  it('refuses malformed shortcuts with a reason, registering nothing', () => {
    const r = registry()
    const hotkey = new HotkeyManager(r, () => undefined)
    expect(hotkey.set('Space').error).toMatch(/needs at least one modifier/)
    expect(hotkey.set('Ctrl+Banana+Space').error).toBe('Banana is not a modifier; use Control, Alt, Shift, Command or Super.')
    expect(hotkey.set('Ctrl++').error).toBe('A shortcut looks like Control+Shift+Space.')
    expect(hotkey.set('Ctrl+Shift+NotAKey').error).toBe('NotAKey is not a key a shortcut can use.')
    expect(hotkey.set('Shift+A').error).toBe('Shift+A would take that key from typing in every app; add Control, Alt or Command.')
    expect(hotkey.set('Shift+Space').error).toMatch(/^Shift\+Space would take that key/)
    expect(r.held.size).toBe(0)
  })

  it('accepts the usual forms', () => {
    for (const a of [
      'CommandOrControl+Shift+Space',
      'Alt+F12',
      'Super+PrintScreen',
      'Ctrl+Shift+a',
      'Control+Alt+Plus',
      'shift+ctrl+space',
      'Shift+F9',
    ])
      expect(validateAccelerator(a), a).toBeNull()
  })
})
