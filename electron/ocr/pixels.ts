// Pixel-grid helpers of the background analysis (regions.ts): a box-filter downsample, and the
// union-find that joins neighbouring pixels of one background into one region.
import type { RawImage } from './paddle.js'

/** Box-filter downsample by an integer factor, RGB out. */
export function downsample(image: RawImage, factor: number): RawImage {
  const width = Math.max(1, Math.floor(image.width / factor))
  const height = Math.max(1, Math.floor(image.height / factor))
  const data = new Uint8Array(width * height * 3)
  const area = factor * factor
  const { channels } = image
  const sums = new Uint32Array(width * 3)
  for (let y = 0; y < height; y++) {
    sums.fill(0)
    for (let dy = 0; dy < factor; dy++) {
      let source = (y * factor + dy) * image.width * channels
      for (let x = 0; x < width; x++) {
        for (let dx = 0; dx < factor; dx++, source += channels) {
          sums[x * 3]! += image.data[source]!
          sums[x * 3 + 1]! += image.data[source + 1]!
          sums[x * 3 + 2]! += image.data[source + 2]!
        }
      }
    }
    const row = y * width * 3
    for (let i = 0; i < width * 3; i++) data[row + i] = Math.round(sums[i]! / area)
  }
  return { data, width, height, channels: 3 }
}

export function find(parent: Int32Array, index: number): number {
  let root = index
  while (parent[root]! !== root) root = parent[root]!
  while (parent[index] !== root) {
    const next = parent[index]!
    parent[index] = root
    index = next
  }
  return root
}

export function union(parent: Int32Array, a: number, b: number): void {
  const rootA = find(parent, a)
  const rootB = find(parent, b)
  if (rootA !== rootB) parent[Math.max(rootA, rootB)] = Math.min(rootA, rootB)
}
