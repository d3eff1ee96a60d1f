// The reading under gguf-check.ts: a GGUF file streamed front to back through a fixed-size
// window, every length checked against what is left of the file before it is used; the two
// faults a header can have (gguf-check.ts words them for the user), and how a name read from
// the file is shown in a message.
import type { FileHandle } from 'node:fs/promises'

/** GGUF_MAX_STRING_LENGTH in gguf.cpp. */
const MAX_STRING_BYTES = 2 ** 30
/** How much of the file is read at a time: a header of a few MB takes a few reads. */
const CHUNK_BYTES = 1 << 20

/** The header runs past the end of the file: cut short, or a length field is damaged. */
export class Truncated extends Error {}
/** A field holds a value no GGUF writer produces and llama.cpp refuses. */
export class Invalid extends Error {}

/** Reads a file front to back through one reused window; every read is bounded by the caller. */
export class HeaderReader {
  private readonly window: Buffer
  private windowStart = 0
  private windowLength = 0
  position = 0

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {
    this.window = Buffer.alloc(Math.min(CHUNK_BYTES, size))
  }

  get remaining(): number {
    return this.size - this.position
  }

  private holds(count: number): boolean {
    return this.position >= this.windowStart && this.position + count <= this.windowStart + this.windowLength
  }

  private async refill(count: number, what: string): Promise<void> {
    if (count > this.remaining) throw new Truncated(`the file ends inside ${what} (at byte ${this.size})`)
    const length = Math.min(this.window.length, this.remaining)
    const { bytesRead } = await this.handle.read(this.window, 0, length, this.position)
    // The file shrank since it was measured: a download still being written over.
    if (bytesRead < count) throw new Truncated(`the file ends inside ${what} (at byte ${this.position + bytesRead})`)
    this.windowStart = this.position
    this.windowLength = bytesRead
  }

  /**
   * The next `count` bytes, read from disk when the window lacks them. Callers ask for at
   * most a key's length (64 KiB, under the window's size) and use the bytes at once: the
   * next read may overwrite them.
   */
  async bytes(count: number, what: string): Promise<Buffer> {
    if (!this.holds(count)) await this.refill(count, what)
    const start = this.position - this.windowStart
    this.position += count
    return this.window.subarray(start, start + count)
  }

  async u32(what: string): Promise<number> {
    return (await this.bytes(4, what)).readUInt32LE(0)
  }

  async u64(what: string): Promise<bigint> {
    return (await this.bytes(8, what)).readBigUInt64LE(0)
  }

  /** Moves past `count` bytes of the file without reading them. */
  skip(count: bigint, what: string): void {
    if (count > BigInt(this.remaining))
      throw new Truncated(`${what} is ${count} bytes long, but only ${this.remaining} bytes of the file are left`)
    this.position += Number(count)
  }

  /** A string read into memory: only keys and tensor names, whose lengths have small caps. */
  async text(maxBytes: number, what: string): Promise<string> {
    const length = await this.u64(`the length of ${what}`)
    if (length > BigInt(maxBytes)) throw new Invalid(`${what} is ${length} bytes long; at most ${maxBytes}`)
    if (length > BigInt(this.remaining))
      throw new Truncated(`${what} is ${length} bytes long, but only ${this.remaining} bytes of the file are left`)
    return (await this.bytes(Number(length), what)).toString('utf8')
  }

  /**
   * Passes over `count` string values, checking each length. A vocabulary holds hundreds of
   * thousands of them, so lengths already in the window are read without awaiting.
   */
  async skipStrings(count: number, describe: (index: number) => string): Promise<void> {
    for (let i = 0; i < count; i++) {
      if (!this.holds(8)) await this.refill(8, `the length of ${describe(i)}`)
      const at = this.position - this.windowStart
      const length = this.window.readUInt32LE(at + 4) === 0 ? this.window.readUInt32LE(at) : this.window.readBigUInt64LE(at)
      this.position += 8
      if (length > MAX_STRING_BYTES)
        throw new Invalid(`${describe(i)} is ${length} bytes long; llama.cpp reads at most ${MAX_STRING_BYTES}`)
      if (length > this.remaining)
        throw new Truncated(`${describe(i)} is ${length} bytes long, but only ${this.remaining} bytes of the file are left`)
      this.position += Number(length)
    }
  }
}

/**
 * A name from the file as a message shows it: a damaged length turns a run of tensor data
 * into a "name", so control characters become ? and the length is capped.
 */
export function shown(name: string): string {
  const printable = name.replace(/[\p{Cc}\p{Cf}]/gu, '?')
  return printable.length > 80 ? `${printable.slice(0, 80)}…` : printable
}
