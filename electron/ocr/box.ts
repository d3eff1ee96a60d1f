// A box's edges, and the boxes that hold others: shared by the layout's parts.
import type { OcrBox } from './types.js'

export const right = (box: OcrBox): number => box.x + box.width
export const bottom = (box: OcrBox): number => box.y + box.height

export function union(boxes: OcrBox[]): OcrBox {
  const x = Math.min(...boxes.map((box) => box.x))
  const y = Math.min(...boxes.map((box) => box.y))
  return {
    x,
    y,
    width: Math.max(...boxes.map(right)) - x,
    height: Math.max(...boxes.map(bottom)) - y,
  }
}

export function verticalOverlap(a: OcrBox, b: OcrBox): number {
  return Math.max(0, Math.min(bottom(a), bottom(b)) - Math.max(a.y, b.y))
}
