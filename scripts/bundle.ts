// Builds dist/bundle/: the CLI (dist/src/entry.js and every module it loads) in a few files, which node loads
// in ~0.25 s where the module graph took ~0.6 s (`trace-compare --version`, this machine). Split at the entry
// point's dynamic import of the CLI: the host-kernel count's bpftrace is spawned ~0.13 s after node starts
// (node's own start is ~0.1 s), not after the whole CLI was parsed and evaluated (~0.37 s), and bpftrace's
// start is what a three-way run waits for. Modules loaded only for some reports or backends stay outside
// (vega, gRPC): they load from node_modules as before. bin/trace-compare.js runs it only when it is newer than
// the build it was made from.
// Run: npm run build (tsc, then this).

import { build, type Plugin } from 'esbuild';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const outdir = path.join(root, 'dist/bundle');
// Chunk names carry a hash: the chunks of an earlier build would stay beside the new ones.
rmSync(outdir, { recursive: true, force: true });

// string-width (yargs' and cliui's copies) makes an Intl.Segmenter as it loads: ~16 ms of every start go to
// ICU's data before any width is asked (a JSON report asks none). In the bundle it is made on first use.
const lazySegmenter: Plugin = {
  name: 'lazy-segmenter',
  setup(b) {
    b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const eager = 'const segmenter = new Intl.Segmenter();';
      // Another version: bundled as it is.
      if (!text.includes(eager)) return undefined;
      const lazy = 'let made;\nconst segmenter = { segment: (s) => (made ??= new Intl.Segmenter()).segment(s) };';
      return { contents: text.replace(eager, lazy), loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

await build({
  entryPoints: [path.join(root, 'dist/src/entry.js')],
  outdir,
  entryNames: 'trace-compare',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['vega', 'vega-lite', '@grpc/grpc-js', '@grpc/proto-loader'],
  // CommonJS dependencies (yargs' helpers, cli-table3) call require: give the bundled ESM build one.
  banner: { js: "import { createRequire as __tcRequire } from 'node:module'; const require = __tcRequire(import.meta.url);" },
  plugins: [lazySegmenter],
  logLevel: 'warning',
});
