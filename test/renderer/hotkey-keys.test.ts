// Settings' shortcut recorder: key presses as the browser reports them, turned into the
// accelerator main registers, on macOS and elsewhere.
import { describe, expect, it } from 'vitest'
import { recordKey, type KeyPress } from '../../renderer/src/lib/hotkey-keys.js'
import { normalizeAccelerator } from '../../electron/capture/hotkey.js'

const press = (key: string, code: string, mods: Partial<Omit<KeyPress, 'key' | 'code'>> = {}): KeyPress => ({
  key,
  code,
  ctrlKey: false,
  altKey: false,
  shiftKey: false,
  metaKey: false,
  ...mods,
})

describe('shortcut recorder', () => {
  it('records modifiers and the key by its place, as main spells it', () => {
    expect(recordKey(press('k', 'KeyK', { ctrlKey: true, altKey: true }), false)).toEqual({ kind: 'done', accelerator: 'Control+Alt+K' })
    // Shift+1 types "!", but the key is 1.
    expect(recordKey(press('!', 'Digit1', { ctrlKey: true, shiftKey: true }), false)).toEqual({
      kind: 'done',
      accelerator: 'Control+Shift+1',
    })
    expect(recordKey(press(' ', 'Space', { ctrlKey: true, shiftKey: true }), false)).toEqual({
      kind: 'done',
      accelerator: 'Control+Shift+Space',
    })
    expect(recordKey(press('ArrowUp', 'ArrowUp', { altKey: true }), false)).toEqual({ kind: 'done', accelerator: 'Alt+Up' })
    expect(recordKey(press('F9', 'F9', { shiftKey: true }), false)).toEqual({ kind: 'done', accelerator: 'Shift+F9' })
    expect(recordKey(press('/', 'Slash', { ctrlKey: true }), false)).toEqual({ kind: 'done', accelerator: 'Control+/' })
    for (const mac of [false, true]) {
      const recorded = recordKey(press('s', 'KeyS', { metaKey: true, ctrlKey: true, altKey: true, shiftKey: true }), mac)
      if (recorded.kind !== 'done') throw new Error(recorded.kind)
      expect(normalizeAccelerator(recorded.accelerator, mac ? 'darwin' : 'linux')).toBe(recorded.accelerator)
    }
  })

  it('names the primary modifier as the platform does: Command on macOS, Control elsewhere', () => {
    expect(recordKey(press(' ', 'Space', { metaKey: true, shiftKey: true }), true)).toEqual({
      kind: 'done',
      accelerator: 'Command+Shift+Space',
    })
    expect(recordKey(press(' ', 'Space', { ctrlKey: true, shiftKey: true }), true)).toEqual({
      kind: 'done',
      accelerator: 'Control+Shift+Space',
    })
    // The Windows key elsewhere is Electron's Super.
    expect(recordKey(press('p', 'KeyP', { metaKey: true, altKey: true }), false)).toEqual({ kind: 'done', accelerator: 'Alt+Super+P' })
  })

  it('shows modifiers held before the key', () => {
    expect(recordKey(press('Control', 'ControlLeft', { ctrlKey: true }), false)).toEqual({ kind: 'held', text: 'Control+…' })
    expect(recordKey(press('Shift', 'ShiftLeft', { ctrlKey: true, shiftKey: true }), false)).toEqual({
      kind: 'held',
      text: 'Control+Shift+…',
    })
  })

  it('refuses a plain key with the validator’s sentence; Esc cancels; Tab moves on', () => {
    expect(recordKey(press('a', 'KeyA'), false)).toEqual({
      kind: 'refused',
      error: 'A global shortcut needs at least one modifier (Control, Alt, Shift or Command), or it would steal a key from every app.',
    })
    expect(recordKey(press('A', 'KeyA', { shiftKey: true }), false)).toEqual({
      kind: 'refused',
      error: 'Shift+A would take that key from typing in every app; add Control, Alt or Command.',
    })
    expect(recordKey(press('Escape', 'Escape'), false)).toEqual({ kind: 'cancel' })
    expect(recordKey(press('Tab', 'Tab'), false)).toEqual({ kind: 'pass' })
    expect(recordKey(press('Tab', 'Tab', { shiftKey: true }), false)).toEqual({ kind: 'pass' })
    // With a modifier, Esc is a shortcut like any other.
    expect(recordKey(press('Escape', 'Escape', { ctrlKey: true, altKey: true }), false)).toEqual({
      kind: 'done',
      accelerator: 'Control+Alt+Escape',
    })
  })
})
