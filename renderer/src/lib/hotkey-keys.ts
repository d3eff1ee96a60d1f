// Settings' shortcut field: a key press turned into the Electron accelerator that main would
// register, spelled as main spells it (normalizeAccelerator), so the field shows what will be in force.
import { validateAccelerator } from '@contract'

/** What of a KeyboardEvent the recorder reads (tests pass plain objects). */
export interface KeyPress {
  key: string
  code: string
  ctrlKey: boolean
  altKey: boolean
  shiftKey: boolean
  metaKey: boolean
}

export type Recorded =
  /** Only modifiers held so far: the field shows them, waiting for the key. */
  | { kind: 'held'; text: string }
  | { kind: 'done'; accelerator: string }
  /** A combination no global shortcut can be, with the validator's sentence. */
  | { kind: 'refused'; error: string }
  /** Esc: recording stops, the shortcut as it was. */
  | { kind: 'cancel' }
  /** Tab and Shift+Tab move focus as anywhere else, so the field is no trap for the keyboard. */
  | { kind: 'pass' }

const MODIFIER_KEYS = new Set(['Control', 'Shift', 'Alt', 'AltGraph', 'Meta', 'OS', 'Super', 'Hyper'])

const NAMED: Record<string, string> = {
  Space: 'Space',
  Tab: 'Tab',
  Backspace: 'Backspace',
  Delete: 'Delete',
  Insert: 'Insert',
  Enter: 'Enter',
  NumpadEnter: 'Enter',
  ArrowUp: 'Up',
  ArrowDown: 'Down',
  ArrowLeft: 'Left',
  ArrowRight: 'Right',
  Home: 'Home',
  End: 'End',
  PageUp: 'PageUp',
  PageDown: 'PageDown',
  Escape: 'Escape',
  PrintScreen: 'PrintScreen',
  Minus: '-',
  Equal: '=',
  BracketLeft: '[',
  BracketRight: ']',
  Backslash: '\\',
  Semicolon: ';',
  Quote: "'",
  Comma: ',',
  Period: '.',
  Slash: '/',
  Backquote: '`',
}

/**
 * The modifiers held, in main's order: Command, Control, Alt, Shift, Super. macOS's primary
 * modifier is Command (⌘), the others' Control: Electron's CommandOrControl, named as main names it.
 */
function modifiers(press: KeyPress, mac: boolean): string[] {
  return [
    ...(mac && press.metaKey ? ['Command'] : []),
    ...(press.ctrlKey ? ['Control'] : []),
    ...(press.altKey ? ['Alt'] : []),
    ...(press.shiftKey ? ['Shift'] : []),
    ...(!mac && press.metaKey ? ['Super'] : []),
  ]
}

/**
 * The key by its place on the keyboard (event.code), not the character it types: with Shift
 * held, 1 types "!", and Electron's accelerators name keys as on a US keyboard.
 */
function keyName(press: KeyPress): string {
  const letter = /^Key([A-Z])$/.exec(press.code)
  if (letter) return letter[1]!
  const digit = /^Digit([0-9])$/.exec(press.code)
  if (digit) return digit[1]!
  if (/^F([1-9]|1[0-9]|2[0-4])$/.test(press.code)) return press.code
  return NAMED[press.code] ?? (press.key.length === 1 ? press.key.toUpperCase() : press.key || press.code)
}

export function recordKey(press: KeyPress, mac: boolean): Recorded {
  const held = modifiers(press, mac)
  if (press.key === 'Escape' && held.length === 0) return { kind: 'cancel' }
  if (press.key === 'Tab' && held.every((m) => m === 'Shift')) return { kind: 'pass' }
  if (MODIFIER_KEYS.has(press.key)) return { kind: 'held', text: held.length ? `${held.join('+')}+…` : '' }
  const accelerator = [...held, keyName(press)].join('+')
  const error = validateAccelerator(accelerator)
  return error ? { kind: 'refused', error } : { kind: 'done', accelerator }
}
