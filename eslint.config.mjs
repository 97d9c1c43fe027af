import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import regexp from 'eslint-plugin-regexp';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'cdk.out/**',
      'coverage/**',
      'dist/**',
      '**/*.js',
      '**/*.mjs',
      '.ephemera/**',
    ],
  },
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Code that reads what clients, upstreams or configuration send: no regular
    // expression may take more than linear time on any input (a backtracking
    // pattern turns one unauthenticated header into seconds of CPU).
    files: ['lambda/**/*.ts', 'lib/**/*.ts', 'local/**/*.ts', 'bin/**/*.ts'],
    plugins: { regexp },
    rules: {
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error',
    },
  },
  {
    files: ['bin/**', 'bench/**', 'test/**', 'local/**'],
    rules: { 'no-console': 'off' },
  },
);
