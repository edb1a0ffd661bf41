// Writes to stdout honouring back-pressure, and stays quiet when the reader went away (`| head`).

let closed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') closed = true;
  else throw err;
});

export function writeOut(text: string): Promise<void> | void {
  if (closed) return;
  if (process.stdout.write(text)) return;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}
