// A download's checksums, computed as its bytes land: the SHA-256, and the git blob SHA-1 of a
// file the hub keeps in git, and whether a finished file matches the one published.
import { createHash, type Hash } from 'node:crypto'

/** The checksum a finished file failed: which, what was published, and what its bytes give. */
export interface Mismatch {
  name: string
  expected: string
  actual: string
}

/** The hashes of the partial file, fed as its bytes land, so a finished file needs no second read. */
export class Digest {
  readonly sha256 = createHash('sha256')
  readonly gitBlob: Hash | null
  bytes = 0

  constructor(gitBlobSize: number | null) {
    // Git's blob id is the SHA-1 of a header naming the size, then the content.
    this.gitBlob = gitBlobSize === null ? null : createHash('sha1').update(`blob ${gitBlobSize}\0`)
  }

  update(chunk: Uint8Array): void {
    this.sha256.update(chunk)
    this.gitBlob?.update(chunk)
    this.bytes += chunk.byteLength
  }

  /**
   * The bytes' SHA-256, and how they fail the published checksum (the SHA-256, else the git
   * blob SHA-1), or null when they pass or none was published. Ends the hashes.
   */
  verdict(expected: { sha256?: string; gitBlobSha1?: string }): { sha256: string; mismatch: Mismatch | null } {
    const sha256 = this.sha256.digest('hex')
    const check = expected.sha256
      ? { name: 'SHA-256', expected: expected.sha256, actual: sha256 }
      : expected.gitBlobSha1
        ? { name: 'git blob SHA-1', expected: expected.gitBlobSha1, actual: this.gitBlob!.digest('hex') }
        : null
    return { sha256, mismatch: check && check.actual !== check.expected.toLowerCase() ? check : null }
  }
}
