// What a screen reader hears of an answer as it streams, in the chat window and quick-ask alike:
// "Answering…" once as it starts and its words once it ends, never the answer again on every
// frame it grows by (an answer drawn in a live region was read out whole each time).
import type { StoredMessage } from '@contract'

/** Said once as an answer starts. */
export const ANSWERING = 'Answering…'

/** Resolves once an answer's last words are on screen: it is drawn once a frame (Markdown.svelte), so two frames on. */
export function afterDrawn(): Promise<void> {
  return new Promise((drawn) => requestAnimationFrame(() => requestAnimationFrame(() => drawn())))
}

/**
 * What is said as an answer ends: its words as drawn in `shown` (its data-testid="markdown"), with
 * "Stopped."/"Cut off." before them where so. Null for a failed answer: its reason is its own alert,
 * said as it appears.
 */
export function endAnnouncement(status: StoredMessage['status'], shown: Element | null | undefined): string | null {
  if (status === 'error') return null
  const words = shown ? spokenText(shown) : ''
  const prefix = status === 'stopped' ? 'Stopped. ' : status === 'cut-off' ? 'Cut off. ' : ''
  return `${prefix}${words}`.trim() || 'The answer is empty.'
}

/**
 * The words of a drawn answer as a screen reader would read them in place: its text, a space
 * where a block (a paragraph, a table cell, a list item) ends, and no buttons (a code block's Copy).
 */
function spokenText(root: Element): string {
  const parts: string[] = []
  const walk = (node: Node): void => {
    if (node instanceof HTMLButtonElement) return
    if (node.nodeType === Node.TEXT_NODE) return void parts.push(node.textContent ?? '')
    const block = node instanceof Element && getComputedStyle(node).display !== 'inline'
    if (block) parts.push(' ')
    node.childNodes.forEach(walk)
    if (block) parts.push(' ')
  }
  walk(root)
  return parts.join('').replace(/\s+/g, ' ').trim()
}
