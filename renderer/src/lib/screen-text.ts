// What quick-ask and the chat window share about the text layer: the notice a text-only model
// gets instead of a refusal, and the copy shortcut.

/** Shown where a model without a projector is given a screenshot or an image: it gets their text instead. */
export const TEXT_ONLY_NOTICE = 'This model cannot see images; it answers from the text on the screen.'

// macOS uses Cmd where the others use Ctrl; Electron's user agent names the platform.
const MAC = typeof navigator !== 'undefined' && /Mac/.test(navigator.userAgent)

/** The copy-text shortcut as the user reads it, and as aria-keyshortcuts names it. */
export const COPY_KEYS = MAC ? '⌘⇧C' : 'Ctrl+Shift+C'
export const COPY_ARIA_KEYS = MAC ? 'Meta+Shift+C' : 'Control+Shift+C'

/** Ctrl+Shift+C (Cmd+Shift+C on macOS): copy all the text on the screenshot. */
export function isCopyShortcut(event: KeyboardEvent): boolean {
  return (MAC ? event.metaKey : event.ctrlKey) && event.shiftKey && !event.altKey && event.key.toLowerCase() === 'c'
}
