// The global screenshot shortcut the user chose, kept in the user's data folder as the other
// settings are, and registered through HotkeyManager. Plain Node: main hands it Electron's
// globalShortcut once the app is ready, the tests a fake registry.
import writeFileAtomic from 'write-file-atomic'
import { MAX_ACCELERATOR_CHARS, type HotkeyChoice, type HotkeyState } from './contract.js'
import { AppError } from '../ipc/errors.js'
import { isRecord, readSettingsFile, type SettingsRead } from '../storage/settings-file.js'
import { HotkeyManager, defaultHotkey, normalizeAccelerator, validateAccelerator, type ShortcutRegistry } from './hotkey.js'

/**
 * What the file holds: 'default' follows the platform's default (a settings file moved to a Mac
 * gets Command+Shift+Space), null is off, anything else is the accelerator chosen.
 */
type Saved = 'default' | null | string

/** A file that is not JSON, or holds no usable shortcut, gives the default (and is kept aside by readSettingsFile). */
function takeSaved(json: unknown, platform: NodeJS.Platform): SettingsRead<Saved> {
  if (!isRecord(json)) return { value: 'default', whole: false }
  if (!('accelerator' in json)) return { value: 'default', whole: true }
  const value = json.accelerator
  if (value === null || value === 'default') return { value, whole: true }
  if (typeof value === 'string' && value.length <= MAX_ACCELERATOR_CHARS && !validateAccelerator(value))
    return { value: normalizeAccelerator(value, platform), whole: true }
  return { value: 'default', whole: false }
}

export interface HotkeySettings {
  state(): HotkeyState
  /**
   * Registers the saved shortcut (main calls it when the app is ready: globalShortcut works only
   * then). Returns the sentence to tell the user when it could not be registered, else null.
   */
  start(registry: ShortcutRegistry, onPressed: () => void): string | null
  /**
   * Registers and saves a new choice; on any problem the previous one stays in force and saved,
   * and the answer's error says why (state() keeps only why the saved one is not in force).
   */
  set(choice: HotkeyChoice): Promise<HotkeyState>
  /** Told of every change of the shortcut in force (the tray's label names it). */
  watch(listener: (state: HotkeyState) => void): () => void
  /** Unregisters the shortcut (the app is quitting). */
  stop(): void
}

export async function openHotkeySettings(options: { path: string; platform: NodeJS.Platform }): Promise<HotkeySettings> {
  const fallback = defaultHotkey(options.platform)
  const read = await readSettingsFile(options.path, (json) => takeSaved(json, options.platform))
  // Not `??`: null is a choice (off), not a missing file.
  let saved: Saved = read ? read.value : 'default'
  let manager: HotkeyManager | null = null
  let error: string | null = null
  const listeners = new Set<(state: HotkeyState) => void>()

  const wanted = (value: Saved): string | null => (value === 'default' ? fallback : value)
  const state = (): HotkeyState => ({ accelerator: manager?.accelerator ?? null, saved: wanted(saved), default: fallback, error })
  const changed = (): void => {
    const now = state()
    for (const listener of listeners) listener(now)
  }

  async function save(value: Saved): Promise<void> {
    try {
      await writeFileAtomic(options.path, JSON.stringify({ accelerator: value }, null, 1), { fsync: true })
    } catch (e) {
      throw new AppError('storage', `The shortcut could not be saved (${(e as Error).message}); nothing was changed.`, { cause: e })
    }
  }

  /** What the request asks for, or the sentence that says why it cannot be. */
  function parse(choice: HotkeyChoice): { value: Saved } | { invalid: string } {
    const text = choice.accelerator
    if (text === null || text.toLowerCase() === 'off') return { value: null }
    if (text.toLowerCase() === 'default') return { value: 'default' }
    const invalid = validateAccelerator(text)
    return invalid ? { invalid } : { value: normalizeAccelerator(text, options.platform) }
  }

  return {
    state,
    start(registry, onPressed) {
      manager?.clear()
      manager = new HotkeyManager(registry, onPressed)
      const accelerator = wanted(saved)
      // The user's choice stays saved even when it cannot be had now: the other application may
      // be gone next time, and the default in its place would be a choice they never made.
      if (accelerator && !manager.set(accelerator).ok) {
        const taken = `${accelerator} is already used by another application, so the screenshot shortcut is off.`
        // Settings shows its own copy; the startup message says where to go.
        error = `${taken} Choose another shortcut.`
        changed()
        return `${taken} Choose another one in Settings, under Screenshot shortcut.`
      }
      error = null
      changed()
      return null
    },
    async set(choice) {
      // A refused change is said in its answer only: what stays standing is why the saved one is not in force.
      const parsed = parse(choice)
      if ('invalid' in parsed) return { ...state(), error: parsed.invalid }
      const next = wanted(parsed.value)
      const previous = manager?.accelerator ?? null
      if (manager) {
        if (next === null) manager.clear()
        else {
          const result = manager.set(next)
          if (!result.ok) return { ...state(), error: result.error }
        }
      }
      try {
        await save(parsed.value)
      } catch (e) {
        // What is in force matches what is saved, or the next start would surprise the user.
        if (manager) {
          if (previous) manager.set(previous)
          else manager.clear()
        }
        throw e
      }
      saved = parsed.value
      error = null
      changed()
      return state()
    },
    watch(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    stop() {
      manager?.clear()
    },
  }
}
