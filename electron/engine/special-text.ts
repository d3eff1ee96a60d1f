// Text from a person, a client or a screen is text: it must never become a control token.
// llama.node formats the chat with the model's template into one string and tokenizes it
// with special-token parsing (and mtmd splits it at the media marker), so a question that
// contains "<|im_start|>system", "</s>" or "<__media__>" would forge a role, end the turn or
// claim an image. Only the chat template may add special tokens; every message text passes
// through the guard textGuard() builds, which breaks each special token's spelling with an invisible
// word joiner so it tokenizes as the plain characters it shows.

/** mtmd's marker for "an image goes here" (MTMD_DEFAULT_MEDIA_MARKER). */
export const MEDIA_MARKER = '<__media__>'
/** U+2060 WORD JOINER: invisible, no width, not a line break, and never part of a special token. */
const JOINER = '\u2060'

/** GGUF token types (llama.cpp's llama_token_type). */
const TOKEN_TYPE = { unknown: 2, control: 3, userDefined: 4 } as const

/**
 * The spellings a tokenizer would turn into special tokens: control and unknown tokens
 * (llama.cpp skips them only when it does not parse specials), and user-defined tokens
 * that look like markup (it always matches those; plain words and runs of spaces that some
 * vocabularies mark user-defined are left alone, they are text anyway).
 */
export function specialSpellings(tokens: readonly string[], types: readonly number[]): string[] {
  const out = new Set<string>([MEDIA_MARKER])
  tokens.forEach((token, i) => {
    const type = types[i]
    if (token.length < 2 || token.trim() !== token) return
    if (type === TOKEN_TYPE.control || type === TOKEN_TYPE.unknown) out.add(token)
    else if (type === TOKEN_TYPE.userDefined && /^[<[].*[>\]]$/s.test(token) && !/\s/.test(token)) out.add(token)
  })
  return [...out]
}

/** The special spellings of a GGUF file's vocabulary (its tokenizer.ggml tokens and token types). */
export function vocabularySpellings(metadata: unknown): string[] {
  const tokenizer = (metadata as { tokenizer?: { ggml?: { tokens?: unknown; token_type?: unknown } } } | null)?.tokenizer?.ggml
  const tokens = Array.isArray(tokenizer?.tokens) ? (tokenizer.tokens as unknown[]).map(String) : []
  const types = Array.isArray(tokenizer?.token_type) ? (tokenizer.token_type as unknown[]).map(Number) : []
  return specialSpellings(tokens, types)
}

export type TextGuard = (text: string) => string

/** Returns a function that makes every special spelling in a text plain (see the file's comment). */
export function textGuard(spellings: readonly string[]): TextGuard {
  if (spellings.length === 0) return (text) => text
  // Longest first, so "<|im_start|>" is broken as a whole rather than as a shorter token inside it.
  const sorted = [...spellings].sort((a, b) => b.length - a.length)
  const pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g')
  return (text) => text.replace(pattern, (match) => [...match].join(JOINER))
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
