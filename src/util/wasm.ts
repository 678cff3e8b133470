// Instantiates the project's WebAssembly modules (the converter's and the sampler's), which are
// embedded as base64 (*-wasm.ts) so that the bundles need no .wasm file beside them. Each module
// is compiled once per thread.

// The WebAssembly global of Node, typed as far as used here (this project compiles without the DOM lib).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

const compiled = new Map<string, object>();

/** A new instance (its own memory) of the module whose bytes are `base64`. */
export function instantiateEmbedded<Exports>(base64: string): Exports {
  let module = compiled.get(base64);
  if (!module) {
    module = new WebAssembly.Module(Buffer.from(base64, 'base64'));
    compiled.set(base64, module);
  }
  return new WebAssembly.Instance(module, {}).exports as Exports;
}
