// Counts in the words the user reads: "1 tag", "2 tags", "1,204 bad lines".

/** `count` with `noun` (singular), or `plural` (default: noun + "s") for any count but 1. */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? noun : plural}`;
}
