// Tool calls, whichever binding runs the model. With tool_choice auto the model's own chat
// template documents the tools and the binding parses its calls (node-llama-cpp's chat
// wrapper, llama.node's jinja formatting); a model may then answer in text instead. With
// required or a named tool the answer must be a call even from a weak model, so the tools
// are listed in a system note and a grammar allows only {"name": ..., "arguments": {...}}
// for the allowed tools, whose arguments match each tool's parameters schema.
import { randomBytes } from 'node:crypto'
import type { AnswerFormat, ToolCall, ToolChoice, ToolDefinition } from '../ipc/contract.js'
import type { CheckedRequest } from './request-checks.js'
import { AppError } from '../ipc/errors.js'
import { checkJsonSchema, type JsonSchema } from './json-schema.js'
import type { TextGuard } from './special-text.js'
import type { BackendMessage } from './types.js'

/** off: no tools offered; auto: the template offers them; forced: the answer is one call, by grammar. */
export type ToolMode = { kind: 'off' } | { kind: 'auto'; tools: ToolDefinition[] } | { kind: 'forced'; tools: ToolDefinition[] }

export function toolMode(tools: ToolDefinition[] | undefined, choice: ToolChoice | undefined): ToolMode {
  if (!tools?.length || choice === 'none') return { kind: 'off' }
  if (choice === undefined || choice === 'auto') return { kind: 'auto', tools }
  return { kind: 'forced', tools: choice === 'required' ? tools : tools.filter((t) => t.name === choice.name) }
}

/** What the engine refuses up front: unknown names, schemas the grammar cannot enforce, results that answer no call. */
export function checkTools(request: CheckedRequest): void {
  const tools = request.tools ?? []
  const names = new Set<string>()
  for (const tool of tools) {
    if (names.has(tool.name)) throw new AppError('invalid-payload', `Two tools are named "${tool.name}".`, { field: 'tools' })
    names.add(tool.name)
    if (tool.parameters.type !== 'object')
      throw new AppError('invalid-payload', `The parameters of tool "${tool.name}" must be a JSON schema with "type": "object".`, {
        field: 'tools',
      })
    try {
      checkJsonSchema(tool.parameters)
    } catch (error) {
      if (error instanceof AppError) throw new AppError('invalid-payload', `Tool "${tool.name}": ${error.message}`, { field: 'tools' })
      throw error
    }
  }
  const choice = request.toolChoice
  if (choice && choice !== 'none' && choice !== 'auto') {
    if (!tools.length) throw new AppError('invalid-payload', 'A tool choice needs tools to choose from.', { field: 'tool_choice' })
    if (typeof choice === 'object' && !names.has(choice.name))
      throw new AppError('invalid-payload', `The tool choice names "${choice.name}", which is not among the tools.`, {
        field: 'tool_choice',
      })
  }
  if (tools.length && choice !== 'none' && request.messages.at(-1)?.role === 'assistant')
    throw new AppError(
      'invalid-payload',
      'An answer to continue cannot also call tools; end the conversation with the user or a tool result.',
      { field: 'messages' },
    )
  // Checked here, not when the answer's turn comes: a forced call puts every tool it may name in one schema.
  if (choice === 'required') gatheredDefs(tools)
  if (request.format && tools.length && choice !== 'none')
    throw new AppError('invalid-payload', 'An answer cannot be both a JSON format and a tool call; send one of them.', {
      field: 'response_format',
    })
  const calls = new Set<string>()
  for (const [i, m] of request.messages.entries()) {
    for (const call of m.toolCalls ?? []) calls.add(call.id)
    if (m.role === 'tool' && !calls.has(m.toolCallId!))
      throw new AppError('invalid-payload', `A tool message answers the call "${m.toolCallId}", which no earlier assistant message made.`, {
        field: `messages.${i}.tool_call_id`,
      })
  }
}

/** The instructions for a forced call: the model's template knows nothing of this format, so it is spelled out. */
export function forcedCallNote(tools: ToolDefinition[]): string {
  const list = tools
    .map((t) => `- ${t.name}${t.description ? `: ${t.description}` : ''}\n  arguments: ${JSON.stringify(t.parameters)}`)
    .join('\n')
  return `You have these tools:\n${list}\nAnswer with a call to one of them, as a JSON object {"name": <tool name>, "arguments": {...}}.`
}

/** The messages with the forced-call note added to the system message (or as one, first): templates want one system turn, at the start. */
export function withToolNote(messages: BackendMessage[], tools: ToolDefinition[]): BackendMessage[] {
  const note = forcedCallNote(tools)
  const [first, ...rest] = messages
  if (first?.role === 'system') return [{ ...first, text: `${first.text}\n\n${note}` }, ...rest]
  return [{ role: 'system', text: note, images: [] }, ...messages]
}

/** The grammar's schema for a forced call: one object naming an allowed tool, with arguments for that tool. */
export function forcedCallSchema(tools: ToolDefinition[]): JsonSchema {
  const call = (t: ToolDefinition): JsonSchema => ({
    type: 'object',
    properties: { name: { const: t.name }, arguments: stripDefs(t.parameters) },
    required: ['name', 'arguments'],
    additionalProperties: false,
  })
  const defs = gatheredDefs(tools)
  const body = tools.length === 1 ? call(tools[0]!) : { oneOf: tools.map(call) }
  return defs.size ? { ...body, $defs: Object.fromEntries([...defs].map(([name, { def }]) => [name, def])) } : body
}

/**
 * The $defs of the tools a forced call may name, gathered for the top of its one schema ($defs
 * may sit only there), each with the tool that defined it first. A Map: names are the client's,
 * and "constructor" or "__proto__" are names like any other here.
 */
function gatheredDefs(tools: readonly ToolDefinition[]): Map<string, { def: unknown; tool: string }> {
  const defs = new Map<string, { def: unknown; tool: string }>()
  for (const t of tools) {
    for (const [name, def] of Object.entries((t.parameters.$defs as JsonSchema | undefined) ?? {})) {
      const first = defs.get(name)
      if (first && JSON.stringify(first.def) !== JSON.stringify(def))
        throw new AppError(
          'invalid-payload',
          `Tools "${first.tool}" and "${t.name}" define "$defs/${name}" differently; a call to either is one grammar with one $defs, so rename one.`,
          { field: 'tools' },
        )
      if (!first) defs.set(name, { def, tool: t.name })
    }
  }
  return defs
}

/**
 * The stop sequences an answer is sampled with: none under a grammar (a JSON format, or a forced
 * call's). Stop sequences end text; the grammar ends the JSON itself, and JSON cut at a stop
 * sequence is no JSON (json_object with stop [":"] ended at its first key) and a cut call no call.
 */
export function stopsFor(stop: string[] | undefined, format: AnswerFormat | null | undefined): string[] | undefined {
  return format ? undefined : stop
}

/** The call in a forced answer, or null when the answer was cut before it was whole. */
export function parseForcedCall(text: string): ToolCall | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  const call = value as { name?: unknown; arguments?: unknown }
  if (typeof call.name !== 'string' || typeof call.arguments !== 'object' || call.arguments === null) return null
  return { id: newCallId(), name: call.name, arguments: JSON.stringify(call.arguments) }
}

/** OpenAI's call ids look like call_ and 24 characters; clients only echo them back. */
export function newCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`
}

/**
 * A tool's schema as the template will print it: every string in it, names included, through
 * the guard, since a property's name or description is client text like any other.
 */
export function guardStrings(value: unknown, guard: TextGuard): unknown {
  if (typeof value === 'string') return guard(value)
  if (Array.isArray(value)) return value.map((v) => guardStrings(v, guard))
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [guard(k), guardStrings(v, guard)]))
}

/** A call's arguments as an object for the bindings that want one; text that is not a JSON object stays text. */
export function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

function stripDefs(schema: JsonSchema): JsonSchema {
  const { $defs: _defs, ...rest } = schema
  return rest
}
