// Placeholder until the language-server issue lands.
export {};
