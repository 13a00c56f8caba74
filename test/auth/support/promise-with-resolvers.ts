// nock 15 (through @mswjs/interceptors) calls Promise.withResolvers, which Node 20 lacks (Node 22 has it).
// Imported before nock by the tests that use it; a no-op on Node 22.
const P = Promise as unknown as { withResolvers?: unknown };
P.withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
export {};
