// Words shared by the language server's, the client's and the CLI's texts.

/** `count` with `noun` (singular), or `plural` (default: noun + "s") for any count but 1: "1 tag", "1,204 bad lines". */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? noun : plural}`;
}

/** `once`, `twice`, `3 times`: how often a tag was picked, in the completion list and Forget Picked Tags. */
export function times(count: number): string {
  return count === 1 ? 'once' : count === 2 ? 'twice' : `${count.toLocaleString('en-US')} times`;
}
