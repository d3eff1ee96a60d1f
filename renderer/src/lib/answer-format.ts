import type { ChatSettings } from '@contract'

// How a conversation's answers are written, as the chat settings panel edits it: the kinds, the
// schema offered first, and the check of a schema typed as text.

/** How a conversation's answers are written: text, JSON, or JSON matching a schema. */
export type AnswerKind = 'text' | 'json' | 'json_schema'

/** The schema "JSON matching a schema" starts from. */
export const EXAMPLE_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: { answer: { type: 'string' } },
  required: ['answer'],
}

/** The schema typed in the settings panel, or why it cannot be one (main checks its size, the engine its keywords). */
export function parseSchema(text: string): { schema: Record<string, unknown> } | { error: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return { error: `The schema is not valid JSON (${e instanceof Error ? e.message : String(e)}); nothing was saved.` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: 'The schema must be a JSON object, such as {"type": "object"}; nothing was saved.' }
  return { schema: value as Record<string, unknown> }
}

/**
 * The format for `kind`: a schema comes as the text typed (absent: the settings' own schema,
 * else EXAMPLE_SCHEMA). Undefined format: plain text; an error: nothing should be saved.
 */
export function chooseFormat(
  settings: { format?: ChatSettings['format'] },
  kind: AnswerKind,
  schemaText?: string,
): { format: ChatSettings['format'] } | { error: string } {
  if (kind === 'text') return { format: undefined }
  if (kind === 'json') return { format: { type: 'json' } }
  if (schemaText === undefined)
    return { format: { type: 'json_schema', schema: settings.format?.type === 'json_schema' ? settings.format.schema : EXAMPLE_SCHEMA } }
  const parsed = parseSchema(schemaText)
  return 'error' in parsed ? parsed : { format: { type: 'json_schema', schema: parsed.schema } }
}
