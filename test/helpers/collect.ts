// Shared by the parser tests: everything an async iterable yields, as an array.

/** Every item of `source`, in order (an async generator of events, of lines, of batches). */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}
