// The global screenshot hotkey behind a thin adapter over Electron's globalShortcut, so
// registration, validation and conflicts are plain code with tests.

export interface ShortcutRegistry {
  /** False when another application already holds the shortcut. */
  register(accelerator: string, callback: () => void): boolean
  unregister(accelerator: string): void
}

export function defaultHotkey(platform: NodeJS.Platform): string {
  return platform === 'darwin' ? 'Command+Shift+Space' : 'Control+Shift+Space'
}

const MODIFIERS = new Set([
  'Command',
  'Cmd',
  'Control',
  'Ctrl',
  'CommandOrControl',
  'CmdOrCtrl',
  'Alt',
  'Option',
  'AltGr',
  'Shift',
  'Super',
  'Meta',
])
const KEY =
  /^([A-Z0-9]|F([1-9]|1[0-9]|2[0-4])|Space|Tab|Backspace|Delete|Insert|Return|Enter|Up|Down|Left|Right|Home|End|PageUp|PageDown|Escape|Esc|PrintScreen|Plus|[)!@#$%^&*(:;"'=<,_>.?/~`{\][|\\}-])$/

/** Checks an Electron accelerator: modifiers joined by '+', then exactly one key. */
export function validateAccelerator(accelerator: string): string | null {
  const parts = accelerator.split('+').map((p) => p.trim())
  if (parts.some((p) => p === '')) return 'A shortcut looks like Control+Shift+Space.'
  const key = parts.at(-1)!
  const modifiers = parts.slice(0, -1)
  if (modifiers.length === 0)
    return 'A global shortcut needs at least one modifier (Control, Alt, Shift or Command), or it would steal a key from every app.'
  const unknown = modifiers.find((m) => !MODIFIERS.has(m))
  if (unknown) return `${unknown} is not a modifier; use Control, Alt, Shift, Command or Super.`
  if (new Set(modifiers).size !== modifiers.length) return 'A modifier is repeated.'
  if (!KEY.test(key.length === 1 ? key.toUpperCase() : key)) return `${key} is not a key a shortcut can use.`
  return null
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
