// Binary search over numbers sorted ascending (columns, ids).

/** How many of `sorted` are below `value`: the index of the first at or after it. */
export function countBelow(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
