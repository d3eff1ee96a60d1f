// What an API key may hold, in a module of its own without zod: main's schema and http.ts check
// keys with it, and the engine form says the same before sending one (the IPC index re-exports it).

/**
 * Visible ASCII, as every provider's keys are. A key pasted with a line break inside failed every
 * request, with the key in the message (http.ts checks it again for keys saved before this rule).
 */
export const KEY_CHARACTERS = /^[\x21-\x7e]*$/

/** What the form beside the field and main's schema both say of such a key. */
export const BAD_KEY_CHARACTERS = 'The API key holds a space, a line break or an invisible character: paste it again.'

/** Why a typed key cannot be saved (trimmed first, as main trims it), or null. */
export function apiKeyProblem(key: string): string | null {
  return KEY_CHARACTERS.test(key.trim()) ? null : BAD_KEY_CHARACTERS
}
