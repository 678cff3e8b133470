// Placeholder: the converter's worker-thread entry point.
export {};
