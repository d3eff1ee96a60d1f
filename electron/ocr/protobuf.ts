// The few pieces of protobuf's wire format an ONNX graph rewrite needs (graph.ts): fields read
// as byte ranges of the source, so whatever is not rewritten is copied byte for byte.

/** One field of a message: its number, wire type and where its payload lies. */
export interface Field {
  field: number
  wire: number
  /** Varint value (wire 0). */
  value: number
  /** Byte range of the field's payload (wire 1, 2, 5) in the source buffer. */
  start: number
  end: number
  /** Byte range of the whole field, key included. */
  from: number
}

export function readFields(bytes: Uint8Array, start: number, end: number): Field[] {
  const fields: Field[] = []
  let at = start
  const varint = (): number => {
    let result = 0
    let scale = 1
    for (;;) {
      if (at >= end) throw new Error('truncated varint')
      const byte = bytes[at++]!
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return result
      scale *= 128
    }
  }
  while (at < end) {
    const from = at
    const key = varint()
    const field = Math.floor(key / 8)
    const wire = key % 8
    if (wire === 0) fields.push({ field, wire, value: varint(), start: at, end: at, from })
    else if (wire === 2) {
      const length = varint()
      if (at + length > end) throw new Error('truncated field')
      fields.push({ field, wire, value: 0, start: at, end: at + length, from })
      at += length
    } else if (wire === 1 || wire === 5) {
      const length = wire === 1 ? 8 : 4
      fields.push({ field, wire, value: 0, start: at, end: at + length, from })
      at += length
    } else throw new Error(`unsupported wire type ${wire}`)
  }
  return fields
}

export class Writer {
  private readonly parts: Uint8Array[] = []
  length = 0
  raw(bytes: Uint8Array): void {
    this.parts.push(bytes)
    this.length += bytes.length
  }
  varint(value: number): void {
    const out: number[] = []
    while (value >= 128) {
      out.push((value % 128) | 0x80)
      value = Math.floor(value / 128)
    }
    out.push(value)
    this.raw(Uint8Array.from(out))
  }
  bytes(field: number, payload: Uint8Array): void {
    this.varint(field * 8 + 2)
    this.varint(payload.length)
    this.raw(payload)
  }
  text(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value))
  }
  float(field: number, value: number): void {
    this.varint(field * 8 + 5)
    const payload = new Uint8Array(4)
    new DataView(payload.buffer).setFloat32(0, value, true)
    this.raw(payload)
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length)
    let at = 0
    for (const part of this.parts) {
      out.set(part, at)
      at += part.length
    }
    return out
  }
}
