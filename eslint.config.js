// ESLint (flat config): typescript-eslint's recommended rules over the server, the kiosk, the tests,
// the bench and the scripts. Formatting is Prettier's job (.prettierrc), not ESLint's.
// `npm run lint` runs this and `prettier --check`; `npm run format` rewrites the formatting.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'kiosk/dist/**',
      'node_modules/**',
      'models/**',
      'bench/results/**',
      'test-results/**',
      'coverage/**',
      'reports/**',
      '.stryker-tmp/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `any` is sometimes the honest type at a boundary (onnxruntime, commander); flag it, don't fail on it.
      '@typescript-eslint/no-explicit-any': 'warn',
      // `_`-prefixed names are deliberately unused (a callback's position, a destructured rest).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Errors here are rethrown as one line naming what failed, with the cause's words folded into
      // the message (the user reads that line; main.ts prints only it), not chained as `cause`.
      'preserve-caught-error': 'off',
    },
  },
  {
    // tests match ANSI escapes (\x1b) on purpose: to prove there are none in logs and piped output
    files: ['test/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    files: ['kiosk/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
