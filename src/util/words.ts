// Words shared by the language server's and the client's texts.

/** `once`, `twice`, `3 times`: how often a tag was picked, in the completion list and Forget Picked Tags. */
export function times(count: number): string {
  return count === 1 ? 'once' : count === 2 ? 'twice' : `${count.toLocaleString('en-US')} times`;
}
