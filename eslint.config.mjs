// Flat config: typescript-eslint's type-aware recommended rules over the service, its tools
// and the tests, plus the one architectural rule: the service never imports a tool.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Top-level tool folders (each one tool, with its config and README) and the tests. */
const TOOL_FOLDERS = ['bench', 'elk', 'loadtest', 'profiles', 'stack', 'test', 'evaluation', 'prometheus', 'abtest'];
/** Packages only the tools load; `npm ls --omit=dev` must not list them. */
const TOOL_PACKAGES = ['autocannon', '0x', 'd3', 'd3-flame-graph', 'playwright-core', 'yaml', 'pino', 'pino-http', '@elastic/ecs-pino-format', 'sonic-boom', '@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-express', '@opentelemetry/instrumentation-pino'];

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', '.cache/**', 'profiles/runs/**', 'bench/**/*.json', 'coverage/**', 'artifacts/**', 'runs/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
    },
  },
  {
    // The service (src/) and its model lifecycle never import a tool or a tool-only package:
    // tools may import the service, not the other way round.
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: TOOL_PACKAGES.map((name) => ({ name, message: 'a tool-only package: the service must not load it' })),
          patterns: [
            {
              regex: `^(\\.\\./)+(${TOOL_FOLDERS.join('|')})(/|$)`,
              message: 'src/ is the service: it must not import a tool folder (tools import the service, not the reverse)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The comparison page's browser script: a classic script with the page's globals.
    files: ['profiles/compare-page.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', d3: 'readonly', flamegraph: 'readonly' },
    },
  },
);
