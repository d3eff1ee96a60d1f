// Models split into parts (llama.cpp's gguf-split: name-00001-of-00003.gguf, ...), as large
// models are published. The first part is the model; llama.cpp loads the others from it.

const SPLIT = /-(\d{5})-of-(\d{5})\.gguf$/i

/** Every part of the model that `path` is part of, first to last; [path] for a file in one piece. */
export function splitParts(path: string): string[] {
  const match = SPLIT.exec(path)
  if (!match) return [path]
  const part = Number(match[1])
  const parts = Number(match[2])
  if (part === 0 || parts === 0 || part > parts) return [path]
  const stem = path.slice(0, -match[0].length)
  return Array.from({ length: parts }, (_, i) => `${stem}-${String(i + 1).padStart(5, '0')}-of-${match[2]}.gguf`)
}

/** A part after the first: listed and handled through the first, never as a model of its own. */
export function isLaterPart(path: string): boolean {
  const parts = splitParts(path)
  return parts.length > 1 && parts[0] !== path
}
