// Lint (part of npm test): ESLint's and typescript-eslint's recommended rules over sources, tests, benches, scripts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', NodeJS: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', setImmediate: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', performance: 'readonly', global: 'readonly', globalThis: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
    rules: {
      // The tool reads and escapes terminal control characters: matching them is its job.
      'no-control-regex': 'off',
      // `_` marks a value deliberately unused (destructuring, callbacks).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
