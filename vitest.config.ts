import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@gatehouse/oauth': src('./packages/oauth/src/index.ts'),
      '@gatehouse/client': src('./packages/client/src/index.ts'),
      '@gatehouse/express': src('./packages/express/src/index.ts'),
      '@gatehouse/react': src('./packages/react/src/index.ts'),
      '@gatehouse/web/kit': src('./packages/web/src/kit.ts'),
      '@gatehouse/web': src('./packages/web/src/index.ts'),
      '@gatehouse/provider/node': src('./packages/provider/src/node/index.ts'),
      '@gatehouse/provider': src('./packages/provider/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
