// The global screenshot hotkey behind a thin adapter over Electron's globalShortcut, so
// registration, validation and conflicts are plain code with tests. No Node types or runtime
// imports: the renderer checks a recorded shortcut with validateAccelerator, through the contract.

export interface ShortcutRegistry {
  /** False when another application already holds the shortcut. */
  register(accelerator: string, callback: () => void): boolean
  unregister(accelerator: string): void
}

export function defaultHotkey(platform: string): string {
  return platform === 'darwin' ? 'Command+Shift+Space' : 'Control+Shift+Space'
}

// Electron reads accelerators without regard to case; each name maps to the spelling shown.
const MODIFIERS = new Map(
  ['Command', 'Cmd', 'Control', 'Ctrl', 'CommandOrControl', 'CmdOrCtrl', 'Alt', 'Option', 'AltGr', 'Shift', 'Super', 'Meta'].map((m) => [
    m.toLowerCase(),
    m,
  ]),
)
const NAMED_KEYS = new Map(
  [
    ...Array.from({ length: 24 }, (_, i) => `F${i + 1}`),
    ...['Space', 'Tab', 'Backspace', 'Delete', 'Insert', 'Return', 'Enter', 'Up', 'Down', 'Left', 'Right', 'Home', 'End'],
    ...['PageUp', 'PageDown', 'Escape', 'Esc', 'PrintScreen', 'Plus'],
  ].map((k) => [k.toLowerCase(), k]),
)
const SYMBOL = /^([A-Z0-9]|[)!@#$%^&*(:;"'=<,_>.?/~`{\][|\\}-])$/

/** Checks an Electron accelerator: modifiers joined by '+', then exactly one key. */
export function validateAccelerator(accelerator: string): string | null {
  const parts = accelerator.split('+').map((p) => p.trim())
  if (parts.some((p) => p === '')) return 'A shortcut looks like Control+Shift+Space.'
  const key = parts.at(-1)!
  const modifiers = parts.slice(0, -1)
  if (modifiers.length === 0)
    return 'A global shortcut needs at least one modifier (Control, Alt, Shift or Command), or it would steal a key from every app.'
  const unknown = modifiers.find((m) => !MODIFIERS.has(m.toLowerCase()))
  if (unknown) return `${unknown} is not a modifier; use Control, Alt, Shift, Command or Super.`
  if (new Set(modifiers.map((m) => m.toLowerCase())).size !== modifiers.length) return 'A modifier is repeated.'
  if (!NAMED_KEYS.has(key.toLowerCase()) && !SYMBOL.test(key.toUpperCase())) return `${key} is not a key a shortcut can use.`
  // Shift alone changes what a key types: Shift+A held globally, no app could be given a capital A.
  if (modifiers.every((m) => m.toLowerCase() === 'shift') && !/^F([1-9]|1[0-9]|2[0-4])$/i.test(key))
    return `Shift+${key} would take that key from typing in every app; add Control, Alt or Command.`
  return null
}

// Electron's aliases, named one way, so one key combination has one spelling: the manager
// compares spellings, and a shortcut it holds under another name would look taken by someone else.
const CANONICAL: Record<string, string> = {
  Cmd: 'Command',
  Ctrl: 'Control',
  Option: 'Alt',
  Meta: 'Super',
}
const ORDER = ['Command', 'Control', 'Alt', 'AltGr', 'Shift', 'Super']

/**
 * A valid accelerator in one spelling: aliases named as the platform names them (CommandOrControl
 * is Command on macOS and Control elsewhere; Super is Command on macOS), modifiers in a fixed
 * order, names in their usual case. An invalid one comes back as it was, for validateAccelerator to explain.
 */
export function normalizeAccelerator(accelerator: string, platform: string): string {
  if (validateAccelerator(accelerator)) return accelerator
  const mac = platform === 'darwin'
  const parts = accelerator.split('+').map((p) => p.trim())
  const key = parts.at(-1)!
  const modifiers = new Set(
    parts.slice(0, -1).map((m) => {
      const spelled = MODIFIERS.get(m.toLowerCase())!
      if (spelled === 'CommandOrControl' || spelled === 'CmdOrCtrl') return mac ? 'Command' : 'Control'
      const name = CANONICAL[spelled] ?? spelled
      return mac && name === 'Super' ? 'Command' : name
    }),
  )
  const named = NAMED_KEYS.get(key.toLowerCase()) ?? key.toUpperCase()
  const aliased = named === 'Esc' ? 'Escape' : named === 'Return' ? 'Enter' : named
  return [...ORDER.filter((m) => modifiers.has(m)), aliased].join('+')
}

export interface HotkeyResult {
  ok: boolean
  accelerator: string | null
  error: string | null
}

export class HotkeyManager {
  private current: string | null = null

  constructor(
    private readonly registry: ShortcutRegistry,
    private readonly onPressed: () => void,
  ) {}

  get accelerator(): string | null {
    return this.current
  }

  /** Switches to a new shortcut; on any problem the previous one stays in force. */
  set(accelerator: string): HotkeyResult {
    const invalid = validateAccelerator(accelerator)
    if (invalid) return { ok: false, accelerator: this.current, error: invalid }
    if (accelerator === this.current) return { ok: true, accelerator, error: null }
    if (!this.registry.register(accelerator, this.onPressed)) {
      return {
        ok: false,
        accelerator: this.current,
        error: `${accelerator} is already used by another application. Choose another shortcut.`,
      }
    }
    if (this.current) this.registry.unregister(this.current)
    this.current = accelerator
    return { ok: true, accelerator, error: null }
  }

  clear(): void {
    if (this.current) this.registry.unregister(this.current)
    this.current = null
  }
}
